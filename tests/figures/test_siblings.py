"""The siblings figure: one row per sibling, in reference order, with each one's route."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from pace_dash.domain import journeys
from pace_dash.figures.siblings import OVERDUE_TRACE, siblings_timeline
from tests.figures.sample import EXPECTED_OVERDUE, TODAY, sample_events, sample_rules


def _figure():
    # Two copies of the sample child: SIB-B (id 1) and SIB-A (id 2), so rows sort by reference.
    events = pd.concat([sample_events(child_id=1), sample_events(child_id=2)], ignore_index=True)
    siblings = pd.DataFrame({"child_id": [1, 2], "reference": ["SIB-B", "SIB-A"]})
    evaluation = journeys.evaluate(events, sample_rules(), TODAY)
    summary = journeys.summarise(events, evaluation, TODAY)
    spans = journeys.stage_spans(events, TODAY)
    return siblings_timeline(siblings, summary, spans, evaluation, events, TODAY)


def test_rows_are_siblings_in_reference_order_with_their_routes():
    figure = _figure()
    assert list(figure.layout.yaxis.ticktext) == ["SIB-A · Adoption", "SIB-B · Adoption"]
    overdue = next(trace for trace in figure.data if trace.name == OVERDUE_TRACE)
    # Each sibling has the sample child's four overdue spans: SIB-A on row 0, SIB-B on row 1.
    assert sorted(overdue.y) == [0] * len(EXPECTED_OVERDUE) + [1] * len(EXPECTED_OVERDUE)


def test_the_chart_is_one_plotly_validation_accepts():
    # Built from plain dicts without validation; plotly's own check raises ValueError on any
    # property or value it does not know.
    figure = _figure()
    assert json.loads(pio.to_json(go.Figure(figure.to_dict()))) == json.loads(pio.to_json(figure))
