"""The run-chart page's functions and callbacks, on a store of children whose shift is known by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from dash.exceptions import PreventUpdate
from sqlalchemy import insert
from sqlalchemy.orm import Session

from pace_dash.domain import qi
from pace_dash.figures.run_chart import POINTS_TRACE, SIGNAL_TRACE
from pace_dash.store import qi as qi_store
from pace_dash.store.db import bump_data_version
from pace_dash.store.queries import Store
from pace_dash.store.schema import Aim, Annotation, Child, Event, LocalAuthority
from pace_dash.store.scope import Scope
from tests.conftest import OTHER_AUTHORITY_REFERENCE, SAMPLE_REFERENCE, TODAY, request_as
from tests.pages.test_pages import find, text_of

START = dt.date(2020, 1, 1)
# Days from accommodation to the permanence recommendation. The first twelve children (accommodated
# every 60 days from 1 Jan 2020) take about 43 weeks: in weeks, to one decimal, their median is
# (42.9 + 43.6) / 2 = 43.25 (300 and 305 days). The next eight, accommodated from 300 days later,
# take 15 to 20 weeks: all below, a shift of 8. No other signal: the baseline alternates (10 runs,
# 11 in all, inside 7 to 15 for 20 points), and no five points rise or fall together.
BEFORE = [300, 320, 280, 310, 290, 330, 300, 285, 315, 295, 305, 325]
AFTER = [120, 110, 130, 100, 140, 115, 125, 105]
# Child 13 (the first after): accommodated 1 Jan 2020 + 60 x 12 + 300 = 1,020 days, recommended
# 120 days later: 1 Jan 2020 + 1,140 days = 14 Feb 2023 (366 + 365 + 365 = 1,096 days to 1 Jan 2023).
SHIFT_TEXT = "shift: 8 points below the median from 14 Feb 2023"
NAME = "Fictional Knownchild"


@pytest.fixture
def known(sqlite_engine) -> tuple[Store, int]:
    """Return a store with one authority (KNW) of twenty children whose recommendations shift."""
    with Session(sqlite_engine) as session, session.begin():
        authority = LocalAuthority(code="KNW", name="Knownshire (fictional)")
        session.add(authority)
        session.flush()
        for number, days in enumerate(BEFORE + AFTER):
            gap = 300 if number >= len(BEFORE) else 0
            accommodated = START + dt.timedelta(days=60 * number + gap)
            child = Child(
                la_id=authority.id,
                reference=f"KNW-{number + 1:04d}",
                name=NAME if number == 12 else None,
                date_of_birth=dt.date(2019, 1, 1),
            )
            session.add(child)
            session.flush()
            session.add_all(
                [
                    Event(child_id=child.id, code="accommodated", on_date=accommodated),
                    Event(
                        child_id=child.id,
                        code="permanence_recommendation",
                        on_date=accommodated + dt.timedelta(days=days),
                        attribute="adoption" if number % 2 else "home",
                    ),
                ]
            )
        session.execute(
            insert(Aim).values(
                la_id=authority.id,
                rule_key="permanence_recommendation",
                percent=90,
                by_date=dt.date(2022, 12, 31),
                label="90% within 26 weeks by December 2022",
            )
        )
        session.add(
            Annotation(la_id=authority.id, on_date=dt.date(2022, 11, 1), kind="pdsa", text="Legal advice")
        )
        bump_data_version(session)
        la_id = authority.id
    return Store(sqlite_engine), la_id


@pytest.fixture
def page(dash_app):
    """Return the page module, imported once the session's app exists (pages register with it)."""
    from pace_dash.pages import qi as module

    return module


def panels_for(page, store, **choice):
    return page.chart_panels(store, Scope.everything(), page.Choice(**{"since": START, **choice}), TODAY)


def test_the_shift_is_found_and_said_in_words(page, known):
    store, _la_id = known
    choice = page.Choice(authority="KNW", measure=qi.PER_CHILD, since=START)
    panels = panels_for(page, store, authority="KNW", measure=qi.PER_CHILD)
    (chart,) = panels
    assert chart.panel.points["value"].tolist()[:2] == [42.9, 45.7]  # 300 and 320 days
    (phase,) = chart.panel.analysis.phases
    assert phase.centre == pytest.approx(43.25)
    assert [signal.text for signal in chart.panel.analysis.signals] == [SHIFT_TEXT]
    words = text_of(page.signal_words(panels, choice))
    assert SHIFT_TEXT in words
    assert "median 43.2 from the first 12 points" in words
    assert "1. 1 Nov 2022: Legal advice" in words  # the change tested, numbered as on the chart
    figure = page.chart_figure(panels, choice, "Permanence recommendation")
    signal = next(t for t in figure.data if t.name == SIGNAL_TRACE)
    assert len(signal.x) == len(AFTER)
    target = next(t for t in figure.data if t.name == "Target")
    assert list(target.y) == [26.0, 26.0]  # 182 days


def test_the_default_start_leaves_out_the_first_year(page, known):
    store, _la_id = known
    # The first recommendation (27 Oct 2020, 300 days in) falls in the year after the first
    # accommodation (to 31 Dec 2020), when only quick decisions could have been made yet.
    (chart,) = page.chart_panels(store, Scope.everything(), page.Choice(measure=qi.PER_CHILD), TODAY)
    assert len(chart.panel.points) == len(BEFORE + AFTER) - 1


def test_a_phase_from_a_change_date_gets_its_own_median(page, known):
    store, _la_id = known
    # A new phase from 1 Jan 2023 starts at child 13 (14 Feb 2023): 8 points, too few for the rules.
    (chart,) = panels_for(page, store, measure=qi.PER_CHILD, phase_dates=(dt.date(2023, 1, 1),))
    first, second = chart.panel.analysis.phases
    assert (first.last, second.first) == (11, 12)
    # Sorted weeks 14.3 15.0 15.7 16.4 17.1 17.9 18.6 20.0: (16.4 + 17.1) / 2.
    assert second.centre == pytest.approx(16.75)
    assert second.warning.startswith("Only 8 useful points")
    assert chart.panel.analysis.signals == ()


def test_route_filter_keeps_only_that_route(page, known):
    store, _la_id = known
    (chart,) = panels_for(page, store, measure=qi.PER_CHILD, routes=("home",))
    assert len(chart.panel.points) == 10  # the even-numbered half


def test_drill_through_lists_the_children_behind_a_point_with_links(page, known):
    store, _la_id = known
    choice = page.Choice(measure=qi.PER_CHILD, since=START)
    panels = page.chart_panels(store, Scope.everything(), choice, TODAY)
    listing = page.children_behind(store, Scope.everything(), panels, choice, 0, 12)
    assert "/child/KNW-0013" in text_of(listing)
    assert NAME in text_of(listing)  # this scope may see names
    hidden = page.children_behind(store, Scope(la_ids=None, see_names=False), panels, choice, 0, 12)
    assert NAME not in text_of(hidden)
    assert "KNW-0013" in text_of(hidden)
    # A click that names no point lists nobody.
    assert "Click a point" in text_of(page.children_behind(store, Scope.everything(), panels, choice, 3, 0))


def test_drill_through_of_a_monthly_percentage_lists_every_child_due_that_month(page, known):
    store, _la_id = known
    choice = page.Choice(measure=qi.PERCENT_MONTH, since=START)
    panels = page.chart_panels(store, Scope.everything(), choice, TODAY)
    points = panels[0].panel.points
    # Every child has a month of its own (accommodated 60 days apart), and the first twelve all
    # missed 26 weeks: 0% each month; the last eight made it: 100%.
    assert points["value"].tolist() == [0.0] * 12 + [100.0] * 8
    listing = text_of(page.children_behind(store, Scope.everything(), panels, choice, 0, 0))
    assert "KNW-0001" in listing
    assert '"No"' in listing


def test_aims_panel_shows_progress_and_links_to_its_run_chart(page, known):
    store, _la_id = known
    card = page.aims_panel(store, Scope.everything(), "all", TODAY)
    assert "90% within 26 weeks by December 2022" in text_of(card)
    # Nobody in Knownshire was due in the three months before 29 Nov 2026.
    assert "No children were due in the last 3 months." in text_of(card)
    assert "/qi?authority=KNW&rule=permanence_recommendation&measure=percent_month" in text_of(card)
    # On 1 Jul 2024 the last three whole months are April to June 2024: days 1,552 to 1,642 after
    # 1 Jan 2020 (1 Jan 2024 is day 1,461). Children 19 and 20 fell due then, on days
    # 1,020 + 6 x 60 + 182 = 1,562 and 1,622, and were recommended in time (125 and 105 days).
    card = page.aims_panel(store, Scope.everything(), "KNW", dt.date(2024, 7, 1))
    assert "2 of 2 children within target over the last 3 months (100%); aim 90%: reached." in text_of(card)


def test_annotations_are_saved_edited_and_refused_in_words(page, known):
    store, la_id = known
    everything = Scope.everything()
    saved, message = page.save_annotation(store, everything, None, "KNW", "2023-03-01", "change", "Tracker")
    assert (saved, message) == (True, "Saved: 1 Mar 2023, Tracker")
    assert "Tracker" in text_of(page.annotation_list(store, everything, "KNW"))
    note_id = int(qi_store.annotations(store, everything).iloc[-1]["annotation_id"])
    saved, message = page.save_annotation(
        store, everything, note_id, "KNW", "2023-03-02", "pdsa", "Tracker v2"
    )
    assert saved
    assert qi_store.annotation(store, everything, note_id)["text"] == "Tracker v2"
    assert page.save_annotation(store, everything, None, "KNW", "", "pdsa", "x") == (
        False,
        "Give the date of the change.",
    )
    assert page.save_annotation(
        store, Scope.authorities(la_id + 1), None, "KNW", "2023-03-01", "pdsa", "x"
    ) == (
        False,
        "Choose one of the authorities you can see.",
    )


def test_choices_from_the_browser_are_checked(page):
    choice = page.choose(
        authority="stc", rule="first_review", measure="nonsense", method="<script>", baseline="x"
    )
    assert (choice.authority, choice.measure, choice.method, choice.baseline) == (
        "STC",
        page.DEFAULT_MEASURE,
        "ihi",
        12,
    )
    assert page.choose(baseline=500).baseline == page.MAX_BASELINE
    assert page.choose(freeze=[]).baseline is None  # not frozen: the median of every point
    assert page.choose(routes=["home", "moon"], phases=["2017-04-01", "bad"]).routes == ("home",)
    assert page.choose(phases=["2017-04-01", "bad"]).phase_dates == (dt.date(2017, 4, 1),)


# --- on the session's app (the known children of tests/conftest.py) ---------------------------


@pytest.fixture
def request_context(dash_app):
    with request_as(dash_app):
        yield dash_app


def test_layout_takes_its_choice_from_the_query_string(page, request_context):
    layout = page.layout(authority="NTH", rule="first_review", measure="per_child", since="2025-01-01")
    assert find(layout, page.AUTHORITY).value == "NTH"
    assert find(layout, page.RULE).value == "first_review"
    assert find(layout, page.MEASURE).value == "per_child"
    assert find(layout, page.SINCE).date == dt.date(2025, 1, 1)
    # An authority outside the scope (or unknown) falls back to all of them.
    assert find(page.layout(authority="ZZZ"), page.AUTHORITY).value == "all"


def test_chart_callback_draws_one_panel_per_authority_and_a_share_link(page, request_context):
    figure, words, link, _drill, picker, _picked = page.show_chart(
        "all", "permanence_recommendation", "per_child", [], "ihi", 12, ["frozen"], [], "2025-01-01", 0
    )
    points = [t for t in figure.data if t.name == POINTS_TRACE]
    assert len(points) == 2  # NTH and STH
    # The sample child was recommended on 1 Sep 2025, 243 days in: 34.7 weeks.
    assert list(points[0].y) == [34.7]
    assert ": no children to plot with these choices." in text_of(words)  # STH
    assert (
        link
        == "/qi?authority=all&rule=permanence_recommendation&measure=per_child&method=ihi&since=2025-01-01"
    )
    # Every point can be chosen from a list too, for keyboard users.
    assert picker == [{"label": "NTH · 1 Sep 2025: 34.7 weeks (1 child)", "value": "0:0"}]


def test_drill_callback_lists_the_sample_child(page, request_context):
    click = {"points": [{"customdata": [0, 0]}]}
    listing = page.drill_through(
        click, "all", "permanence_recommendation", "per_child", [], "ihi", 12, ["frozen"], [], "2025-01-01"
    )
    assert f"/child/{SAMPLE_REFERENCE}" in text_of(listing)
    assert OTHER_AUTHORITY_REFERENCE not in text_of(listing)
    chosen = page.drill_from_list(
        "0:0", "all", "permanence_recommendation", "per_child", [], "ihi", 12, ["frozen"], [], "2025-01-01"
    )
    assert text_of(chosen) == text_of(listing)
    with pytest.raises(PreventUpdate):
        page.drill_through(
            {"points": [{"customdata": "<script>"}]}, "all", None, None, [], None, 12, None, [], None
        )
    with pytest.raises(PreventUpdate):
        page.drill_from_list(None, "all", None, None, [], None, 12, None, [], None)
