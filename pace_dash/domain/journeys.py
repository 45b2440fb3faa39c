"""Journeys: events + target rules -> per-child milestone status, due dates and overdue spans.

Everything here is vectorised over any number of children: merges, merge_asof and array
arithmetic, never a Python loop per child. Dates are datetime64 columns (see store.queries).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pace_dash.domain.catalogue import (
    AWAITING_OUTCOME,
    CEASED_STAGE,
    EVENTS,
    LEGAL_ROUTES,
    PROCESS_STAGES,
)
from pace_dash.domain.rules import exploded, resolve_rules

KEY = ["child_id", "episode"]
EVALUATION_COLUMNS = [
    "child_id", "la_id", "episode", "episode_start", "episode_end", "rule_key", "rule_label",
    "occurrence", "route", "target_days", "start_date", "due_date", "end_date", "status",
    "days_overdue", "days_taken", "overdue_from", "overdue_to", "closed_by", "out_of_order",
]  # fmt: skip
DAY = pd.Timedelta(days=1)


def _days(delta: pd.Series) -> pd.Series:
    return (delta / DAY).astype("Float64")


def episodes(events: pd.DataFrame) -> pd.DataFrame:
    """Return one row per episode of care: each `accommodated` event starts one.

    An episode ends at the first `ceased` after it starts, or, when a re-entry was recorded
    without a ceased date, where the next episode starts; an open episode has no end.
    """
    starts = (
        events.loc[events["code"] == "accommodated", ["child_id", "la_id", "on_date"]]
        .drop_duplicates(["child_id", "on_date"])
        .sort_values(["child_id", "on_date"], kind="stable")
        .rename(columns={"on_date": "episode_start"})
    )
    starts["episode"] = starts.groupby("child_id").cumcount() + 1
    starts["next_start"] = starts.groupby("child_id")["episode_start"].shift(-1)
    ceased = (
        events.loc[events["code"] == "ceased", ["child_id", "on_date"]]
        .rename(columns={"on_date": "ceased_on"})
        .sort_values("ceased_on", kind="stable")
    )
    found = pd.merge_asof(
        starts.sort_values("episode_start", kind="stable"),
        ceased,
        left_on="episode_start",
        right_on="ceased_on",
        by="child_id",
        direction="forward",
    )
    ceased_in_episode = found["ceased_on"].where(
        found["next_start"].isna() | (found["ceased_on"] < found["next_start"])
    )
    found["episode_end"] = ceased_in_episode.fillna(found["next_start"])
    columns = ["child_id", "la_id", "episode", "episode_start", "episode_end"]
    return found[columns].sort_values(KEY, kind="stable").reset_index(drop=True)


def assign_episodes(events: pd.DataFrame, episode_table: pd.DataFrame) -> pd.DataFrame:
    """Label each event with its episode: the latest `accommodated` on or before it.

    Events before the first accommodation (becoming looked after at home, say) belong to the
    first episode; a `ceased` event belongs to the episode it ends, so one dated on the day of a
    re-entry is not counted in the new episode. Children with no accommodation are dropped.
    """
    starts = episode_table[["child_id", "episode", "episode_start"]].sort_values("episode_start")
    ordered = events.sort_values("on_date", kind="stable")
    is_ceased = ordered["code"] == "ceased"
    parts = []
    for mask, exact in ((~is_ceased, True), (is_ceased, False)):
        parts.append(
            pd.merge_asof(
                ordered[mask],
                starts,
                left_on="on_date",
                right_on="episode_start",
                by="child_id",
                direction="backward",
                allow_exact_matches=exact,
            )
        )
    labelled = pd.concat(parts, ignore_index=True)
    has_episode = labelled["child_id"].isin(episode_table["child_id"])
    labelled = labelled[has_episode].drop(columns="episode_start")
    labelled["episode"] = labelled["episode"].fillna(1).astype("int64")
    return labelled.sort_values(["child_id", "on_date"], kind="stable").reset_index(drop=True)


def _first_dates(labelled: pd.DataFrame) -> pd.DataFrame:
    return (
        labelled.groupby(["child_id", "episode", "code"], as_index=False, observed=True)["on_date"]
        .min()
        .rename(columns={"on_date": "first_on"})
    )


def _routes(labelled: pd.DataFrame) -> pd.DataFrame:
    recommendations = labelled[labelled["code"] == "permanence_recommendation"]
    first = recommendations.drop_duplicates(KEY, keep="first")
    return first[[*KEY, "attribute"]].rename(columns={"attribute": "route"})


def _single_rule_rows(rules: pd.DataFrame, episode_table: pd.DataFrame, firsts: pd.DataFrame) -> pd.DataFrame:
    rows = episode_table.merge(rules[rules["from_code"] != rules["to_code"]], on="la_id")
    rows = rows.merge(
        firsts.rename(columns={"code": "from_code", "first_on": "start_date"}),
        on=[*KEY, "from_code"],
        how="left",
    )
    rows = rows.merge(
        firsts.rename(columns={"code": "to_code", "first_on": "end_date"}),
        on=[*KEY, "to_code"],
        how="left",
    )
    return rows.assign(occurrence=1, target_days=rows["days"])


def _repeating_rule_rows(
    rules: pd.DataFrame, episode_table: pd.DataFrame, labelled: pd.DataFrame
) -> pd.DataFrame:
    repeating = rules[rules["from_code"] == rules["to_code"]]
    occurrences = labelled[labelled["code"].isin(repeating["from_code"])][[*KEY, "code", "on_date"]]
    occurrences = occurrences.drop_duplicates([*KEY, "code", "on_date"]).sort_values([*KEY, "on_date"])
    occurrences["occurrence"] = occurrences.groupby([*KEY, "code"]).cumcount() + 1
    occurrences["end_date"] = occurrences.groupby([*KEY, "code"])["on_date"].shift(-1)
    rows = episode_table.merge(repeating, on="la_id").merge(
        occurrences.rename(columns={"code": "from_code", "on_date": "start_date"}),
        on=[*KEY, "from_code"],
    )
    later = rows["occurrence"] > 1
    return rows.assign(target_days=rows["days"].where(~later, rows["later_days"]))


def evaluate(events: pd.DataFrame, rules: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Return one row per (child, episode, rule, occurrence) with due date, status and overdue span.

    `events` needs child_id, la_id, code, on_date, attribute; `rules` is the stored rule table
    (national defaults with an empty la_id, plus site overrides). Status is `met`, `late`,
    `overdue` (open and past due), `open` (open, not yet due) or `n/a`. Events after `today`
    are ignored, so an evaluation as at a past date sees only what was known then.
    """
    today_ts = pd.Timestamp(today)
    known = events.loc[events["on_date"] <= today_ts, ["child_id", "la_id", "code", "on_date", "attribute"]]
    episode_table = episodes(known)
    if episode_table.empty:
        return _empty_evaluation()
    labelled = assign_episodes(known, episode_table)
    resolved = resolve_rules(rules, sorted(episode_table["la_id"].unique().tolist()))
    resolved = resolved[resolved["active"]]

    firsts = _first_dates(labelled)
    rows = pd.concat(
        [
            _single_rule_rows(resolved, episode_table, firsts),
            _repeating_rule_rows(resolved, episode_table, labelled),
        ],
        ignore_index=True,
    )
    rows = rows.merge(_routes(labelled), on=KEY, how="left")
    limited = exploded(resolved, "applies_to", "route").assign(route_allowed=True)
    rows = rows.merge(limited, on=["la_id", "key", "route"], how="left")
    rows = _closers(rows, resolved, firsts)
    route_ok = rows["applies_to"].isna() | rows["route_allowed"].fillna(False).astype(bool)
    in_force = rows["effective_from"].isna() | (rows["episode_start"] >= rows["effective_from"])
    return _statuses(rows, route_ok & in_force, today_ts)


def _closers(rows: pd.DataFrame, rules: pd.DataFrame, firsts: pd.DataFrame) -> pd.DataFrame:
    """Add `closer_code` and `closer_on`: the first later milestone that ends each rule's wait."""
    closers = exploded(rules, "closed_by", "code").merge(firsts, on="code")
    candidates = (
        rows[["la_id", *KEY, "key", "start_date"]].reset_index().merge(closers, on=["la_id", *KEY, "key"])
    )
    candidates = candidates[candidates["first_on"] >= candidates["start_date"]]
    first = candidates.sort_values(["first_on", "code"], kind="stable").drop_duplicates("index")
    first = first.set_index("index")
    return rows.assign(closer_code=first["code"], closer_on=first["first_on"])


def _empty_evaluation() -> pd.DataFrame:
    dates = {
        "episode_start",
        "episode_end",
        "start_date",
        "due_date",
        "end_date",
        "overdue_from",
        "overdue_to",
    }
    integers = {"child_id", "la_id", "episode", "occurrence", "target_days", "days_overdue"}
    dtypes = {
        column: "datetime64[ns]" if column in dates else "int64" if column in integers else "object"
        for column in EVALUATION_COLUMNS
    }
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in dtypes.items()})


def _statuses(rows: pd.DataFrame, rule_applies: pd.Series, today_ts: pd.Timestamp) -> pd.DataFrame:
    due = rows["start_date"] + pd.to_timedelta(rows["target_days"].astype("float64"), unit="D")
    reached = rows["end_date"].notna()
    # Without its `to` event, a wait runs to today, or until a later milestone or the end of the
    # episode closes it, whichever came first.
    closer_on = rows[["closer_on", "episode_end"]].min(axis=1)
    closed = closer_on.notna()
    closed_by = rows["closer_code"].where(
        rows["closer_on"] <= rows["episode_end"].fillna(rows["closer_on"]), "ceased"
    )
    stop = rows["end_date"].fillna(closer_on.fillna(today_ts))
    past_due = stop > due
    applicable = rows["start_date"].notna() & rule_applies & (reached | ~closed | past_due)

    status = np.select(
        [~applicable, reached & ~past_due, reached | closed, past_due],
        ["n/a", "met", "late", "overdue"],
        default="open",
    )
    late_or_overdue = applicable & past_due
    days_overdue = _days((stop - due).where(late_or_overdue)).fillna(0).astype("int64")
    result = pd.DataFrame(
        {
            "child_id": rows["child_id"],
            "la_id": rows["la_id"],
            "episode": rows["episode"],
            "episode_start": rows["episode_start"],
            "episode_end": rows["episode_end"],
            "rule_key": rows["key"],
            "rule_label": rows["label"],
            "occurrence": rows["occurrence"].astype("int64"),
            "route": rows["route"],
            "target_days": rows["target_days"].astype("int64"),
            "start_date": rows["start_date"],
            "due_date": due.where(applicable),
            "end_date": stop.where(applicable & (reached | closed)),
            "status": status,
            "days_overdue": days_overdue,
            "days_taken": _days((stop - rows["start_date"]).where(applicable)),
            "overdue_from": due.where(late_or_overdue),
            "overdue_to": stop.where(late_or_overdue),
            "closed_by": closed_by.where(applicable & ~reached & closed),
            "out_of_order": reached & (rows["end_date"] < rows["start_date"]),
        }
    )
    return result.sort_values(["child_id", "episode", "start_date", "rule_key"], kind="stable").reset_index(
        drop=True
    )


# Milestones that move a child from one waiting stage to the next, in journey order.
STAGE_CODES: tuple[str, ...] = tuple(stage.after_code for stage in PROCESS_STAGES)


def summarise(events: pd.DataFrame, evaluation: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Return one row per child for its latest episode: stage, next due milestone and delay now.

    Columns: child_id, episode, episode_start, episode_end, days_since_accommodated, route,
    current_stage, next_rule_label, next_due_date, overdue_rules, days_overdue_now,
    days_overdue_total (every rule of every episode, closed ones included).
    """
    today_ts = pd.Timestamp(today)
    known = events[events["on_date"] <= today_ts]
    episode_table = episodes(known)
    latest = episode_table.drop_duplicates("child_id", keep="last")
    labelled = assign_episodes(known, latest)
    labelled = labelled.merge(latest[KEY], on=KEY)

    reached = labelled[labelled["code"].isin(STAGE_CODES)]
    stage_rank = reached["code"].map({code: rank for rank, code in enumerate(STAGE_CODES)})
    furthest = reached.assign(rank=stage_rank).groupby(KEY, as_index=False)["rank"].max()
    summary = latest.merge(furthest, on=KEY, how="left").merge(_routes(labelled), on=KEY, how="left")
    stage = summary["rank"].map(dict(enumerate(stage.label for stage in PROCESS_STAGES)))
    outcome_route = summary["route"].notna() & ~summary["route"].isin(LEGAL_ROUTES)
    recommended = summary["rank"] == STAGE_CODES.index("permanence_recommendation")
    stage = stage.mask(recommended & outcome_route, AWAITING_OUTCOME)
    summary["current_stage"] = stage.mask(summary["episode_end"].notna(), CEASED_STAGE)
    summary["days_since_accommodated"] = _days(
        summary["episode_end"].fillna(today_ts) - summary["episode_start"]
    ).astype("int64")

    current = evaluation.merge(latest[KEY], on=KEY)
    waiting = current[current["status"].isin(["open", "overdue"])].sort_values("due_date", kind="stable")
    next_due = waiting.drop_duplicates(KEY)[[*KEY, "rule_label", "due_date"]].rename(
        columns={"rule_label": "next_rule_label", "due_date": "next_due_date"}
    )
    overdue = (
        current[current["status"] == "overdue"]
        .groupby(KEY, as_index=False)
        .agg(overdue_rules=("rule_key", "size"), days_overdue_now=("days_overdue", "max"))
    )
    total = evaluation.groupby("child_id", as_index=False).agg(days_overdue_total=("days_overdue", "sum"))
    summary = summary.merge(next_due, on=KEY, how="left").merge(overdue, on=KEY, how="left")
    summary = summary.merge(total, on="child_id", how="left")
    summary[["overdue_rules", "days_overdue_now", "days_overdue_total"]] = (
        summary[["overdue_rules", "days_overdue_now", "days_overdue_total"]].fillna(0).astype("int64")
    )
    return summary.drop(columns="rank").reset_index(drop=True)


# Pairs of milestones where the second must not come before the first (tracker-format.md).
ORDERED_PAIRS: tuple[tuple[str, str], ...] = (
    ("accommodated", "lac_review"),
    ("accommodated", "permanence_recommendation"),
    ("permanence_recommendation", "panel"),
    ("panel", "adm_decision"),
    ("adm_decision", "petition_lodged"),
    ("petition_lodged", "order_granted"),
)


def quality_flags(events: pd.DataFrame) -> pd.DataFrame:
    """List milestones recorded out of their usual order, such as an ADM decision before panel."""
    episode_table = episodes(events)
    firsts = _first_dates(assign_episodes(events, episode_table))
    flags = []
    for earlier, later in ORDERED_PAIRS:
        pair = firsts[firsts["code"] == earlier].merge(
            firsts[firsts["code"] == later], on=KEY, suffixes=("_earlier", "_later")
        )
        flags.append(pair[pair["first_on_later"] < pair["first_on_earlier"]])
    found = pd.concat(flags, ignore_index=True)
    problem = (
        found["code_later"].map(lambda code: EVENTS[code].label)
        + " is dated before "
        + found["code_earlier"].map(lambda code: EVENTS[code].label)
    )
    return pd.DataFrame(
        {
            "child_id": found["child_id"],
            "episode": found["episode"],
            "code": found["code_later"],
            "on_date": found["first_on_later"],
            "problem": problem,
        }
    ).reset_index(drop=True)


def stage_spans(events: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Return the waiting stages as spans: from each milestone reached to the next, per episode.

    The last stage of an open episode runs to today; of a closed one, to the day it ended. The
    final order ends the process, so no span starts there. Columns: child_id, episode, stage,
    start_date, end_date, days.
    """
    today_ts = pd.Timestamp(today)
    known = events[events["on_date"] <= today_ts]
    episode_table = episodes(known)
    labelled = assign_episodes(known, episode_table)
    firsts = _first_dates(labelled)
    reached = firsts[firsts["code"].isin(STAGE_CODES)].merge(episode_table, on=KEY)
    reached = reached.merge(_routes(labelled), on=KEY, how="left")
    reached = reached.sort_values([*KEY, "first_on"], kind="stable")
    reached["end_date"] = reached.groupby(KEY)["first_on"].shift(-1)
    reached["end_date"] = reached["end_date"].fillna(reached["episode_end"].fillna(today_ts))
    labels = reached["code"].map({stage.after_code: stage.label for stage in PROCESS_STAGES})
    outcome_route = reached["route"].notna() & ~reached["route"].isin(LEGAL_ROUTES)
    labels = labels.mask((reached["code"] == "permanence_recommendation") & outcome_route, AWAITING_OUTCOME)
    spans = reached.assign(stage=labels, start_date=reached["first_on"])
    spans = spans[(spans["code"] != "order_granted") & (spans["end_date"] >= spans["start_date"])]
    spans = spans.assign(days=_days(spans["end_date"] - spans["start_date"]).astype("int64"))
    return spans[[*KEY, "code", "stage", "start_date", "end_date", "days"]].reset_index(drop=True)


def on_target_path(events: pd.DataFrame, rules: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """Return where each milestone would have fallen had every step met its target, per episode.

    The path starts on the day accommodated and follows the active single-step rules (repeating
    review rules aside) from milestone to milestone; legal-route steps follow only once the
    route is known. Columns: child_id, episode, code, rule_key, planned_on.
    """
    known = events[events["on_date"] <= pd.Timestamp(today)]
    episode_table = episodes(known)
    columns = ["child_id", "episode", "code", "rule_key", "planned_on"]
    if episode_table.empty:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in columns})
    routes = _routes(assign_episodes(known, episode_table))
    resolved = resolve_rules(rules, sorted(episode_table["la_id"].unique().tolist()))
    steps = resolved[resolved["active"] & (resolved["from_code"] != resolved["to_code"])]
    allowed = exploded(steps, "applies_to", "route").assign(route_allowed=True)

    planned = episode_table.assign(
        code="accommodated", rule_key=None, planned_on=episode_table["episode_start"]
    )
    frontier = planned
    # One pass per step along the chain (at most one per rule), never one per child.
    for _ in range(len(steps["key"].unique())):
        reached = frontier.merge(steps, left_on=["la_id", "code"], right_on=["la_id", "from_code"])
        reached = reached.merge(routes, on=KEY, how="left").merge(
            allowed, on=["la_id", "key", "route"], how="left"
        )
        in_force = reached["effective_from"].isna() | (reached["episode_start"] >= reached["effective_from"])
        applies = reached["applies_to"].isna() | reached["route_allowed"].fillna(False).astype(bool)
        reached = reached[in_force & applies]
        frontier = reached.assign(
            code=reached["to_code"],
            rule_key=reached["key"],
            planned_on=reached["planned_on"] + pd.to_timedelta(reached["days"].astype("float64"), unit="D"),
        )[planned.columns]
        frontier = frontier.merge(planned[[*KEY, "code"]], on=[*KEY, "code"], how="left", indicator=True)
        frontier = frontier[frontier["_merge"] == "left_only"].drop(columns="_merge")
        if frontier.empty:
            break
        planned = pd.concat([planned, frontier], ignore_index=True)
    path = planned[planned["code"] != "accommodated"]
    return path.sort_values([*KEY, "planned_on"], kind="stable")[columns].reset_index(drop=True)


def share_of_life_waiting(events: pd.DataFrame, date_of_birth: pd.Timestamp, today: dt.date) -> float | None:
    """Return the share of one child's life from first accommodated until permanence, or today.

    Permanence is the final order or ceasing to be looked after in the latest episode. None when
    the child was never accommodated.
    """
    today_ts = pd.Timestamp(today)
    known = events[events["on_date"] <= today_ts]
    accommodated = known.loc[known["code"] == "accommodated", "on_date"]
    if accommodated.empty or pd.isna(date_of_birth):
        return None
    settled = known.loc[
        known["code"].isin(["order_granted", "ceased"]) & (known["on_date"] >= accommodated.max())
    ]
    end = settled["on_date"].min() if not settled.empty else today_ts
    lived = (end - date_of_birth).days
    return max(0, (end - accommodated.min()).days) / lived if lived > 0 else None
