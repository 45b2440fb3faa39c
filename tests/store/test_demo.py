"""The demo data set: deterministic, fictional, realistic enough to show drift, and written whole."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from pace_dash.domain.catalogue import CEASED_REASONS, EVENT_CODES, LEGAL_STATUSES, ORDERS, PLACEMENTS, ROUTES
from pace_dash.domain.rules import RULE_COLUMNS, check_rules, load_rules_file
from pace_dash.store.demo import (
    IMPROVING_CODE,
    LODGE_AIM_CODE,
    PACE_START,
    DemoData,
    generate_demo,
    install_demo,
    write_demo,
)
from pace_dash.store.queries import Store
from pace_dash.store.schema import Aim, Annotation, Child, Event, LocalAuthority, Period, TargetRule
from pace_dash.store.scope import Scope
from tests.conftest import TARGETS_FILE, TODAY

CHILDREN = 600
SEED = 2014
NOW = pd.Timestamp(TODAY)
REAL_COUNCILS = frozenset(
    {
        "Aberdeen City", "Aberdeenshire", "Angus", "Argyll and Bute", "Clackmannanshire",
        "Dumfries and Galloway", "Dundee City", "East Ayrshire", "East Dunbartonshire", "East Lothian",
        "East Renfrewshire", "City of Edinburgh", "Falkirk", "Fife", "Glasgow City", "Highland",
        "Inverclyde", "Midlothian", "Moray", "Na h-Eileanan Siar", "North Ayrshire", "North Lanarkshire",
        "Orkney Islands", "Perth and Kinross", "Renfrewshire", "Scottish Borders", "Shetland Islands",
        "South Ayrshire", "South Lanarkshire", "Stirling", "West Dunbartonshire", "West Lothian",
    }
)  # fmt: skip


@pytest.fixture(scope="module")
def demo() -> DemoData:
    """Return one generated data set, shared: generating is pure."""
    return generate_demo(CHILDREN, SEED, TODAY)


def _events(demo: DemoData, code: str) -> pd.DataFrame:
    return demo.events[demo.events["code"] == code]


def _first(demo: DemoData, code: str) -> pd.Series:
    return _events(demo, code).groupby("child_id")["on_date"].min()


def _counts(engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (LocalAuthority, Child, Event, Period, TargetRule, Annotation, Aim)
        }


# --- generation ------------------------------------------------------------------------------


def test_same_inputs_give_the_same_data_and_another_seed_does_not(demo):
    again = generate_demo(CHILDREN, SEED, TODAY)
    for name in ("authorities", "children", "events", "periods", "rule_overrides", "annotations", "aims"):
        pd.testing.assert_frame_equal(getattr(demo, name), getattr(again, name))
    other = generate_demo(CHILDREN, SEED + 1, TODAY)
    assert len(other.children) == CHILDREN
    assert not other.events[["child_id", "code", "on_date"]].equals(
        demo.events[["child_id", "code", "on_date"]]
    )


def test_asks_for_a_sensible_size_and_date():
    with pytest.raises(ValueError, match="at least one child"):
        generate_demo(0, SEED, TODAY)
    with pytest.raises(ValueError, match="today"):
        generate_demo(10, SEED, dt.date(2014, 6, 1))


def test_three_fictional_authorities_of_different_sizes(demo):
    authorities = demo.authorities
    assert len(authorities) == 3
    assert authorities["code"].is_unique
    assert not set(authorities["name"]) & REAL_COUNCILS
    assert not any(real in name for name in authorities["name"] for real in REAL_COUNCILS)
    sizes = demo.children["la_id"].value_counts()
    assert set(sizes.index) == set(authorities["id"])
    assert sizes.is_unique


def test_children_have_unique_uppercase_references_names_and_sexes(demo):
    children = demo.children
    assert len(children) == CHILDREN
    assert children["id"].is_unique
    assert children["reference"].is_unique
    assert (children["reference"] == children["reference"].str.upper()).all()
    codes = children["la_id"].map(demo.authorities.set_index("id")["code"])
    assert (children["reference"].str.split("-").str[0] == codes).all()
    assert children["name"].notna().all()
    assert set(children["sex"]) == {"F", "M"}


def test_nothing_is_dated_after_today_or_before_birth(demo):
    assert (demo.events["on_date"] <= NOW).all()
    assert (demo.periods["start_date"] <= NOW).all()
    assert (demo.periods["end_date"].dropna() <= NOW).all()
    assert (demo.annotations["on_date"] <= NOW).all()
    born = demo.events["child_id"].map(demo.children.set_index("id")["date_of_birth"])
    assert (demo.events["on_date"] >= born).all()
    born = demo.periods["child_id"].map(demo.children.set_index("id")["date_of_birth"])
    assert (demo.periods["start_date"] >= born).all()


def test_most_children_come_into_care_young(demo):
    accommodated = _first(demo, "accommodated")
    born = demo.children.set_index("id")["date_of_birth"].reindex(accommodated.index)
    years = (accommodated - born).dt.days / 365.25
    assert (years < 6).mean() > 0.6
    assert years.max() < 17
    assert (years >= 10).any()


def test_every_code_and_attribute_is_in_the_catalogue(demo):
    events = demo.events
    assert set(events["code"]) == set(EVENT_CODES)
    assert set(_events(demo, "permanence_recommendation")["attribute"]) == set(ROUTES)
    assert set(_events(demo, "order_granted")["attribute"]) <= set(ORDERS)
    assert set(_events(demo, "ceased")["attribute"]) <= set(CEASED_REASONS)
    others = events[~events["code"].isin(["permanence_recommendation", "order_granted", "ceased"])]
    assert others["attribute"].isna().all()
    lanes = {"placement": PLACEMENTS, "legal_status": LEGAL_STATUSES}
    assert set(demo.periods["lane"]) == set(lanes)
    for lane, categories in lanes.items():
        assert set(demo.periods.loc[demo.periods["lane"] == lane, "category"]) <= set(categories)


def test_route_mix_is_near_the_published_one(demo):
    routes = _events(demo, "permanence_recommendation")["attribute"].value_counts(normalize=True)
    assert routes["home"] == pytest.approx(0.35, abs=0.08)
    assert routes["adoption"] == pytest.approx(0.25, abs=0.08)
    assert routes["kinship"] == pytest.approx(0.20, abs=0.08)


def test_legal_routes_go_through_panel_and_court_and_the_others_do_not(demo):
    route = _events(demo, "permanence_recommendation").groupby("child_id")["attribute"].last()
    panelled = set(_events(demo, "panel")["child_id"])
    assert panelled <= set(route[route.isin(["po", "poa", "adoption"])].index)
    orders = _events(demo, "order_granted").set_index("child_id")["attribute"]
    kinship_orders = orders[orders == "kco"].index
    assert (route.reindex(kinship_orders) == "kinship").all()
    adopted = orders[orders == "adoption_order"].index
    assert (route.reindex(adopted) == "adoption").all()
    adopted_and_ceased = _events(demo, "ceased").groupby("child_id")["attribute"].last().reindex(adopted)
    assert adopted_and_ceased.dropna().isin(["adoption", "other"]).all()


def test_some_children_come_back_into_care_after_going_home(demo):
    accommodated = _events(demo, "accommodated")
    twice = accommodated["child_id"].value_counts()
    returning = twice[twice == 2].index
    assert 0.03 < len(returning) / CHILDREN < 0.15
    ceased = _events(demo, "ceased").sort_values("on_date").groupby("child_id").first()
    second_start = accommodated.groupby("child_id")["on_date"].max()
    assert (ceased.loc[returning, "attribute"] == "home").all()
    assert (ceased.loc[returning, "on_date"] < second_start[returning]).all()


def test_sibling_groups_share_authority_date_and_route(demo):
    children = demo.children.set_index("id")
    grouped = children[children["sibling_group"].notna()]
    assert 0.08 < len(grouped) / CHILDREN < 0.25
    sizes = grouped["sibling_group"].value_counts()
    assert set(sizes) <= {2, 3}
    assert set(sizes) == {2, 3}
    facts = grouped.assign(
        accommodated=_first(demo, "accommodated"),
        route=_events(demo, "permanence_recommendation").groupby("child_id")["attribute"].first(),
        surname=grouped["name"].str.split().str[-1],
    )
    shared = facts.groupby("sibling_group")[["la_id", "accommodated", "surname"]].nunique()
    assert (shared == 1).all().all()
    first_names = facts["name"].str.split().str[0]
    distinct = first_names.groupby(facts["sibling_group"]).nunique()
    assert (distinct == sizes.reindex(distinct.index)).all()
    assert (facts.dropna(subset="route").groupby("sibling_group")["route"].nunique() == 1).all()
    assert grouped["sibling_group"].str.startswith(tuple(demo.authorities["code"] + "-SG")).all()


def _open_episodes(demo: DemoData) -> pd.DataFrame:
    """Return each child's latest episode that has not ceased, with its start and recommendation."""
    latest = _events(demo, "accommodated").groupby("child_id")["on_date"].max().rename("start")
    frame = latest.to_frame()
    for code in ("ceased", "permanence_recommendation"):
        found = _events(demo, code).merge(latest, left_on="child_id", right_index=True)
        frame[code] = found[found["on_date"] >= found["start"]].groupby("child_id")["on_date"].max()
    return frame[frame["ceased"].isna()]


def test_open_cases_include_overdue_and_soon_due_recommendations(demo):
    waiting = _open_episodes(demo)
    waiting = waiting[waiting["permanence_recommendation"].isna()]
    days_in = (NOW - waiting["start"]).dt.days
    assert (days_in > 182).sum() >= 5  # recommendation overdue now
    assert ((days_in > 140) & (days_in <= 182)).sum() >= 1  # due within the next six weeks


def test_open_cases_have_one_open_placement_and_legal_status(demo):
    open_ids = set(_open_episodes(demo).index)
    open_periods = demo.periods[demo.periods["end_date"].isna()]
    for lane in ("placement", "legal_status"):
        in_lane = open_periods[open_periods["lane"] == lane]
        assert in_lane["child_id"].is_unique
        assert set(in_lane["child_id"]) == open_ids


def test_periods_follow_one_another_without_overlap(demo):
    periods = demo.periods.sort_values(["child_id", "lane", "start_date"])
    assert (periods["end_date"].dropna() > periods.loc[periods["end_date"].notna(), "start_date"]).all()
    previous_end = periods.groupby(["child_id", "lane"])["end_date"].shift()
    has_previous = periods.groupby(["child_id", "lane"]).cumcount() > 0
    assert previous_end[has_previous].notna().all()
    assert (previous_end[has_previous] <= periods.loc[has_previous, "start_date"]).all()


def test_placement_moves_are_near_permanently_progressing(demo):
    placements = demo.periods[demo.periods["lane"] == "placement"].groupby("child_id").size()
    assert 0.5 < (placements >= 2).mean() < 0.8
    assert 0.03 < (placements >= 5).mean() < 0.2


def test_improving_authority_more_than_halves_time_to_recommendation(demo):
    accommodated = _first(demo, "accommodated")
    recommended = _first(demo, "permanence_recommendation")
    weeks = ((recommended - accommodated.reindex(recommended.index)).dt.days / 7).rename("weeks")
    frame = demo.children.set_index("id")[["la_id"]].join(weeks, how="inner")
    frame["start"] = accommodated
    # Children accommodated in the last two years only show the quick decisions so far.
    frame = frame[frame["start"] < NOW - pd.Timedelta(days=730)]
    frame["after"] = frame["start"] >= pd.Timestamp(PACE_START)
    medians = frame.groupby(["la_id", "after"])["weeks"].median().unstack()
    ids = demo.authorities.set_index("code")["id"]
    improving = medians.loc[ids[IMPROVING_CODE]]
    assert improving[False] > 52
    assert improving[True] < 0.7 * improving[False]
    steady = medians.loc[ids["GLM"]]
    assert 35 < steady[False] < 60
    assert 0.8 < steady[True] / steady[False] < 1.25


def test_improving_authority_holds_two_week_reviews_after_pace_starts(demo):
    reviews = _events(demo, "review_2wk")
    la_id = reviews["child_id"].map(demo.children.set_index("id")["la_id"])
    assert (la_id == demo.authorities.set_index("code").loc[IMPROVING_CODE, "id"]).all()
    assert (reviews["on_date"] >= pd.Timestamp(PACE_START)).all()
    starts = _events(demo, "accommodated")
    joined = reviews.merge(starts, on="child_id", suffixes=("", "_start"))
    days = (joined["on_date"] - joined["on_date_start"]).dt.days
    assert days[days >= 0].groupby(joined["id"]).min().between(7, 16).all()


def test_some_adm_decisions_are_dated_before_their_panel(demo):
    panel = _first(demo, "panel")
    adm = _first(demo, "adm_decision")
    both = pd.concat({"panel": panel, "adm": adm}, axis=1).dropna()
    wrong = (both["adm"] < both["panel"]).sum()
    assert 1 <= wrong <= max(3, 0.03 * len(both))


def test_rule_overrides_are_valid_site_rules(demo):
    overrides = demo.rule_overrides
    assert list(overrides.columns) == ["la_id", *RULE_COLUMNS]
    check_rules(overrides.drop(columns="la_id"))
    ids = demo.authorities.set_index("code")["id"]
    rules = overrides.set_index("key")
    assert rules.loc["two_week_review", "la_id"] == ids[IMPROVING_CODE]
    assert bool(rules.loc["two_week_review", "active"])
    assert rules.loc["two_week_review", "days"] == 14
    assert rules.loc["lodge_in_court", "la_id"] == ids[LODGE_AIM_CODE]
    assert rules.loc["lodge_in_court", "days"] == 56
    assert "local aim" in rules.loc["lodge_in_court", "strength"]
    defaults = load_rules_file(TARGETS_FILE).set_index("key")
    assert set(rules.index) <= set(defaults.index)


def test_annotations_mark_the_change_at_the_improving_authority(demo):
    annotations = demo.annotations
    ids = demo.authorities.set_index("code")["id"]
    change = annotations[annotations["kind"] == "change"]
    assert list(change["text"]) == ["PACE programme starts"]
    assert change["on_date"].iloc[0] == pd.Timestamp(PACE_START)
    assert change["la_id"].iloc[0] == ids[IMPROVING_CODE]
    assert "Legal advice before the permanence planning review" in set(annotations["text"])
    assert set(annotations["kind"]) <= {"change", "pdsa", "note"}


def test_aims_are_stated_as_pace_sites_stated_them(demo):
    aims = demo.aims
    ids = demo.authorities.set_index("code")["id"]
    improving = aims[aims["la_id"] == ids[IMPROVING_CODE]].set_index("rule_key")
    assert improving.loc["permanence_recommendation", "percent"] == 90
    assert improving.loc["permanence_recommendation", "by_date"] == pd.Timestamp("2018-12-31")
    assert "within 26 weeks by December 2018" in improving.loc["permanence_recommendation", "label"]
    rule_keys = set(load_rules_file(TARGETS_FILE)["key"])
    assert set(aims["rule_key"]) <= rule_keys
    assert aims["percent"].between(1, 100).all()
    assert (aims.groupby("la_id").size() <= 4).all()  # PACE's four aims per authority


def test_notes_are_few_and_never_personal(demo):
    notes = pd.concat([demo.events["note"], demo.periods["note"]]).dropna()
    assert 0 < len(notes) < 0.1 * (len(demo.events) + len(demo.periods))
    surnames = set(demo.children["name"].str.split().str[-1])
    assert not any(surname in note for note in notes for surname in surnames)
    assert not notes.str.contains(r"\d{4}").any()


# --- writing ---------------------------------------------------------------------------------


def test_install_demo_writes_everything_it_generated(engine):
    data = install_demo(engine, children=300, seed=SEED, today=TODAY, rules=load_rules_file(TARGETS_FILE))
    store = Store(engine)
    everything = Scope.everything()
    children = store.children(everything)
    assert len(children) == len(data.children) == 300
    assert store.data_version() > 0
    events = store.events(everything)
    assert len(events) == len(data.events)
    assert len(store.periods(everything)) == len(data.periods)
    # The same journeys, found by case reference rather than by id.
    stored = events.merge(children[["child_id", "reference"]], on="child_id")
    generated = data.events.merge(data.children[["id", "reference"]], left_on="child_id", right_on="id")
    columns = ["reference", "code", "on_date", "attribute"]
    order = ["reference", "on_date", "code", "attribute"]
    pd.testing.assert_frame_equal(
        stored[columns].sort_values(order, ignore_index=True).astype({"attribute": object}),
        generated[columns].sort_values(order, ignore_index=True).astype({"attribute": object}),
        check_dtype=False,
    )
    rules = store.rules(everything)
    overrides = rules[rules["la_id"].notna()]
    assert set(overrides["key"]) == {"two_week_review", "lodge_in_court"}
    codes = store.authorities(everything).set_index("la_id")["code"]
    assert codes[overrides.set_index("key").loc["two_week_review", "la_id"]] == IMPROVING_CODE
    assert _counts(engine)["annotation"] == len(data.annotations)
    assert _counts(engine)["aim"] == len(data.aims) > 0
    open_periods = store.periods(everything)["end_date"].isna().sum()
    assert open_periods == data.periods["end_date"].isna().sum()


def test_write_demo_refuses_a_database_with_children_and_changes_nothing(engine):
    data = install_demo(engine, children=40, seed=SEED, today=TODAY, rules=load_rules_file(TARGETS_FILE))
    before = _counts(engine)
    version = Store(engine).data_version()
    with pytest.raises(ValueError, match="already has children"):
        write_demo(engine, data)
    assert _counts(engine) == before
    assert Store(engine).data_version() == version


def test_write_demo_reuses_an_authority_set_up_before(engine):
    with Session(engine) as session, session.begin():
        session.execute(insert(LocalAuthority).values(code="GLM", name="Glenmorven Council"))
    write_demo(engine, generate_demo(30, SEED, TODAY))
    authorities = Store(engine).authorities(Scope.everything())
    assert sorted(authorities["code"]) == ["GLM", "LAR", "STC"]
    assert len(Store(engine).children(Scope.everything())) == 30


@settings(max_examples=25, deadline=None)
@given(
    children=st.integers(min_value=1, max_value=80),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    today=st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2035, 12, 31)),
)
def test_any_size_seed_and_date_give_consistent_journeys(children, seed, today):
    data = generate_demo(children, seed, today)
    assert len(data.children) == children
    assert data.children["reference"].is_unique
    assert (data.events["on_date"] <= pd.Timestamp(today)).all()
    born = data.events["child_id"].map(data.children.set_index("id")["date_of_birth"])
    assert (data.events["on_date"] >= born).all()
    assert set(data.events["child_id"]) == set(data.children["id"])
    periods = data.periods.sort_values(["child_id", "lane", "start_date"])
    previous_end = periods.groupby(["child_id", "lane"])["end_date"].shift()
    has_previous = periods.groupby(["child_id", "lane"]).cumcount() > 0
    assert (previous_end[has_previous] <= periods.loc[has_previous, "start_date"]).all()
    assert (periods["end_date"].isna() | (periods["end_date"] > periods["start_date"])).all()
    assert (periods["end_date"].dropna() <= pd.Timestamp(today)).all()
