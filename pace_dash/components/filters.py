"""The cohort filter bar, and the query string that carries its choices in a shareable URL.

The query string is untrusted input: every value is checked against the known choices and
anything else is dropped. It carries filter choices only, never a name or a date of birth.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, dcc, html

from pace_dash.domain import catalogue
from pace_dash.domain.cohort import (
    AGE_BANDS,
    NO_RECOMMENDATION,
    NO_ROUTE_LABEL,
    STAGE_KEYS,
    STATES,
    CohortFilter,
)

# Query keys of each filter; lists are comma separated.
LIST_KEYS: dict[str, str] = {
    "authorities": "la",
    "age_bands": "age",
    "routes": "route",
    "stages": "stage",
    "placements": "placement",
}
ROUTE_CHOICES: dict[str, str] = {**catalogue.ROUTES, NO_RECOMMENDATION: NO_ROUTE_LABEL}
AGE_CHOICES: dict[str, str] = {key: label for key, label, _first, _past in AGE_BANDS}
PLACEMENT_CHOICES: dict[str, str] = {code: category.label for code, category in catalogue.PLACEMENTS.items()}
ALL_STATES = "all"


@dataclass(frozen=True)
class Choices:
    """What a user may pick from: the authorities and rules in their scope, and fixed lists."""

    authorities: dict[str, str]  # code -> name
    rules: dict[str, str]  # rule key -> label

    @classmethod
    def from_frames(cls, authorities: pd.DataFrame, rules: pd.DataFrame) -> Choices:
        """Build the choices from Store.authorities and Store.rules frames."""
        active = rules[rules["active"]].drop_duplicates("key")
        return cls(
            authorities=dict(zip(authorities["code"], authorities["name"], strict=True)),
            rules=dict(zip(active["key"], active["label"], strict=True)),
        )


def _listed(raw: str | None, allowed: Mapping[str, str]) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(dict.fromkeys(value for value in str(raw).split(",") if value in allowed))


def parse_date(raw) -> dt.date | None:
    """Read an ISO date from a query value or a date picker, or None when it is not one."""
    try:
        return dt.date.fromisoformat(str(raw)[:10]) if raw else None
    except ValueError:
        return None


def filter_from_query(query: Mapping[str, str], choices: Choices) -> CohortFilter:
    """Read a CohortFilter from a URL's query values, dropping anything not a known choice."""
    allowed = {
        "authorities": choices.authorities,
        "age_bands": AGE_CHOICES,
        "routes": ROUTE_CHOICES,
        "stages": STAGE_KEYS,
        "placements": PLACEMENT_CHOICES,
    }
    state = query.get("state")
    rule = query.get("overdue")
    return CohortFilter(
        **{field: _listed(query.get(key), allowed[field]) for field, key in LIST_KEYS.items()},
        accommodated_from=parse_date(query.get("from")),
        accommodated_to=parse_date(query.get("to")),
        state=state if state in STATES else None,
        overdue_rule=rule if rule in choices.rules else None,
    )


def filter_to_query(chosen: CohortFilter) -> dict[str, str]:
    """Return the query values of a filter; empty choices are left out."""
    query = {
        key: ",".join(getattr(chosen, field)) for field, key in LIST_KEYS.items() if getattr(chosen, field)
    }
    if chosen.accommodated_from:
        query["from"] = chosen.accommodated_from.isoformat()
    if chosen.accommodated_to:
        query["to"] = chosen.accommodated_to.isoformat()
    if chosen.state:
        query["state"] = chosen.state
    if chosen.overdue_rule:
        query["overdue"] = chosen.overdue_rule
    return query


def query_string(values: Mapping[str, str]) -> str:
    """Return `?a=b&...` for non-empty values, or an empty string."""
    kept = {key: value for key, value in values.items() if value not in (None, "")}
    return f"?{urlencode(kept, safe=',')}" if kept else ""


class FilterIds:
    """The component ids of one page's filter bar, all starting with the page's prefix."""

    def __init__(self, prefix: str):
        self.authorities = f"{prefix}-filter-authority"
        self.accommodated = f"{prefix}-filter-accommodated"
        self.age_bands = f"{prefix}-filter-age"
        self.routes = f"{prefix}-filter-route"
        self.stages = f"{prefix}-filter-stage"
        self.state = f"{prefix}-filter-state"
        self.placements = f"{prefix}-filter-placement"
        self.overdue_rule = f"{prefix}-filter-overdue"

    def inputs(self) -> dict[str, Input]:
        """Return the filter bar's values as callback inputs, by name."""
        return {
            "authorities": Input(self.authorities, "value"),
            "accommodated_from": Input(self.accommodated, "start_date"),
            "accommodated_to": Input(self.accommodated, "end_date"),
            "age_bands": Input(self.age_bands, "value"),
            "routes": Input(self.routes, "value"),
            "stages": Input(self.stages, "value"),
            "state": Input(self.state, "value"),
            "placements": Input(self.placements, "value"),
            "overdue_rule": Input(self.overdue_rule, "value"),
        }


def filter_from_values(values: Mapping, choices: Choices) -> CohortFilter:
    """Read a CohortFilter from the filter bar's callback values, checked like a query string."""
    query = {
        **{key: ",".join(values.get(field) or []) for field, key in LIST_KEYS.items()},
        "from": values.get("accommodated_from") or "",
        "to": values.get("accommodated_to") or "",
        "state": values.get("state") or "",
        "overdue": values.get("overdue_rule") or "",
    }
    return filter_from_query(query, choices)


def _options(choices: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"label": label, "value": value} for value, label in choices.items()]


def _field(label: str, control, control_id: str, width: int) -> dbc.Col:
    return dbc.Col(
        [html.Label(label, htmlFor=control_id, className="form-label small fw-semibold mb-1"), control],
        xs=12,
        md=6,
        xl=width,
    )


def _multi(control_id: str, choices: Mapping[str, str], value: tuple[str, ...], placeholder: str):
    return dcc.Dropdown(
        id=control_id,
        options=_options(choices),
        value=list(value),
        multi=True,
        placeholder=placeholder,
        clearable=True,
    )


def filter_bar(ids: FilterIds, chosen: CohortFilter, choices: Choices) -> html.Div:
    """Return the filter bar, showing the given choices."""
    fields = [
        _field(
            "Authority",
            _multi(ids.authorities, choices.authorities, chosen.authorities, "All authorities"),
            ids.authorities,
            3,
        ),
        _field(
            "Accommodated between",
            dcc.DatePickerRange(
                id=ids.accommodated,
                start_date=chosen.accommodated_from,
                end_date=chosen.accommodated_to,
                display_format="D MMM YYYY",
                start_date_placeholder_text="Any date",
                end_date_placeholder_text="Any date",
                clearable=True,
                first_day_of_week=1,
            ),
            ids.accommodated,
            3,
        ),
        _field(
            "Age at accommodation",
            _multi(ids.age_bands, AGE_CHOICES, chosen.age_bands, "Any age"),
            ids.age_bands,
            2,
        ),
        _field("Route", _multi(ids.routes, ROUTE_CHOICES, chosen.routes, "Any route"), ids.routes, 2),
        _field(
            "Open or ceased",
            dcc.Dropdown(
                id=ids.state,
                options=[{"label": "Open and ceased", "value": ALL_STATES}, *_options(STATES)],
                value=chosen.state or ALL_STATES,
                clearable=False,
            ),
            ids.state,
            2,
        ),
        _field("Current stage", _multi(ids.stages, STAGE_KEYS, chosen.stages, "Any stage"), ids.stages, 4),
        _field(
            "Placement (latest)",
            _multi(ids.placements, PLACEMENT_CHOICES, chosen.placements, "Any placement"),
            ids.placements,
            4,
        ),
        _field(
            "Overdue now on",
            dcc.Dropdown(
                id=ids.overdue_rule,
                options=_options(choices.rules),
                value=chosen.overdue_rule,
                placeholder="Any or no milestone",
                clearable=True,
            ),
            ids.overdue_rule,
            4,
        ),
    ]
    return html.Div(
        dbc.Card(dbc.CardBody(dbc.Row(fields, className="g-2")), className="mb-3 bg-light"),
        role="search",
        **{"aria-label": "Cohort filters"},
    )
