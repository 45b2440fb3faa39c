"""Readable colours: WCAG AA contrast for text, and overdue distinct even in greyscale."""

from __future__ import annotations

import pytest

from pace_dash.domain import catalogue

WHITE = "#FFFFFF"
AA_TEXT = 4.5  # WCAG 2 AA, normal text
AA_GRAPHICS = 3.0  # WCAG 2 AA, graphical objects and large text


def test_contrast_ratio_matches_the_wcag_examples():
    assert catalogue.contrast_ratio("#000000", WHITE) == pytest.approx(21)
    assert catalogue.contrast_ratio("#777777", WHITE) == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(
    "colour",
    [c.colour for lane in catalogue.PERIOD_LANES.values() for c in lane.values()]
    + [stage.colour for stage in catalogue.PROCESS_STAGES],
)
def test_every_bar_label_meets_aa_on_its_bar(colour):
    assert catalogue.contrast_ratio(catalogue.text_colour_on(colour), colour) >= AA_TEXT


@pytest.mark.parametrize(
    "text_colour",
    [
        catalogue.OVERDUE_OUTLINE,
        catalogue.MILESTONE_COLOUR,
        catalogue.TODAY_COLOUR,
        "#A63D00",
    ],  # .text-overdue
)
def test_text_and_marks_on_white_meet_aa(text_colour):
    assert catalogue.contrast_ratio(text_colour, WHITE) >= AA_TEXT


def test_overdue_reads_without_colour():
    # In greyscale only lightness is left: the overdue fill must differ from the grey of the time
    # allowed and from the white page, and its outline must stand out from both.
    assert catalogue.contrast_ratio(catalogue.OVERDUE_COLOUR, catalogue.WITHIN_TARGET_COLOUR) >= AA_GRAPHICS
    assert catalogue.contrast_ratio(catalogue.OVERDUE_COLOUR, WHITE) >= AA_GRAPHICS
    assert catalogue.contrast_ratio(catalogue.OVERDUE_OUTLINE, catalogue.WITHIN_TARGET_COLOUR) >= AA_TEXT
    assert catalogue.OVERDUE_PATTERN  # and a hatch, which greyscale keeps
