"""The run-chart figure: its traces carry the hand-worked analysis, one trace per kind of mark."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pace_dash.domain.runchart import analyse
from pace_dash.figures.export import figure_image
from pace_dash.figures.run_chart import (
    ANNOTATION_TRACE,
    BASELINE_TRACE,
    EXTENDED_TRACE,
    PHASE_TRACE,
    POINTS_TRACE,
    SIGNAL_TRACE,
    TARGET_TRACE,
    Panel,
    annotation_caption,
    run_chart,
)

# The series of tests/domain/test_runchart.py: baseline median 10 from the first 12 months
# (January to December 2018), then 7 points below it from January 2019 (one on the median).
VALUES = [9, 11, 8, 12, 9, 11, 8, 12, 10, 9, 11, 10, 7, 6, 10, 5, 8, 7, 6, 9]
MONTHS = pd.date_range("2018-01-01", periods=len(VALUES), freq="MS")


def points() -> pd.DataFrame:
    return pd.DataFrame(
        {"x": MONTHS, "label": MONTHS.strftime("%B %Y"), "value": [float(v) for v in VALUES], "children": 3}
    )


NOTES = pd.DataFrame(
    {
        "on_date": pd.to_datetime(["2017-06-01", "2019-01-01", "2019-01-01", "2019-04-15"]),
        "kind": ["note", "change", "pdsa", "pdsa"],
        "text": ["Before the chart", "Tracking meeting", "Legal advice first", "Two-week review"],
    }
)


def panel(**changes) -> Panel:
    frame = points()
    fields = {
        "title": "Northshire",
        "points": frame,
        "analysis": analyse(frame["value"].tolist(), labels=frame["label"].tolist()),
        "target": 8.0,
        "target_label": "Target 8 weeks",
        "annotations": NOTES,
    }
    return Panel(**{**fields, **changes})


def trace(figure, name, row: int = 1):
    axis = "y" if row == 1 else f"y{row}"
    return next(t for t in figure.data if t.name == name and t.yaxis == axis)


def test_points_carry_their_panel_and_position_for_drill_through():
    figure = run_chart([panel()], y_title="Weeks")
    drawn = trace(figure, POINTS_TRACE)
    assert list(drawn.y) == VALUES
    assert drawn.x[0] == "2018-01-01"
    assert [list(c) for c in drawn.customdata[:2]] == [[0, 0], [0, 1]]
    assert "3 children" in drawn.hovertext[0]


def test_signal_points_are_marked_by_shape_and_outline_and_explained_on_hover():
    signal = trace(run_chart([panel()], y_title="Weeks"), SIGNAL_TRACE)
    # Positions 12 to 19 (January to August 2019): the shift, including the point on the median.
    assert list(signal.x) == [d.strftime("%Y-%m-%d") for d in MONTHS[12:20]]
    assert signal.marker.symbol == "diamond"
    assert signal.marker.line.color == "black"
    assert "shift: 7 points below the median from January 2019" in signal.hovertext[0]
    assert list(signal.customdata[0]) == [0, 12]


def test_baseline_median_is_solid_over_the_baseline_and_dashed_where_extended():
    figure = run_chart([panel()], y_title="Weeks")
    baseline, extended = trace(figure, BASELINE_TRACE), trace(figure, EXTENDED_TRACE)
    assert list(baseline.x) == ["2018-01-01", "2018-12-01", None]
    assert list(baseline.y) == [10.0, 10.0, None]
    assert list(extended.x) == ["2018-12-01", "2019-08-01", None]
    assert (baseline.line.dash, extended.line.dash) == ("solid", "dash")
    # Lines take no hover, so a click on a point lying on the median reaches the point itself.
    assert {baseline.hoverinfo, extended.hoverinfo, trace(figure, TARGET_TRACE).hoverinfo} == {"skip"}


def test_target_line_and_its_label():
    target = trace(run_chart([panel()], y_title="Weeks"), TARGET_TRACE)
    assert list(target.y) == [8.0, 8.0]
    assert list(target.x) == ["2018-01-01", "2019-08-01"]
    assert target.text[0] == "Target 8 weeks"


def test_each_phase_after_the_first_gets_a_boundary_line_and_its_own_median():
    frame = points()
    phased = analyse(frame["value"].tolist(), baseline=None, phase_starts=[12])
    figure = run_chart([panel(analysis=phased)], y_title="Weeks")
    boundary = trace(figure, PHASE_TRACE)
    assert [x for x in boundary.x if x] == ["2019-01-01", "2019-01-01"]
    baseline = trace(figure, BASELINE_TRACE)
    # Phase one: median of the first 12 (10); phase two: 7 6 10 5 8 7 6 9 sorted 5 6 6 7 7 8 9 10 -> 7.
    assert [y for y in baseline.y if y is not None] == [10.0, 10.0, 7.0, 7.0]


def test_changes_tested_are_numbered_markers_one_per_date_within_the_chart():
    figure = run_chart([panel()], y_title="Weeks")
    markers = trace(figure, ANNOTATION_TRACE)
    # June 2017 is before the first point; the two changes of 1 Jan 2019 share one marker.
    assert list(markers.x) == ["2019-01-01", "2019-04-15"]
    assert list(markers.text) == ["1", "2"]
    assert "Tracking meeting<br>Legal advice first" in markers.hovertext[0]
    assert annotation_caption(NOTES, MONTHS[0], MONTHS[-1]) == [
        "1. 1 Jan 2019: Tracking meeting; Legal advice first",
        "2. 15 Apr 2019: Two-week review",
    ]


def test_small_multiples_draw_one_trace_per_kind_of_mark_per_panel_and_one_legend():
    figure = run_chart([panel(), panel(title="Southvale", target=None)], y_title="Weeks")
    per_panel = [sum(1 for t in figure.data if t.yaxis == axis) for axis in ("y", "y2")]
    assert per_panel == [8, 7]  # the second panel has no target line
    legend_names = [t.name for t in figure.data if t.showlegend]
    assert len(legend_names) == len(set(legend_names))
    assert [a.text for a in figure.layout.annotations] == ["Northshire", "Southvale"]


def test_percent_charts_run_from_nought_to_a_hundred():
    figure = run_chart([panel(target=90.0, target_label="Aim 90%")], y_title="%", percent=True)
    assert tuple(figure.layout.yaxis.range) == (-4.0, 112.0)
    assert figure.layout.yaxis.ticksuffix == "%"


def test_an_empty_panel_draws_no_points_and_no_changes():
    figure = run_chart([panel(points=points().iloc[0:0], analysis=analyse([]))], y_title="Weeks")
    assert list(trace(figure, POINTS_TRACE).y) == []
    assert list(trace(figure, ANNOTATION_TRACE).x) == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_png_svg_and_pdf_exports_are_real_images_with_the_signal_drawn(image_exporter):
    figure = run_chart([panel()], y_title="Weeks")
    png = figure_image(figure, "png", width=900, exporter=image_exporter)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    # Twice the width for sharp slides; the figure's own height (70 + 90 + 340 per panel).
    assert image.size == (1800, 2 * 500)
    pixels = np.asarray(image).astype(int)
    assert pixels.std() > 10, "the exported image is blank"
    vermillion = (abs(pixels[..., 0] - 0xD5) < 30) & (abs(pixels[..., 1] - 0x5E) < 30) & (pixels[..., 2] < 60)
    assert vermillion.sum() > 100, "no signal marker was drawn"
    svg = figure_image(figure, "svg", exporter=image_exporter).decode()
    assert svg.startswith("<svg")
    assert "Northshire" in svg
    assert figure_image(figure, "pdf", exporter=image_exporter).startswith(b"%PDF")
    with pytest.raises(ValueError, match="format"):
        figure_image(figure, "gif")
