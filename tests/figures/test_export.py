"""The image exporter: one browser kept for many images, and a clear error when one takes too long."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from pace_dash.figures.export import ExportError, ImageExporter, figure_image

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def small_figure() -> go.Figure:
    """Return a one-bar figure."""
    return go.Figure(go.Bar(x=[1, 2], y=[3, 4])).update_layout(height=200)


def test_one_exporter_draws_image_after_image(image_exporter):
    first = figure_image(small_figure(), "png", 300, exporter=image_exporter)
    second = figure_image(small_figure(), "svg", 300, exporter=image_exporter)
    assert first.startswith(b"\x89PNG")
    assert b"<svg" in second[:200]


def test_a_renderer_that_cannot_answer_in_time_gives_a_clear_error():
    impatient = ImageExporter(timeout_s=0.001)
    with pytest.raises(ExportError, match="try again"):
        figure_image(small_figure(), "png", 300, exporter=impatient)
    impatient.close()


def test_unknown_formats_are_refused():
    with pytest.raises(ValueError, match="gif"):
        figure_image(small_figure(), "gif")
