"""The filter bar's query string: shareable, checked, and never carrying a name or birth date."""

from __future__ import annotations

import datetime as dt

from pace_dash.components.filters import (
    Choices,
    filter_from_query,
    filter_from_values,
    filter_to_query,
    query_string,
)
from pace_dash.domain.cohort import CohortFilter

CHOICES = Choices(authorities={"NTH": "Northshire", "STH": "Southvale"}, rules={"panel": "Panel"})


def test_a_query_string_round_trips_a_filter():
    chosen = CohortFilter(
        authorities=("STH",),
        accommodated_from=dt.date(2016, 1, 1),
        accommodated_to=dt.date(2016, 12, 31),
        age_bands=("1-4",),
        routes=("adoption", "none"),
        stages=("panel",),
        state="open",
        placements=("foster",),
        overdue_rule="panel",
    )
    query = filter_to_query(chosen)
    assert filter_from_query(query, CHOICES) == chosen
    assert query_string(query).startswith("?la=STH&age=1-4&route=adoption,none&")


def test_unknown_values_from_the_url_are_dropped():
    query = {
        "la": "STH,XXX,<script>",
        "from": "not-a-date",
        "state": "drop table",
        "overdue": "nope",
        "age": "99",
    }
    assert filter_from_query(query, CHOICES) == CohortFilter(authorities=("STH",))


def test_the_filter_bar_values_are_checked_like_the_url():
    values = {"authorities": ["NTH", "ZZZ"], "accommodated_from": "2020-02-03T00:00:00", "state": "all"}
    assert filter_from_values(values, CHOICES) == CohortFilter(
        authorities=("NTH",), accommodated_from=dt.date(2020, 2, 3)
    )


def test_an_empty_filter_makes_no_query():
    assert query_string(filter_to_query(CohortFilter())) == ""
