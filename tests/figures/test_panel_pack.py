"""The panel pack: an A4 landscape page of the sample child, exported for real through kaleido."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pace_dash.figures.child_timeline import build_child_journey
from pace_dash.figures.export import figure_image
from pace_dash.figures.panel_pack import (
    A4_HEIGHT_PX,
    A4_WIDTH_PX,
    MARGIN,
    PackHeader,
    panel_pack,
    rules_in_force,
)
from tests.figures.sample import TODAY, sample_events, sample_periods, sample_rules

HEADER = PackHeader("NTH-0001", 5, "Awaiting panel", 697, 843, "Next LAC review, due 30 Oct 2025")


@pytest.fixture(scope="module")
def pack():
    """Return the sample child's panel pack figure."""
    journey = build_child_journey(
        sample_events(), sample_periods(), sample_rules(), TODAY, pd.Timestamp("2021-06-01")
    )
    return panel_pack(journey, HEADER, TODAY), journey


def test_pack_lists_the_rules_in_force_with_their_sources(pack):
    figure, journey = pack
    assert rules_in_force(journey)["key"].tolist() == [
        "first_review",
        "permanence_recommendation",
        "review_cadence",
        "panel",
    ]
    footer = figure.layout.annotations[-1].text
    assert "Adoption & Permanence Panel within 84 days (local PACE aims; Aberdeen City" in footer
    assert "within 91 days, then every 182" in footer


def test_pack_header_gives_the_facts_a_panel_needs(pack):
    figure, _ = pack
    title = figure.layout.title.text
    facts = (
        "NTH-0001",
        "age 5",
        "Awaiting panel",
        "697 days since accommodated",
        "843 days overdue in total",
        "next: Next LAC review, due 30 Oct 2025",
    )
    for fact in facts:
        assert fact in title
    assert (figure.layout.width, figure.layout.height) == (A4_WIDTH_PX, A4_HEIGHT_PX)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_png_pack_is_not_blank_and_its_bars_sit_at_their_dates(pack, image_exporter):
    figure, _ = pack
    png = figure_image(figure, "png", A4_WIDTH_PX, exporter=image_exporter)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    scale = image.width / A4_WIDTH_PX
    pixels = np.asarray(image).astype(int)
    assert pixels.std() > 10, "the exported pack is blank"
    # Look inside the plot area only: the legend's overdue swatch sits above it.
    top, bottom = int(MARGIN["t"] * scale), int((A4_HEIGHT_PX - MARGIN["b"]) * scale)
    plot = pixels[top:bottom]
    vermillion = (abs(plot[..., 0] - 0xD5) < 30) & (abs(plot[..., 1] - 0x5E) < 30) & (plot[..., 2] < 60)
    columns = np.flatnonzero(vermillion.any(axis=0))
    start, end = (pd.Timestamp(day) for day in figure.layout.xaxis.range)
    left, width = MARGIN["l"] * scale, (A4_WIDTH_PX - MARGIN["l"] - MARGIN["r"]) * scale
    first_red_day = start + (end - start) * ((columns.min() - left) / width)
    assert abs((first_red_day - pd.Timestamp("2025-02-12")).days) <= 4  # the first review's overdue span


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_pdf_pack_is_a_pdf(pack, image_exporter):
    figure, _ = pack
    pdf = figure_image(figure, "pdf", A4_WIDTH_PX, exporter=image_exporter)
    assert pdf.startswith(b"%PDF")
    assert len(pdf) > 10_000
