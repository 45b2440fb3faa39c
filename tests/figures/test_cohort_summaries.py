"""Cohort summary charts: survival curves, stage durations, pathway and delay, as trace data."""

from __future__ import annotations

import pytest

from pace_dash.domain import cohort
from pace_dash.figures import cohort_summaries
from tests.domain.test_cohort import five_children
from tests.figures.sample import sample_rules


@pytest.fixture(scope="module")
def five():
    return five_children()


def test_survival_curve_steps_through_the_hand_worked_values_with_numbers_at_risk(five):
    survival = cohort.kaplan_meier(
        cohort.milestone_waits(five, "permanence_recommendation").assign(group="All")
    )
    figure = cohort_summaries.time_to_milestone(survival, "Permanence recommendation", 182)
    curve = next(trace for trace in figure.data if trace.name == "All")
    assert curve.line.shape == "hv"
    points = dict(zip(curve.x, curve.y, strict=True))
    assert points[100] == pytest.approx(20.0)
    assert points[300] == pytest.approx(100 * (1 - 0.8 * 2 / 3 / 2))
    risk = next(trace for trace in figure.data if trace.name == cohort_summaries.AT_RISK_TRACE)
    assert list(risk.text[:5]) == ["5", "5", "3", "1", "0"]
    assert any(trace.name == "Target (182 days)" for trace in figure.data)


def test_stage_durations_are_one_box_trace_of_precomputed_quartiles(five):
    figure = cohort_summaries.stage_durations(cohort.stage_durations(five))
    (box,) = figure.data
    medians = dict(zip(box.y, box.median, strict=True))
    assert medians["Awaiting permanence recommendation"] == 170


def test_pathway_links_carry_counts_and_median_days(five):
    figure = cohort_summaries.pathway(cohort.pathway_flows(five))
    (sankey,) = figure.data
    labels = list(sankey.node.label)
    link = labels.index("Accommodated"), labels.index("Recommended: Return or remain home")
    index = list(zip(sankey.link.source, sankey.link.target, strict=True)).index(link)
    assert sankey.link.value[index] == 3
    assert sankey.link.customdata[index] == "3 children, median 200 days"


def test_delay_heatmap_labels_each_cell_with_total_and_median(five):
    figure = cohort_summaries.delay_heatmap(cohort.delay_by_stage(five, sample_rules()))
    (heatmap,) = figure.data
    row = list(heatmap.y).index("Social work")
    assert heatmap.z[row][0] == 354
    assert heatmap.text[row][0] == "354 d<br>median 118"
