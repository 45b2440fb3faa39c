"""A hand-made child whose delays are worked out by hand, shared by figure and page tests."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pace_dash.domain.rules import load_rules_file, resolve_rules
from pace_dash.settings import TARGETS_FILE

TODAY = dt.date(2026, 11, 29)

# Accommodated 1 Jan 2025. First review 1 Mar 2025 (due 12 Feb: 17 days late). Next review due
# 1 Mar + 91 = 31 May 2025, held 1 May (met); the next due 1 May + 182 = 30 Oct 2025, none held:
# overdue 395 days on 29 Nov 2026. Recommendation (adoption) 1 Sep 2025 (due 2 Jul 2025: 61 days
# late). Panel due 1 Sep + 84 = 24 Nov 2025, none held: overdue 370 days.
EVENT_ROWS = [
    ("accommodated", "2025-01-01", None),
    ("lac_review", "2025-03-01", None),
    ("lac_review", "2025-05-01", None),
    ("permanence_recommendation", "2025-09-01", "adoption"),
]
PERIOD_ROWS = [
    ("placement", "foster", "2025-01-01", "2025-06-30"),
    ("placement", "prospective_adopters", "2025-07-01", None),
    ("legal_status", "icso", "2025-01-01", "2025-04-01"),
    ("legal_status", "cso_away", "2025-04-01", None),
]
EXPECTED_OVERDUE = {  # rule key -> (overdue from, overdue to, days)
    "first_review": ("2025-02-12", "2025-03-01", 17),
    "permanence_recommendation": ("2025-07-02", "2025-09-01", 61),
    "review_cadence": ("2025-10-30", "2026-11-29", 395),
    "panel": ("2025-11-24", "2026-11-29", 370),
}


def sample_events(child_id: int = 1, la_id: int = 1) -> pd.DataFrame:
    """Return the sample child's events as the store returns them."""
    frame = pd.DataFrame(
        [
            (number, child_id, la_id, code, pd.Timestamp(day), attribute, None)
            for number, (code, day, attribute) in enumerate(EVENT_ROWS, start=1)
        ],
        columns=["event_id", "child_id", "la_id", "code", "on_date", "attribute", "note"],
    )
    frame["on_date"] = frame["on_date"].dt.as_unit("ns")
    return frame


def sample_periods(child_id: int = 1, la_id: int = 1) -> pd.DataFrame:
    """Return the sample child's placements and legal statuses as the store returns them."""
    frame = pd.DataFrame(
        [
            (child_id, la_id, lane, category, pd.Timestamp(start), pd.Timestamp(end) if end else pd.NaT, None)
            for lane, category, start, end in PERIOD_ROWS
        ],
        columns=["child_id", "la_id", "lane", "category", "start_date", "end_date", "note"],
    )
    return frame.astype({"start_date": "datetime64[ns]", "end_date": "datetime64[ns]"})


def sample_rules() -> pd.DataFrame:
    """Return the national default rules as the store returns them."""
    return load_rules_file(TARGETS_FILE).assign(la_id=pd.NA).astype({"la_id": "Int64"})


def resolved_rules(la_id: int = 1) -> pd.DataFrame:
    """Return the default rules resolved for one authority."""
    return resolve_rules(sample_rules(), [la_id])
