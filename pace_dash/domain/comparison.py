"""One child against its cohort: how long each completed step took, next to children like it."""

from __future__ import annotations

import numpy as np
import pandas as pd

COMPARISON_COLUMNS = [
    "rule_key",
    "rule_label",
    "target_days",
    "child_days",
    "cohort_median",
    "percentile",
    "cohort_n",
]


def completed_steps(evaluation: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Keep the measured single steps: reached (met or late), not closed by a later milestone."""
    repeating = set(rules.loc[rules["from_code"] == rules["to_code"], "key"])
    done = evaluation["status"].isin(["met", "late"]) & evaluation["closed_by"].isna()
    return evaluation[done & ~evaluation["rule_key"].isin(repeating)]


def compare_with_cohort(child: pd.DataFrame, cohort: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Place each of one child's completed steps among the same steps of a cohort.

    `child` and `cohort` are journeys.evaluate rows (the cohort may include the child). The
    percentile is the share of the cohort that took less time, counting ties as half, so 50 is
    the middle and 90 means slower than nine in ten.
    """
    mine = completed_steps(child, rules).drop_duplicates("rule_key", keep="last")
    others = completed_steps(cohort, rules)
    rows = []
    # One pass per step (at most one per rule), each comparing against the whole cohort at once.
    for step in mine.itertuples():
        days = others.loc[others["rule_key"] == step.rule_key, "days_taken"].to_numpy(dtype="float64")
        if days.size == 0:
            continue
        below = np.count_nonzero(days < step.days_taken) + 0.5 * np.count_nonzero(days == step.days_taken)
        rows.append(
            {
                "rule_key": step.rule_key,
                "rule_label": step.rule_label,
                "target_days": int(step.target_days),
                "child_days": int(step.days_taken),
                "cohort_median": float(np.median(days)),
                "percentile": round(100 * below / days.size),
                "cohort_n": int(days.size),
            }
        )
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
