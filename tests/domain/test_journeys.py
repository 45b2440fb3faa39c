"""The journey engine: hand-worked answers for every status, re-entry, overrides, and invariants."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pace_dash.domain.catalogue import STATUSES
from pace_dash.domain.journeys import (
    evaluate,
    on_target_path,
    quality_flags,
    share_of_life_waiting,
    summarise,
)
from pace_dash.domain.rules import load_rules_file
from tests.conftest import TARGETS_FILE

TODAY = dt.date(2026, 11, 29)


@pytest.fixture(scope="module")
def rules() -> pd.DataFrame:
    """Return the national default rules as stored (la_id empty)."""
    return load_rules_file(TARGETS_FILE).assign(la_id=pd.NA).astype({"la_id": "Int64"})


def journey(*rows: tuple) -> pd.DataFrame:
    """Build an events frame from (child_id, code, date, attribute) rows, authority 1 unless given."""
    records = []
    for row in rows:
        child_id, code, on_date, *rest = row
        attribute = rest[0] if rest else None
        la_id = rest[1] if len(rest) > 1 else 1
        records.append((child_id, la_id, code, pd.Timestamp(on_date), attribute))
    frame = pd.DataFrame(records, columns=["child_id", "la_id", "code", "on_date", "attribute"])
    frame["on_date"] = frame["on_date"].dt.as_unit("ns")
    return frame


def row_of(result: pd.DataFrame, child_id: int, rule_key: str, episode: int = 1, occurrence: int = 1):
    """Return the one evaluation row for a child, rule, episode and occurrence."""
    found = result[
        (result["child_id"] == child_id)
        & (result["rule_key"] == rule_key)
        & (result["episode"] == episode)
        & (result["occurrence"] == occurrence)
    ]
    assert len(found) == 1, found
    return found.iloc[0]


def test_first_review_within_six_weeks_is_met(rules):
    # 1 Jan + 42 days = 12 Feb; the review on 1 Feb took 31 days.
    events = journey((1, "accommodated", "2024-01-01"), (1, "lac_review", "2024-02-01"))
    row = row_of(evaluate(events, rules, TODAY), 1, "first_review")
    assert row["status"] == "met"
    assert row["due_date"] == pd.Timestamp("2024-02-12")
    assert row["days_taken"] == 31
    assert row["days_overdue"] == 0
    assert pd.isna(row["overdue_from"])


def test_first_review_after_due_date_is_late_by_the_days_past_it(rules):
    # Due 12 Feb; held 20 Feb: 8 days late, the red span runs 12 Feb to 20 Feb.
    events = journey((1, "accommodated", "2024-01-01"), (1, "lac_review", "2024-02-20"))
    row = row_of(evaluate(events, rules, TODAY), 1, "first_review")
    assert row["status"] == "late"
    assert row["days_overdue"] == 8
    assert (row["overdue_from"], row["overdue_to"]) == (
        pd.Timestamp("2024-02-12"),
        pd.Timestamp("2024-02-20"),
    )


def test_open_interval_past_due_is_overdue_up_to_today(rules):
    # Accommodated 1 Oct 2026: first review due 12 Nov; today 29 Nov is 17 days past it.
    events = journey((1, "accommodated", "2026-10-01"))
    result = evaluate(events, rules, TODAY)
    review = row_of(result, 1, "first_review")
    assert review["status"] == "overdue"
    assert review["days_overdue"] == 17
    assert review["overdue_to"] == pd.Timestamp(TODAY)
    assert pd.isna(review["end_date"])
    recommendation = row_of(result, 1, "permanence_recommendation")
    assert recommendation["status"] == "open"
    assert recommendation["due_date"] == pd.Timestamp("2027-04-01")  # 1 Oct 2026 + 182 days
    assert recommendation["days_overdue"] == 0


def test_legal_route_rules_do_not_apply_to_a_return_home(rules):
    events = journey(
        (1, "accommodated", "2024-01-01"),
        (1, "lac_review", "2024-02-01"),
        (1, "permanence_recommendation", "2024-05-01", "home"),
    )
    result = evaluate(events, rules, TODAY)
    for key in ("panel", "adm_decision", "lodge_in_court", "court_decision"):
        assert row_of(result, 1, key)["status"] == "n/a"
    assert row_of(result, 1, "permanence_recommendation")["status"] == "met"


def test_panel_rule_applies_on_the_adoption_route(rules):
    # Recommendation 1 May 2024 + 84 days = 24 Jul; no panel yet, so overdue to today.
    events = journey(
        (1, "accommodated", "2024-01-01"),
        (1, "permanence_recommendation", "2024-05-01", "adoption"),
    )
    row = row_of(evaluate(events, rules, TODAY), 1, "panel")
    assert row["status"] == "overdue"
    assert row["due_date"] == pd.Timestamp("2024-07-24")
    assert row["days_overdue"] == (pd.Timestamp(TODAY) - pd.Timestamp("2024-07-24")).days


def test_opt_in_rule_is_absent_until_a_site_turns_it_on(rules):
    events = journey(
        (1, "accommodated", "2026-11-01", None, 1),
        (2, "accommodated", "2026-11-01", None, 2),
    )
    override = (
        rules[rules["key"] == "two_week_review"].assign(la_id=2, active=True).astype({"la_id": "Int64"})
    )
    result = evaluate(events, pd.concat([rules, override], ignore_index=True), TODAY)
    assert "two_week_review" not in set(result.loc[result["child_id"] == 1, "rule_key"])
    row = row_of(result, 2, "two_week_review")
    assert (row["status"], row["days_overdue"]) == ("overdue", 14)  # due 15 Nov, today 29 Nov


def test_rule_adopted_part_way_applies_only_to_episodes_starting_after(rules):
    # The site turns on the two-week review from 1 Jun 2024: the child accommodated in January
    # is not held to it; the one accommodated in July is (due 15 Jul, reviewed 20 Jul: 5 late).
    events = journey(
        (1, "accommodated", "2024-01-01", None, 2),
        (2, "accommodated", "2024-07-01", None, 2),
        (2, "review_2wk", "2024-07-20", None, 2),
    )
    override = rules[rules["key"] == "two_week_review"].assign(
        la_id=2, active=True, effective_from=pd.Timestamp("2024-06-01")
    )
    result = evaluate(events, pd.concat([rules, override.astype({"la_id": "Int64"})]), TODAY)
    assert row_of(result, 1, "two_week_review")["status"] == "n/a"
    adopted = row_of(result, 2, "two_week_review")
    assert (adopted["status"], adopted["days_overdue"]) == ("late", 5)


def test_site_override_changes_the_due_date_for_that_site_only(rules):
    events = journey(
        (1, "accommodated", "2024-01-01", None, 1),
        (2, "accommodated", "2024-01-01", None, 2),
    )
    override = rules[rules["key"] == "permanence_recommendation"].assign(la_id=2, days=140)
    result = evaluate(events, pd.concat([rules, override.astype({"la_id": "Int64"})]), dt.date(2024, 6, 1))
    assert row_of(result, 1, "permanence_recommendation")["status"] == "open"  # due 1 Jul 2024
    overridden = row_of(result, 2, "permanence_recommendation")
    assert overridden["due_date"] == pd.Timestamp("2024-05-20")  # 1 Jan + 140 days
    assert (overridden["status"], overridden["days_overdue"]) == ("overdue", 12)


def test_episode_that_ends_before_the_due_date_makes_the_rule_not_apply(rules):
    # Ceased after 60 days with no review: 18 days past the first-review target (late),
    # but the 26-week recommendation was never due (n/a).
    events = journey((1, "accommodated", "2024-01-01"), (1, "ceased", "2024-03-01", "home"))
    result = evaluate(events, rules, TODAY)
    review = row_of(result, 1, "first_review")
    assert (review["status"], review["days_overdue"], review["closed_by"]) == ("late", 18, "ceased")
    assert row_of(result, 1, "permanence_recommendation")["status"] == "n/a"


def test_a_missed_step_stops_counting_once_a_later_milestone_closes_it(rules):
    # No first LAC review was recorded; the recommendation on 10 Apr 2024 (day 100) closes that
    # wait: 58 days past the 42-day target, and no longer overdue today.
    events = journey(
        (1, "accommodated", "2024-01-01"),
        (1, "permanence_recommendation", "2024-04-10", "po"),
        (1, "panel", "2024-05-01"),
        (1, "order_granted", "2025-01-10", "po"),
    )
    result = evaluate(events, rules, TODAY)
    review = row_of(result, 1, "first_review")
    assert (review["status"], review["days_overdue"], review["closed_by"]) == (
        "late",
        58,
        "permanence_recommendation",
    )
    assert review["end_date"] == pd.Timestamp("2024-04-10")
    # ADM never recorded; due 15 May 2024, closed by the order on 10 Jan 2025: 240 days late.
    adm = row_of(result, 1, "adm_decision")
    assert (adm["status"], adm["days_overdue"], adm["closed_by"]) == ("late", 240, "order_granted")
    assert (result["status"] != "overdue").all()


def test_re_entry_starts_a_second_episode_with_its_own_clock(rules):
    events = journey(
        (1, "accommodated", "2020-01-01"),
        (1, "lac_review", "2020-02-01"),
        (1, "ceased", "2020-06-01", "home"),
        (1, "accommodated", "2021-01-01"),
        (1, "lac_review", "2021-03-15"),
    )
    result = evaluate(events, rules, TODAY)
    assert row_of(result, 1, "first_review", episode=1)["status"] == "met"
    second = row_of(result, 1, "first_review", episode=2)
    assert second["due_date"] == pd.Timestamp("2021-02-12")
    assert (second["status"], second["days_overdue"]) == ("late", 31)
    # Episode 1 lasted 152 days, so its 182-day recommendation target never fell due.
    assert row_of(result, 1, "permanence_recommendation", episode=1)["status"] == "n/a"
    assert row_of(result, 1, "permanence_recommendation", episode=2)["status"] == "overdue"
    assert row_of(result, 1, "first_review", episode=2)["episode_start"] == pd.Timestamp("2021-01-01")


def test_review_cadence_allows_91_days_then_182(rules):
    events = journey(
        (1, "accommodated", "2024-01-01"),
        (1, "lac_review", "2024-02-01"),
        (1, "lac_review", "2024-05-15"),  # 104 days after the first: 13 late
        (1, "lac_review", "2024-10-01"),  # 139 days after the second: within 182
    )
    result = evaluate(events, rules, TODAY)
    second = row_of(result, 1, "review_cadence", occurrence=1)
    assert (second["target_days"], second["status"], second["days_overdue"]) == (91, "late", 13)
    third = row_of(result, 1, "review_cadence", occurrence=2)
    assert (third["target_days"], third["status"]) == (182, "met")
    fourth = row_of(result, 1, "review_cadence", occurrence=3)
    assert fourth["due_date"] == pd.Timestamp("2025-04-01")
    assert fourth["status"] == "overdue"


def test_events_after_today_are_not_yet_known(rules):
    events = journey((1, "accommodated", "2024-01-01"), (1, "lac_review", "2024-03-01"))
    row = row_of(evaluate(events, rules, dt.date(2024, 2, 20)), 1, "first_review")
    assert (row["status"], row["days_overdue"]) == ("overdue", 8)


def test_adm_before_panel_is_flagged_not_hidden(rules):
    events = journey(
        (1, "accommodated", "2024-01-01"),
        (1, "permanence_recommendation", "2024-05-01", "adoption"),
        (1, "panel", "2024-07-01"),
        (1, "adm_decision", "2024-06-20"),
    )
    assert bool(row_of(evaluate(events, rules, TODAY), 1, "adm_decision")["out_of_order"])
    flags = quality_flags(events)
    assert flags[["code", "on_date"]].values.tolist() == [["adm_decision", pd.Timestamp("2024-06-20")]]
    assert "before Adoption & Permanence Panel" in flags.iloc[0]["problem"]


def test_summary_gives_stage_next_due_and_delay_now(rules):
    events = journey(
        (1, "accommodated", "2024-01-01"),
        (1, "lac_review", "2024-02-01"),
        (1, "lac_review", "2024-04-01"),
        (1, "permanence_recommendation", "2024-06-01", "poa"),
        (1, "panel", "2024-08-01"),
        (2, "accommodated", "2026-10-01"),
        (3, "accommodated", "2024-01-01"),
        (3, "permanence_recommendation", "2024-03-01", "home"),
        (3, "ceased", "2024-05-01", "home"),
    )
    result = evaluate(events, rules, TODAY)
    summary = summarise(events, result, TODAY).set_index("child_id")
    assert summary.loc[1, "current_stage"] == "Awaiting ADM decision"
    # ADM is due 14 days after panel (15 Aug 2024), before the next review (1 Apr + 182 = 30 Sep).
    assert summary.loc[1, "next_rule_label"] == "ADM decision"
    assert summary.loc[1, "next_due_date"] == pd.Timestamp("2024-08-15")
    assert summary.loc[2, "current_stage"] == "Awaiting first review"
    assert summary.loc[2, "days_overdue_now"] == 17
    assert summary.loc[2, "days_since_accommodated"] == 59
    assert summary.loc[3, "current_stage"] == "Ceased to be looked after"
    assert summary.loc[3, "overdue_rules"] == 0
    adm_overdue = (pd.Timestamp(TODAY) - pd.Timestamp("2024-08-15")).days
    assert summary.loc[1, "days_overdue_now"] == adm_overdue


MILESTONES = (
    "lac_review",
    "permanence_recommendation",
    "panel",
    "adm_decision",
    "petition_lodged",
    "order_granted",
    "review_2wk",
)


@st.composite
def cohorts(draw):
    """Draw a few children with random journeys, re-entries and ceased dates."""
    rows = []
    for child_id in range(1, draw(st.integers(1, 6)) + 1):
        la_id = draw(st.integers(1, 2))
        start = dt.date(2020, 1, 1) + dt.timedelta(days=draw(st.integers(0, 2000)))
        rows.append((child_id, "accommodated", start, None, la_id))
        for code in draw(st.lists(st.sampled_from(MILESTONES), max_size=8)):
            offset = draw(st.integers(-30, 900))
            attribute = draw(st.sampled_from(["home", "kinship", "po", "poa", "adoption"]))
            rows.append((child_id, code, start + dt.timedelta(days=offset), attribute, la_id))
        if draw(st.booleans()):
            ceased = start + dt.timedelta(days=draw(st.integers(0, 1200)))
            rows.append((child_id, "ceased", ceased, "home", la_id))
            if draw(st.booleans()):
                rows.append(
                    (
                        child_id,
                        "accommodated",
                        ceased + dt.timedelta(days=draw(st.integers(1, 400))),
                        None,
                        la_id,
                    )
                )
    return journey(*rows)


property_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@property_settings
@given(events=cohorts(), today_offset=st.integers(0, 3000))
def test_statuses_partition_the_applicable_rows(rules, events, today_offset):
    today = dt.date(2020, 1, 1) + dt.timedelta(days=today_offset)
    result = evaluate(events, rules, today)
    assert set(result["status"]) <= set(STATUSES)
    assert (result["days_overdue"] >= 0).all()
    applicable = result["due_date"].notna()
    counts = result.loc[applicable, "status"].value_counts()
    assert (
        counts.get("met", 0) + counts.get("late", 0) + counts.get("open", 0) + counts.get("overdue", 0)
        == applicable.sum()
    )
    assert (result.loc[~applicable, "status"] == "n/a").all()
    assert (result.loc[result["status"].isin(["met", "open", "n/a"]), "days_overdue"] == 0).all()
    delayed = result["status"].isin(["late", "overdue"])
    assert (result.loc[delayed, "days_overdue"] > 0).all()
    assert (
        (result.loc[delayed, "overdue_to"] - result.loc[delayed, "overdue_from"])
        .dt.days.eq(result.loc[delayed, "days_overdue"])
        .all()
    )


@property_settings
@given(events=cohorts(), today_offset=st.integers(0, 2500), step=st.integers(1, 800))
def test_moving_today_forward_never_shortens_a_delay(rules, events, today_offset, step):
    earlier = dt.date(2020, 1, 1) + dt.timedelta(days=today_offset)
    later = earlier + dt.timedelta(days=step)
    key = ["child_id", "episode", "rule_key", "occurrence"]
    before = evaluate(events, rules, earlier)
    after = evaluate(events, rules, later).set_index(key)
    overdue = before[before["status"] == "overdue"].set_index(key)
    assert overdue.index.isin(after.index).all()
    assert (after.loc[overdue.index, "days_overdue"] >= overdue["days_overdue"]).all()


@property_settings
@given(events=cohorts(), today_offset=st.integers(0, 3000))
def test_each_child_is_evaluated_as_if_alone(rules, events, today_offset):
    today = dt.date(2020, 1, 1) + dt.timedelta(days=today_offset)
    together = evaluate(events.sample(frac=1, random_state=7), rules, today)
    for child_id, own_events in events.groupby("child_id"):
        alone = evaluate(own_events, rules, today).reset_index(drop=True)
        mine = together[together["child_id"] == child_id].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone, check_dtype=False)


def test_on_target_path_chains_each_step_from_the_day_accommodated(rules):
    events = journey(
        (1, "accommodated", "2025-01-01"),
        (1, "permanence_recommendation", "2025-09-01", "adoption"),
        (2, "accommodated", "2025-01-01"),
        (2, "permanence_recommendation", "2025-03-01", "home"),
    )
    path = on_target_path(events, rules, TODAY)
    adoption = path[path["child_id"] == 1].set_index("code")["planned_on"].dt.strftime("%Y-%m-%d").to_dict()
    # 1 Jan + 42 = 12 Feb; + 182 = 2 Jul; then panel + 84 = 24 Sep, ADM + 14 = 8 Oct,
    # lodging + 84 = 31 Dec, court + 210 = 29 Jul 2026: planned, not actual, dates all along.
    assert adoption == {
        "lac_review": "2025-02-12",
        "permanence_recommendation": "2025-07-02",
        "panel": "2025-09-24",
        "adm_decision": "2025-10-08",
        "petition_lodged": "2025-12-31",
        "order_granted": "2026-07-29",
    }
    # A return home goes through no panel or court.
    assert set(path.loc[path["child_id"] == 2, "code"]) == {"lac_review", "permanence_recommendation"}


def test_share_of_life_waiting_runs_from_first_accommodated_to_permanence_or_today():
    born = pd.Timestamp("2021-06-01")
    waiting = journey((1, "accommodated", "2025-01-01"))
    # 697 days since 1 Jan 2025, out of 2,007 days of life (five years of 1,826 days, plus 181).
    assert share_of_life_waiting(waiting, born, TODAY) == pytest.approx(697 / 2007)
    settled = journey((1, "accommodated", "2025-01-01"), (1, "order_granted", "2025-12-31", "po"))
    # Settled on 31 Dec 2025: 364 days waiting, out of 1,674 days of life then.
    assert share_of_life_waiting(settled, born, TODAY) == pytest.approx(364 / 1674)
    assert share_of_life_waiting(journey((1, "looked_after", "2025-01-01")), born, TODAY) is None
