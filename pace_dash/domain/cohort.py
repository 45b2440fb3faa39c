"""Cohort measures over many children: filters, timeline rows, summaries, survival, flows and drift.

A cohort holds one row per child for the child's latest episode of care, the unit the overview
and the child page use too; earlier episodes are left out of every cohort measure. Everything is
vectorised over the children; only the few groups and rules are looped over.
"""

from __future__ import annotations

import datetime as dt
import itertools
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from pace_dash.domain import catalogue, journeys

KEY = ["child_id", "episode"]
DAY = pd.Timedelta(days=1)
NO_RECOMMENDATION = "none"  # the route filter's value for children without a recommendation yet
NO_ROUTE_LABEL = "No recommendation yet"

# Age at accommodation, as bands of whole years (key, label, first year, first year past the band).
AGE_BANDS: tuple[tuple[str, str, int, int], ...] = (
    ("under-1", "Under 1", 0, 1),
    ("1-4", "1 to 4", 1, 5),
    ("5-11", "5 to 11", 5, 12),
    ("12-17", "12 to 17", 12, 18),
)
# Stable keys for the current stage, so a URL never carries a long label.
STAGE_KEYS: dict[str, str] = {
    **{stage.after_code: stage.label for stage in catalogue.PROCESS_STAGES},
    "awaiting_outcome": catalogue.AWAITING_OUTCOME,
    "ceased": catalogue.CEASED_STAGE,
}
STAGE_KEY_OF: dict[str, str] = {label: key for key, label in STAGE_KEYS.items()}
STATES: dict[str, str] = {"open": "Looked after now", "ceased": "Ceased (outcome reached)"}
SORTS: dict[str, str] = {
    "recommendation": "Time to recommendation",
    "overdue": "Days overdue now",
    "age": "Age at accommodation",
    "date": "Date accommodated",
}
GROUPS: dict[str, str] = {"none": "No grouping", "authority": "Authority", "route": "Route"}
# Where delay sits, named by the milestone a rule waits for (domain.md's stages of the process).
DELAY_STAGE_OF_MILESTONE: dict[str, str] = {
    "review_2wk": "Review",
    "lac_review": "Review",
    "permanence_recommendation": "Social work",
    "panel": "Panel",
    "adm_decision": "ADM",
    "petition_lodged": "Legal",
    "order_granted": "Court",
}
DELAY_STAGES: tuple[str, ...] = ("Social work", "Review", "Panel", "ADM", "Legal", "Court", "Other")
AT_RISK_DAYS: tuple[int, ...] = (0, 91, 182, 365, 547, 730, 1095)


@dataclass(frozen=True)
class CohortFilter:
    """Which children a cohort keeps; an empty choice keeps everyone."""

    authorities: tuple[str, ...] = ()
    accommodated_from: dt.date | None = None
    accommodated_to: dt.date | None = None
    age_bands: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    state: str | None = None
    placements: tuple[str, ...] = ()
    overdue_rule: str | None = None


@dataclass(frozen=True)
class Cohort:
    """A cohort's frames, all limited to its children's latest episodes.

    `children`: one row per child (reference, authority, route, stage, ages, delays);
    `evaluation`: journeys.evaluate rows; `spans`: journeys.stage_spans rows; `milestones`: the
    first date of each milestone, one column per event code.
    """

    children: pd.DataFrame
    evaluation: pd.DataFrame
    spans: pd.DataFrame
    milestones: pd.DataFrame
    today: dt.date

    def __len__(self) -> int:
        return len(self.children)


def _whole_years(later: pd.Series, born: pd.Series) -> pd.Series:
    before_birthday = (later.dt.month < born.dt.month) | (
        (later.dt.month == born.dt.month) & (later.dt.day < born.dt.day)
    )
    # Nullable: a scope that may not see dates of birth gets no age, not a wrong one.
    return (later.dt.year - born.dt.year).astype("Int64") - before_birthday.astype("Int64")


def _age_band(years: pd.Series) -> pd.Series:
    band = pd.Series(None, index=years.index, dtype="object")
    for key, _label, first, past in AGE_BANDS:
        band = band.mask(((years >= first) & (years < past)).fillna(False), key)
    return band.mask(years.notna() & band.isna(), AGE_BANDS[-1][0])


def build_cohort(
    children: pd.DataFrame,
    events: pd.DataFrame,
    periods: pd.DataFrame,
    rules: pd.DataFrame,
    today: dt.date,
) -> Cohort:
    """Evaluate every child and keep each one's latest episode, with the columns the filters need.

    `children`, `events`, `periods` and `rules` are shaped as the Store returns them. Children
    never accommodated have no journey yet and are left out. Dates of birth only become ages.
    """
    today_ts = pd.Timestamp(today)
    evaluation = journeys.evaluate(events, rules, today)
    summary = journeys.summarise(events, evaluation, today)
    latest = summary[KEY]
    known = events[events["on_date"] <= today_ts]
    episode_table = journeys.episodes(known)
    labelled = journeys.assign_episodes(known, episode_table).merge(latest, on=KEY)
    firsts = labelled.groupby([*KEY, "code"], as_index=False, observed=True)["on_date"].min()
    milestones = firsts.pivot(index=KEY, columns="code", values="on_date").reset_index()
    milestones.columns.name = None
    for code in catalogue.EVENT_CODES:
        if code not in milestones:
            milestones[code] = pd.Series(pd.NaT, index=milestones.index, dtype="datetime64[ns]")
    ceased_reason = labelled[labelled["code"] == "ceased"].drop_duplicates(KEY, keep="last")
    ceased_reason = ceased_reason[[*KEY, "attribute"]].rename(columns={"attribute": "ceased_reason"})

    frame = summary.merge(
        children[["child_id", "la_code", "reference", "date_of_birth"]], on="child_id", how="inner"
    )
    frame = frame.merge(milestones[[*KEY, "permanence_recommendation"]], on=KEY, how="left")
    frame = frame.merge(ceased_reason, on=KEY, how="left")
    frame["age_at_accommodation"] = _whole_years(frame["episode_start"], frame["date_of_birth"])
    frame["age_band"] = _age_band(frame["age_at_accommodation"])
    frame["days_to_recommendation"] = (
        (frame["permanence_recommendation"] - frame["episode_start"]) / DAY
    ).astype("Float64")
    frame["stage_key"] = frame["current_stage"].map(STAGE_KEY_OF)
    frame["state"] = np.where(frame["episode_end"].isna(), "open", "ceased")
    frame["placement"] = frame["child_id"].map(_latest_placement(periods, today_ts))
    frame = frame.drop(columns=["date_of_birth", "permanence_recommendation"])
    frame = frame.sort_values("child_id", kind="stable").reset_index(drop=True)

    return Cohort(
        children=frame,
        evaluation=evaluation.merge(latest, on=KEY).reset_index(drop=True),
        spans=journeys.stage_spans(events, today).merge(latest, on=KEY).reset_index(drop=True),
        milestones=milestones,
        today=today,
    )


def _latest_placement(periods: pd.DataFrame, today_ts: pd.Timestamp) -> pd.Series:
    placements = periods[(periods["lane"] == "placement") & (periods["start_date"] <= today_ts)]
    latest = placements.sort_values(["child_id", "start_date"], kind="stable").drop_duplicates(
        "child_id", keep="last"
    )
    return latest.set_index("child_id")["category"]


def apply_filter(cohort: Cohort, chosen: CohortFilter) -> Cohort:
    """Return the part of a cohort that a filter keeps."""
    children = cohort.children
    keep = pd.Series(True, index=children.index)
    if chosen.authorities:
        keep &= children["la_code"].isin(chosen.authorities)
    if chosen.accommodated_from:
        keep &= children["episode_start"] >= pd.Timestamp(chosen.accommodated_from)
    if chosen.accommodated_to:
        keep &= children["episode_start"] <= pd.Timestamp(chosen.accommodated_to)
    if chosen.age_bands:
        keep &= children["age_band"].isin(chosen.age_bands)
    if chosen.routes:
        route = children["route"].astype("object").where(children["route"].notna(), NO_RECOMMENDATION)
        keep &= route.isin(chosen.routes)
    if chosen.stages:
        keep &= children["stage_key"].isin(chosen.stages)
    if chosen.state:
        keep &= children["state"] == chosen.state
    if chosen.placements:
        keep &= children["placement"].isin(chosen.placements)
    if chosen.overdue_rule:
        evaluation = cohort.evaluation
        overdue = evaluation[
            (evaluation["status"] == "overdue") & (evaluation["rule_key"] == chosen.overdue_rule)
        ]
        keep &= children["child_id"].isin(overdue["child_id"])
    return restrict(cohort, children.loc[keep, "child_id"])


def restrict(cohort: Cohort, child_ids) -> Cohort:
    """Return a cohort holding only the given children."""
    ids = pd.Index(child_ids)
    return replace(
        cohort,
        children=cohort.children[cohort.children["child_id"].isin(ids)].reset_index(drop=True),
        evaluation=cohort.evaluation[cohort.evaluation["child_id"].isin(ids)].reset_index(drop=True),
        spans=cohort.spans[cohort.spans["child_id"].isin(ids)].reset_index(drop=True),
        milestones=cohort.milestones[cohort.milestones["child_id"].isin(ids)].reset_index(drop=True),
    )


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


# --- The cohort timeline --------------------------------------------------------------------


def route_label(route) -> str:
    """Return a route's label, or say that no recommendation has been made yet."""
    return catalogue.ROUTES.get(route, NO_ROUTE_LABEL) if isinstance(route, str) else NO_ROUTE_LABEL


def timeline_rows(children: pd.DataFrame, sort: str, group: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order the children into rows, in groups with a blank header row above each group.

    Returns (rows, groups): rows has child_id, reference, episode_start and row (0 at the top); groups has
    label, children, header_row, first_row and last_row. Children not yet recommended sort after
    the rest by time to recommendation, longest wait first; ties go by child id.
    """
    ordered = _sorted(children, sort)
    if group == "authority":
        keys = ordered["la_code"].astype("object")
        labels = {code: code for code in keys.unique()}
        order = sorted(labels)
    elif group == "route":
        keys = ordered["route"].astype("object").where(ordered["route"].notna(), NO_RECOMMENDATION)
        order = [route for route in (*catalogue.ROUTES, NO_RECOMMENDATION) if route in set(keys)]
        labels = {route: route_label(route) for route in order}
    else:
        keys = pd.Series("all", index=ordered.index)
        order, labels = ["all"], {"all": "All children"}
    rank = keys.map({key: position for position, key in enumerate(order)})
    ordered = ordered.assign(group_key=keys, group_rank=rank).sort_values("group_rank", kind="stable")
    headers = 1 if group in ("authority", "route") else 0
    # Each group's header row pushes the rows below it down by one.
    ordered["row"] = np.arange(len(ordered)) + (ordered["group_rank"].to_numpy() + 1) * headers
    summary = ordered.groupby("group_rank", sort=True).agg(
        key=("group_key", "first"),
        children=("child_id", "size"),
        first_row=("row", "min"),
        last_row=("row", "max"),
    )
    groups = summary.assign(
        label=summary["key"].map(labels), header_row=summary["first_row"] - headers
    ).reset_index(drop=True)
    rows = ordered[["child_id", "reference", "episode_start", "row"]].reset_index(drop=True)
    return rows, groups[["key", "label", "children", "header_row", "first_row", "last_row"]]


def _sorted(children: pd.DataFrame, sort: str) -> pd.DataFrame:
    if sort == "overdue":
        return children.sort_values(["days_overdue_now", "child_id"], ascending=[False, True], kind="stable")
    if sort == "age":
        return children.sort_values(["age_at_accommodation", "child_id"], kind="stable")
    if sort == "date":
        return children.sort_values(["episode_start", "child_id"], kind="stable")
    waiting = children["days_to_recommendation"].isna()
    key = children["days_to_recommendation"].astype("float64").fillna(0)
    # Not recommended yet: after everyone recommended, longest wait first.
    key = key.mask(waiting, 1e9 - children["days_since_accommodated"].astype("float64"))
    return children.assign(_key=key).sort_values(["_key", "child_id"], kind="stable").drop(columns="_key")


def timeline_segments(cohort: Cohort, rows: pd.DataFrame, align: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (stages, overdue) segments with row, start and end for the cohort timeline.

    `align` is "accommodated" (start and end in days since the episode began) or "calendar"
    (dates). Overdue spans of one child that overlap are merged, so the red marks show the days
    a child was waiting past some target, each day once.
    """
    starts = cohort.children.set_index("child_id")["episode_start"]
    stages = cohort.spans.merge(rows[["child_id", "row"]], on="child_id")
    late = cohort.evaluation[cohort.evaluation["days_overdue"] > 0]
    overdue = _union_spans(late[["child_id", "overdue_from", "overdue_to"]]).merge(
        rows[["child_id", "row"]], on="child_id"
    )
    stages = stages[["child_id", "row", "stage", "start_date", "end_date"]].rename(
        columns={"start_date": "start", "end_date": "end"}
    )
    if align == "accommodated":
        for frame in (stages, overdue):
            origin = frame["child_id"].map(starts)
            frame["start"] = ((frame["start"] - origin) / DAY).astype("int64")
            frame["end"] = ((frame["end"] - origin) / DAY).astype("int64")
    return stages.reset_index(drop=True), overdue.reset_index(drop=True)


def _union_spans(spans: pd.DataFrame) -> pd.DataFrame:
    spans = spans.rename(columns={"overdue_from": "start", "overdue_to": "end"})
    spans = spans.sort_values(["child_id", "start"], kind="stable")
    reach = spans.groupby("child_id")["end"].cummax()
    previous_reach = reach.groupby(spans["child_id"]).shift(1)
    starts_new = previous_reach.isna() | (spans["start"] > previous_reach)
    block = starts_new.cumsum()
    merged = spans.groupby(block).agg(
        child_id=("child_id", "first"), start=("start", "min"), end=("end", "max")
    )
    return merged.reset_index(drop=True)


# --- Summaries per rule and per stage -------------------------------------------------------


def rule_summary(cohort: Cohort) -> pd.DataFrame:
    """Summarise each rule over the cohort: how many it applies to, % met within target, days taken.

    % within target = met / (met + late + overdue now): every interval whose target date has
    passed or whose milestone was reached; those not yet due are left out. A wait that ended
    without the milestone after its target date counts as late. Median and quartiles of days
    are of milestones actually reached (the Kaplan-Meier curves count those still waiting too).
    """
    evaluation = cohort.evaluation[cohort.evaluation["status"] != "n/a"]
    reached = evaluation[evaluation["status"].isin(["met", "late"]) & evaluation["closed_by"].isna()]
    counts = pd.crosstab(evaluation["rule_key"], evaluation["status"])
    for status in ("met", "late", "overdue", "open"):
        if status not in counts:
            counts[status] = 0
    first = evaluation.drop_duplicates("rule_key").set_index("rule_key")
    taken = reached.assign(days=reached["days_taken"].astype("float64")).groupby("rule_key")["days"]
    summary = pd.DataFrame(
        {
            "rule_label": first["rule_label"],
            "target_days": first["target_days"],
            "children": evaluation.groupby("rule_key")["child_id"].nunique(),
            "intervals": evaluation.groupby("rule_key").size(),
            "met": counts["met"],
            "late": counts["late"],
            "overdue": counts["overdue"],
            "open": counts["open"],
            "reached": reached.groupby("rule_key").size(),
            "median_days": taken.median(),
            "q1_days": taken.quantile(0.25),
            "q3_days": taken.quantile(0.75),
        }
    )
    summary[["reached"]] = summary[["reached"]].fillna(0).astype("int64")
    decided = summary["met"] + summary["late"] + summary["overdue"]
    summary["pct_within_target"] = (100 * summary["met"] / decided.where(decided > 0)).astype("float64")
    offset = ((evaluation["start_date"] - evaluation["episode_start"]) / DAY).groupby(evaluation["rule_key"])
    summary["typical_start"] = offset.median()
    summary = summary.reset_index(names="rule_key")
    # Journey order: rules whose wait starts earlier first, then the shorter target.
    ordered = summary.sort_values(["typical_start", "target_days", "rule_key"], kind="stable")
    return ordered.drop(columns="typical_start").reset_index(drop=True)


def stage_durations(cohort: Cohort) -> pd.DataFrame:
    """Return the distribution of days spent in each waiting stage, in journey order.

    Columns: stage, spans, ongoing (still in that stage today), and the 10th, 25th, 50th, 75th
    and 90th percentiles of days over the spans that have ended.
    """
    spans = cohort.spans
    open_children = cohort.children.loc[cohort.children["state"] == "open", "child_id"]
    ongoing = (spans["end_date"] == pd.Timestamp(cohort.today)) & spans["child_id"].isin(open_children)
    ended = spans[~ongoing].assign(days=lambda frame: frame["days"].astype("float64"))
    percentiles = ended.groupby("stage")["days"].quantile([0.1, 0.25, 0.5, 0.75, 0.9]).unstack()
    percentiles.columns = ["p10", "q1", "median", "q3", "p90"]
    table = pd.DataFrame(
        {"spans": spans.groupby("stage").size(), "ongoing": ongoing.groupby(spans["stage"]).sum()}
    ).join(percentiles)
    order = [stage.label for stage in catalogue.PROCESS_STAGES] + [catalogue.AWAITING_OUTCOME]
    table = table.reindex([stage for stage in order if stage in table.index])
    return table.reset_index(names="stage").astype({"spans": "int64", "ongoing": "int64"})


# --- Time to milestone (Kaplan-Meier) -------------------------------------------------------


def milestone_waits(cohort: Cohort, rule_key: str) -> pd.DataFrame:
    """Return each child's first wait for a rule's milestone: days waited and whether it was reached.

    A child still waiting counts up to today and is censored there, not dropped; a wait that
    ended without the milestone (a later step or leaving care closed it) is censored when it
    ended. Columns: child_id, days, reached.
    """
    rows = cohort.evaluation[
        (cohort.evaluation["rule_key"] == rule_key)
        & (cohort.evaluation["occurrence"] == 1)
        & (cohort.evaluation["status"] != "n/a")
        & cohort.evaluation["days_taken"].notna()
    ]
    reached = rows["status"].isin(["met", "late"]) & rows["closed_by"].isna()
    return pd.DataFrame(
        {
            "child_id": rows["child_id"].to_numpy(),
            "days": rows["days_taken"].astype("float64").to_numpy(),
            "reached": reached.to_numpy(),
        }
    )


@dataclass(frozen=True)
class SurvivalCurves:
    """Kaplan-Meier time-to-milestone curves, one per group, with numbers at risk."""

    curves: pd.DataFrame  # group, day, reached (share 0-1), low, high: a step function from day 0
    at_risk: pd.DataFrame  # group, day, at_risk
    medians: pd.DataFrame  # group, children, reached, median_days (NaN while under half reached)


def kaplan_meier(waits: pd.DataFrame, at_days: tuple[int, ...] = AT_RISK_DAYS) -> SurvivalCurves:
    """Estimate the share reaching a milestone by each day, per group, counting censored waits.

    `waits` has group, days and reached (see milestone_waits). The product-limit estimate and its
    95% log-log confidence band come from scipy.stats.ecdf; numbers at risk at `at_days` count
    the children neither reached nor censored before that day.
    """
    curves, risks, medians = [], [], []
    for group, own in waits.groupby("group", sort=False):
        days = own["days"].to_numpy(dtype="float64")
        reached = own["reached"].to_numpy(dtype=bool)
        at = np.asarray(at_days, dtype="float64")
        risks.append(
            pd.DataFrame(
                {"group": group, "day": at.astype("int64"), "at_risk": (days[None, :] >= at[:, None]).sum(1)}
            )
        )
        curve = _product_limit(days, reached)
        curves.append(curve.assign(group=group))
        below_half = curve[curve["reached"] >= 0.5]
        medians.append(
            {
                "group": group,
                "children": len(own),
                "reached": int(reached.sum()),
                "median_days": float(below_half["day"].iloc[0]) if not below_half.empty else np.nan,
            }
        )
    columns = ["group", "day", "reached", "low", "high"]
    return SurvivalCurves(
        curves=pd.concat(curves, ignore_index=True)[columns] if curves else pd.DataFrame(columns=columns),
        at_risk=pd.concat(risks, ignore_index=True)
        if risks
        else pd.DataFrame(columns=["group", "day", "at_risk"]),
        medians=pd.DataFrame(medians, columns=["group", "children", "reached", "median_days"]),
    )


def _product_limit(days: np.ndarray, reached: np.ndarray) -> pd.DataFrame:
    start = pd.DataFrame({"day": [0.0], "reached": [0.0], "low": [0.0], "high": [0.0]})
    if not reached.any():
        end = pd.DataFrame({"day": [days.max()], "reached": [0.0], "low": [0.0], "high": [0.0]})
        return pd.concat([start, end], ignore_index=True)
    estimate = stats.ecdf(stats.CensoredData(uncensored=days[reached], right=days[~reached])).sf
    with warnings.catch_warnings():
        # The log-log band is undefined where nobody has reached the milestone yet: say so below.
        warnings.simplefilter("ignore", RuntimeWarning)
        band = estimate.confidence_interval(0.95, method="log-log")
    share = 1 - estimate.probabilities
    steps = pd.DataFrame(
        {
            "day": estimate.quantiles,
            "reached": share,
            # The survival band's upper edge is the reached band's lower edge; where the band is
            # undefined it collapses onto the estimate.
            "low": np.where(np.isnan(band.high.probabilities), share, 1 - band.high.probabilities),
            "high": np.where(np.isnan(band.low.probabilities), share, 1 - band.low.probabilities),
        }
    )
    steps = pd.concat([start, steps[steps["day"] > 0]], ignore_index=True)
    last = steps.iloc[-1]
    if days.max() > last["day"]:
        # Carry the curve on to the longest wait seen, so censored tails stay visible.
        steps.loc[len(steps)] = [days.max(), last["reached"], last["low"], last["high"]]
    return steps


# --- Pathway flow ---------------------------------------------------------------------------

LEGAL_STEPS: tuple[str, ...] = (
    "permanence_recommendation",
    "panel",
    "adm_decision",
    "petition_lodged",
    "order_granted",
)
FLOW_NODE_LABELS: dict[str, str] = {
    "panel": "Panel",
    "adm_decision": "ADM decision",
    "petition_lodged": "Lodged in court",
    "order_granted": "Final order",
}


def pathway_flows(cohort: Cohort) -> pd.DataFrame:
    """Count children along each step of the pathway, with the median days each step took.

    From accommodation to the recommendation's route; home and kinship routes on to their
    outcome; legal routes through panel, ADM decision, court and final order. A child who has
    not taken the next step yet ends in a "waiting" node (or "ceased", if they left care).
    Columns: source, target, children, median_days (NaN for waiting nodes).
    """
    children = cohort.children[["child_id", "route", "state", "ceased_reason"]].merge(
        cohort.milestones, on="child_id", how="left"
    )
    open_now = children["state"] == "open"
    ceased_label = "Ceased: " + children["ceased_reason"].map(catalogue.CEASED_REASONS).fillna("other")
    recommended = children["permanence_recommendation"].notna()
    route_node = "Recommended: " + children["route"].map(catalogue.ROUTES).fillna("route not recorded")

    def left_at(stage_label: str) -> pd.Series:
        return pd.Series(np.where(open_now, "Waiting: " + stage_label, ceased_label), index=children.index)

    links = [
        _links(
            children,
            "Accommodated",
            route_node.where(recommended, left_at("recommendation")),
            "accommodated",
            "permanence_recommendation",
            pd.Series(True, index=children.index),
        )
    ]
    outcome_route = recommended & ~children["route"].isin(catalogue.LEGAL_ROUTES)
    links.append(
        _links(
            children,
            route_node,
            ceased_label.where(~open_now, "Waiting: outcome"),
            "permanence_recommendation",
            "ceased",
            outcome_route,
        )
    )
    reached_previous = recommended & children["route"].isin(catalogue.LEGAL_ROUTES)
    source = route_node
    for previous, step in itertools.pairwise(LEGAL_STEPS):
        reached_step = children[step].notna()
        label = FLOW_NODE_LABELS[step]
        target = pd.Series(label, index=children.index).where(reached_step, left_at(label.lower()))
        links.append(_links(children, source, target, previous, step, reached_previous))
        reached_previous = reached_previous & reached_step
        source = pd.Series(label, index=children.index)
    ceased_after_order = reached_previous & ~open_now
    links.append(_links(children, source, ceased_label, "order_granted", "ceased", ceased_after_order))
    flows = pd.concat(links, ignore_index=True)
    return flows.sort_values(["children"], ascending=False, kind="stable").reset_index(drop=True)


def _links(children, source, target, from_code: str, to_code: str, among: pd.Series) -> pd.DataFrame:
    if isinstance(source, str):
        source = pd.Series(source, index=children.index)
    days = (children[to_code] - children[from_code]) / DAY
    step = pd.DataFrame({"source": source, "target": target, "days": days.astype("float64")})[among]
    # A waiting or ceased-early node has no step time: days only count when the step was taken.
    took_step = step["target"].str.startswith(("Waiting", "Ceased")) == (to_code == "ceased")
    step["days"] = step["days"].where(took_step)
    return step.groupby(["source", "target"], as_index=False).agg(
        children=("days", "size"), median_days=("days", "median")
    )


# --- Where delay accumulates ----------------------------------------------------------------


def delay_by_stage(cohort: Cohort, rules: pd.DataFrame) -> pd.DataFrame:
    """Total and median overdue days by stage and authority, over every late or overdue interval.

    The stage is named by the milestone a rule waits for (`rules` gives each rule's `to_code`).
    Columns: stage, la_code, intervals, children, total_days, median_days.
    """
    waits_for = rules.drop_duplicates("key").set_index("key")["to_code"]
    late = cohort.evaluation[cohort.evaluation["days_overdue"] > 0]
    late = late.merge(cohort.children[["child_id", "la_code"]], on="child_id")
    stage = late["rule_key"].map(waits_for).map(DELAY_STAGE_OF_MILESTONE).fillna("Other")
    table = (
        late.assign(stage=stage)
        .groupby(["stage", "la_code"], as_index=False)
        .agg(
            intervals=("days_overdue", "size"),
            children=("child_id", "nunique"),
            total_days=("days_overdue", "sum"),
            median_days=("days_overdue", "median"),
        )
    )
    table["stage"] = pd.Categorical(table["stage"], categories=DELAY_STAGES, ordered=True)
    return table.sort_values(["stage", "la_code"], kind="stable").reset_index(drop=True)


# --- Drift watch list -----------------------------------------------------------------------


def watch_list(cohort: Cohort, within_days: int) -> pd.DataFrame:
    """List the milestones overdue now or due within `within_days`, most overdue first.

    Only children looked after now. Columns: child_id, reference, la_code, milestone, due_date,
    days_overdue, days_until_due, current_stage, route.
    """
    today_ts = pd.Timestamp(cohort.today)
    evaluation = cohort.evaluation
    soon = (evaluation["status"] == "open") & (evaluation["due_date"] <= today_ts + within_days * DAY)
    rows = evaluation[(evaluation["status"] == "overdue") | soon]
    open_children = cohort.children[cohort.children["state"] == "open"]
    rows = rows.merge(open_children[["child_id", "reference", "la_code", "current_stage"]], on="child_id")
    listed = pd.DataFrame(
        {
            "child_id": rows["child_id"],
            "reference": rows["reference"],
            "la_code": rows["la_code"],
            "milestone": rows["rule_label"],
            "due_date": rows["due_date"],
            "days_overdue": rows["days_overdue"].astype("int64"),
            "days_until_due": ((rows["due_date"] - today_ts) / DAY).clip(lower=0).astype("int64"),
            "current_stage": rows["current_stage"],
            "route": rows["route"].map(route_label),
        }
    )
    return listed.sort_values(
        ["days_overdue", "due_date", "reference"], ascending=[False, True, True], kind="stable"
    ).reset_index(drop=True)


# --- Two cohorts side by side ---------------------------------------------------------------


def compare(first: Cohort, second: Cohort) -> pd.DataFrame:
    """Put two cohorts' rule summaries side by side, one row per rule, suffixed _a and _b."""
    columns = ["rule_key", "rule_label", "target_days", "children", "pct_within_target", "median_days"]
    side_a = rule_summary(first)[columns]
    side_b = rule_summary(second)[columns]
    both = side_a.merge(side_b, on=["rule_key"], how="outer", suffixes=("_a", "_b"))
    both["rule_label"] = both["rule_label_a"].fillna(both["rule_label_b"])
    both["target_days"] = both["target_days_a"].fillna(both["target_days_b"])
    both[["children_a", "children_b"]] = both[["children_a", "children_b"]].fillna(0).astype("int64")
    both["difference_pct"] = both["pct_within_target_b"] - both["pct_within_target_a"]
    # Keep the journey order of the first cohort's summary, the second's extra rules after it.
    rank = {key: position for position, key in enumerate([*side_a["rule_key"], *side_b["rule_key"]])}
    both = both.assign(rank=both["rule_key"].map(rank)).sort_values("rank", kind="stable")
    order = [
        "rule_key", "rule_label", "target_days", "children_a", "pct_within_target_a", "median_days_a",
        "children_b", "pct_within_target_b", "median_days_b", "difference_pct",
    ]  # fmt: skip
    return both[order].reset_index(drop=True)
