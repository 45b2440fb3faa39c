"""Cohort measures over many children's evaluations: shares within target and who is overdue."""

from __future__ import annotations

import datetime as dt

import pandas as pd


def share_within_target(
    evaluation: pd.DataFrame, rule_key: str, since: dt.date, until: dt.date
) -> tuple[int, int]:
    """Count (met, reached) for one rule's milestones reached between two dates, inclusive.

    Only milestones actually reached count: a wait closed by a later milestone or the end of an
    episode is not a recommendation made late, and one still open has no outcome yet.
    """
    rows = evaluation[
        (evaluation["rule_key"] == rule_key)
        & evaluation["status"].isin(["met", "late"])
        & evaluation["closed_by"].isna()
        & evaluation["end_date"].between(pd.Timestamp(since), pd.Timestamp(until))
    ]
    return int((rows["status"] == "met").sum()), len(rows)


def most_overdue(summary: pd.DataFrame, evaluation: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Return the children overdue now, most days overdue first, with the rule most overdue."""
    overdue = evaluation[evaluation["status"] == "overdue"].sort_values(
        ["days_overdue", "due_date"], ascending=[False, True], kind="stable"
    )
    worst = overdue.drop_duplicates("child_id")[["child_id", "rule_label", "due_date"]]
    worst = worst.rename(columns={"rule_label": "worst_rule", "due_date": "worst_due_date"})
    ranked = summary[summary["overdue_rules"] > 0].merge(worst, on="child_id")
    ranked = ranked.sort_values(["days_overdue_now", "child_id"], ascending=[False, True], kind="stable")
    return ranked.head(limit).reset_index(drop=True)
