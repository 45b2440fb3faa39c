"""Cohort measures on a hand-made cohort of five children whose answers are worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from pace_dash.domain import cohort
from tests.figures.sample import TODAY, sample_rules

# Five children of one authority, all with a first LAC review 30 days after accommodation
# (within its 42 days) and no later review. The recommendation rule gives 182 days:
#   A accommodated 500 days ago, recommended (home) on day 100: met.
#   B accommodated 500 days ago, recommended (home) on day 200: late.
#   C accommodated 150 days ago, no recommendation: not yet due (open).
#   D accommodated 500 days ago, recommended (home) on day 300: late.
#   E accommodated 400 days ago, no recommendation: overdue now by 400 - 182 = 218 days.
# % within target = met / (met + late + overdue) = 1 / (1 + 2 + 1) = 25%; C is left out.
# Median days of those reached: 100, 200, 300 -> 200 (quartiles 150 and 250).
# Kaplan-Meier, waits 100 (reached), 150 (censored), 200 (reached), 300 (reached), 400 (censored):
#   day 100: 5 at risk, 1 reached -> still waiting 4/5 = 0.8, reached 0.2
#   day 150: C censored, 3 left
#   day 200: 3 at risk, 1 reached -> 0.8 * 2/3 = 0.5333, reached 0.4667
#   day 300: 2 at risk, 1 reached -> 0.5333 * 1/2 = 0.2667, reached 0.7333
#   day 400: E censored. Median: the first day with half or more reached = 300.
# At risk (waits of at least that day): day 0: 5, 91: 5, 182: 3 (B, D, E), 365: 1 (E), 547: 0.
RECOMMENDED_ON = {"A": 100, "B": 200, "C": None, "D": 300, "E": None}
ACCOMMODATED_DAYS_AGO = {"A": 500, "B": 500, "C": 150, "D": 500, "E": 400}
REFERENCES = {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5}


def five_children() -> cohort.Cohort:
    """Return the hand-made cohort of five, built as the page builds it."""
    today = pd.Timestamp(TODAY)
    rows = []
    for name, child_id in REFERENCES.items():
        start = today - pd.Timedelta(days=ACCOMMODATED_DAYS_AGO[name])
        rows.append((child_id, "accommodated", start, None))
        rows.append((child_id, "lac_review", start + pd.Timedelta(days=30), None))
        if RECOMMENDED_ON[name] is not None:
            rows.append(
                (
                    child_id,
                    "permanence_recommendation",
                    start + pd.Timedelta(days=RECOMMENDED_ON[name]),
                    "home",
                )
            )
    events = pd.DataFrame(rows, columns=["child_id", "code", "on_date", "attribute"]).assign(
        la_id=1, note=None
    )
    events["on_date"] = events["on_date"].astype("datetime64[ns]")
    children = pd.DataFrame(
        {
            "child_id": list(REFERENCES.values()),
            "la_id": 1,
            "la_code": "NTH",
            "reference": [f"NTH-{name}" for name in REFERENCES],
            "date_of_birth": pd.to_datetime(
                ["2022-01-01", "2021-01-01", "2019-06-01", "2015-01-01", "2010-01-01"]
            ),
        }
    )
    periods = pd.DataFrame(
        {
            "child_id": [1, 1],
            "la_id": [1, 1],
            "lane": ["placement", "placement"],
            "category": ["foster", "kinship"],
            "start_date": pd.to_datetime(["2024-01-01", "2025-06-01"]),
            "end_date": pd.to_datetime(["2025-06-01", None]),
        }
    )
    return cohort.build_cohort(children, events, periods, sample_rules(), TODAY)


@pytest.fixture(scope="module")
def five() -> cohort.Cohort:
    return five_children()


def test_recommendation_summary_is_worked_out_by_hand(five):
    summary = cohort.rule_summary(five).set_index("rule_key").loc["permanence_recommendation"]
    assert (summary["children"], summary["met"], summary["late"], summary["overdue"], summary["open"]) == (
        5, 1, 2, 1, 1,
    )  # fmt: skip
    assert summary["pct_within_target"] == pytest.approx(25.0)
    assert (summary["median_days"], summary["q1_days"], summary["q3_days"]) == (200, 150, 250)


def test_kaplan_meier_counts_children_still_waiting_as_censored(five):
    waits = cohort.milestone_waits(five, "permanence_recommendation").assign(group="All")
    assert sorted(zip(waits["days"], waits["reached"], strict=True)) == [
        (100, True), (150, False), (200, True), (300, True), (400, False),
    ]  # fmt: skip
    survival = cohort.kaplan_meier(waits)
    curve = survival.curves.set_index("day")["reached"]
    assert curve[0] == 0
    assert curve[100] == pytest.approx(0.2)
    assert curve[200] == pytest.approx(1 - 0.8 * 2 / 3)
    assert curve[300] == pytest.approx(1 - 0.8 * 2 / 3 * 1 / 2)
    assert curve[400] == pytest.approx(curve[300])  # censored: the curve carries on flat
    at_risk = survival.at_risk.set_index("day")["at_risk"]
    assert [at_risk[day] for day in (0, 91, 182, 365, 547)] == [5, 5, 3, 1, 0]
    medians = survival.medians.iloc[0]
    assert (medians["median_days"], medians["children"], medians["reached"]) == (300, 5, 3)


def test_dropping_the_waiting_children_would_give_a_different_answer(five):
    # Guards the censoring: without C and E the curve would reach 1/3 on day 100, not 0.2.
    waits = cohort.milestone_waits(five, "permanence_recommendation").assign(group="All")
    reached_only = cohort.kaplan_meier(waits[waits["reached"]]).curves.set_index("day")["reached"]
    assert reached_only[100] == pytest.approx(1 / 3)


def test_kaplan_meier_draws_one_curve_per_group(five):
    waits = cohort.milestone_waits(five, "permanence_recommendation")
    waits = waits.assign(
        group=waits["child_id"].map({1: "early", 2: "early", 4: "early", 3: "late", 5: "late"})
    )
    medians = cohort.kaplan_meier(waits).medians.set_index("group")
    assert medians.loc["early", "median_days"] == 200  # 100, 200, 300 all reached: a third each
    assert pd.isna(medians.loc["late", "median_days"])  # nobody reached yet


def test_filters_keep_the_right_children(five):
    def kept(**choices) -> list[str]:
        return sorted(cohort.apply_filter(five, cohort.CohortFilter(**choices)).children["reference"])

    assert kept() == ["NTH-A", "NTH-B", "NTH-C", "NTH-D", "NTH-E"]
    assert kept(routes=("none",)) == ["NTH-C", "NTH-E"]
    assert kept(overdue_rule="permanence_recommendation") == ["NTH-E"]
    assert kept(stages=("lac_review",)) == ["NTH-C", "NTH-E"]  # awaiting the recommendation
    assert kept(stages=("awaiting_outcome",)) == ["NTH-A", "NTH-B", "NTH-D"]
    # A was 3 at accommodation (born 1 Jan 2022, accommodated 500 days before 29 Nov 2026).
    assert kept(age_bands=("1-4",)) == ["NTH-A", "NTH-B"]
    assert kept(placements=("kinship",)) == ["NTH-A"]
    recent = (pd.Timestamp(TODAY) - pd.Timedelta(days=450)).date()
    assert kept(accommodated_from=recent) == ["NTH-C", "NTH-E"]
    assert kept(state="ceased") == []
    assert kept(authorities=("STH",)) == []


def test_timeline_rows_sort_by_time_to_recommendation_with_the_waiting_last(five):
    rows, groups = cohort.timeline_rows(five.children, "recommendation", "none")
    # Recommended fastest first; then the waiting, longest wait (E, 400 days) first.
    assert rows["reference"].tolist() == ["NTH-A", "NTH-B", "NTH-D", "NTH-E", "NTH-C"]
    assert rows["row"].tolist() == [0, 1, 2, 3, 4]
    assert groups[["label", "children"]].values.tolist() == [["All children", 5]]


def test_grouped_rows_leave_a_header_row_per_group(five):
    rows, groups = cohort.timeline_rows(five.children, "overdue", "route")
    # Home route (A, B, D) then no recommendation (E overdue 218+ days before C).
    assert groups[["label", "children", "header_row", "first_row"]].values.tolist() == [
        ["Return or remain home", 3, 0, 1],
        ["No recommendation yet", 2, 4, 5],
    ]
    assert rows.set_index("reference").loc["NTH-E", "row"] == 5


def test_timeline_segments_are_days_since_accommodated_and_overdue_spans_merge(five):
    rows, _groups = cohort.timeline_rows(five.children, "date", "none")
    stages, overdue = cohort.timeline_segments(five, rows, "accommodated")
    a_stages = stages[stages["child_id"] == 1].sort_values("start")
    assert a_stages[["stage", "start", "end"]].values.tolist() == [
        ["Awaiting first review", 0, 30],
        ["Awaiting permanence recommendation", 30, 100],
        ["Awaiting outcome", 100, 500],
    ]
    # E: the next review was due on day 30 + 91 = 121 and the recommendation on day 182; both
    # still waiting on day 400, so the two overdue spans merge into one from day 121.
    assert overdue[overdue["child_id"] == 5][["start", "end"]].values.tolist() == [[121, 400]]


def test_watch_list_lists_overdue_and_soon_due_most_overdue_first(five):
    listed = cohort.watch_list(five, within_days=40)
    # C (day 150) has its recommendation due on day 182: in 32 days. Every child's next review
    # (due day 121) is overdue: A, B, D by 379, E by 279, C by 29; E's recommendation by 218.
    assert listed[["reference", "milestone", "days_overdue", "days_until_due"]].values.tolist() == [
        ["NTH-A", "Next LAC review", 379, 0],
        ["NTH-B", "Next LAC review", 379, 0],
        ["NTH-D", "Next LAC review", 379, 0],
        ["NTH-E", "Next LAC review", 279, 0],
        ["NTH-E", "Permanence recommendation", 218, 0],
        ["NTH-C", "Next LAC review", 29, 0],
        ["NTH-C", "Permanence recommendation", 0, 32],
    ]
    # Within 31 days, C's recommendation (due in 32) is not listed yet.
    assert len(cohort.watch_list(five, within_days=31)) == len(listed) - 1


def test_pathway_counts_each_step_with_its_median_days(five):
    flows = cohort.pathway_flows(five).set_index(["source", "target"])
    recommended = flows.loc[("Accommodated", "Recommended: Return or remain home")]
    assert (recommended["children"], recommended["median_days"]) == (3, 200)
    waiting = flows.loc[("Accommodated", "Waiting: recommendation")]
    assert waiting["children"] == 2
    assert pd.isna(waiting["median_days"])
    assert flows.loc[("Recommended: Return or remain home", "Waiting: outcome"), "children"] == 3


def test_delay_by_stage_sums_overdue_days_by_the_milestone_awaited(five):
    delays = cohort.delay_by_stage(five, sample_rules()).set_index("stage")
    # Social work: B 18, D 118 (late) and E 218 (overdue) = 354 days; median 118.
    assert (delays.loc["Social work", "total_days"], delays.loc["Social work", "median_days"]) == (354, 118)
    # Review: A, B, D 379 each, E 279, C 29 = 1,445 days.
    assert delays.loc["Review", "total_days"] == 3 * 379 + 279 + 29


def test_compare_puts_two_cohorts_side_by_side(five):
    early = cohort.restrict(five, [1, 2, 4])
    waiting = cohort.restrict(five, [3, 5])
    both = cohort.compare(early, waiting).set_index("rule_key").loc["permanence_recommendation"]
    assert (both["children_a"], both["pct_within_target_a"]) == (3, pytest.approx(100 / 3))
    assert (both["children_b"], both["pct_within_target_b"]) == (2, 0.0)  # E overdue; C not yet due
    assert both["difference_pct"] == pytest.approx(-100 / 3)


def test_stage_durations_leave_ongoing_stages_out_of_the_percentiles(five):
    table = cohort.stage_durations(five).set_index("stage")
    first = table.loc["Awaiting first review"]
    assert (first["spans"], first["ongoing"], first["median"]) == (5, 0, 30)
    waiting = table.loc["Awaiting permanence recommendation"]
    # A 70, B 170, D 270 ended; C and E still waiting today.
    assert (waiting["spans"], waiting["ongoing"], waiting["median"]) == (5, 2, 170)


def test_age_band_and_latest_placement_are_derived_without_keeping_the_birth_date(five):
    children = five.children.set_index("reference")
    assert "date_of_birth" not in five.children
    assert children.loc["NTH-E", "age_band"] == "12-17"  # born 2010, accommodated in late 2025
    assert children.loc["NTH-A", "placement"] == "kinship"
