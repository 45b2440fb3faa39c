"""Run-chart rules on hand-made series whose signals are worked out by hand in the comments."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from pace_dash.domain.runchart import (
    ANHOEJ,
    IHI,
    analyse,
    crossings_limit,
    longest_run_limit,
    runs_distribution,
    runs_limits,
)

MONTHS = [f"{month} {year}" for year in (2018, 2019) for month in ("January", "February", "March", "April",
          "May", "June", "July", "August", "September", "October", "November", "December")]  # fmt: skip


def rules_found(chart) -> list[str]:
    return [signal.rule for signal in chart.signals]


# domain.md: n -> (longest-run limit, fewest crossings), as qicharts2 computes them.
@pytest.mark.parametrize(
    ("useful", "longest", "crossings"),
    [(10, 6, 2), (12, 7, 3), (20, 7, 6), (24, 8, 8), (30, 8, 10), (40, 8, 14), (60, 9, 23)],
)
def test_anhoej_limits_reproduce_the_published_table(useful, longest, crossings):
    assert longest_run_limit(useful) == longest
    assert crossings_limit(useful) == crossings


def test_fewest_crossings_for_ten_points_by_hand():
    # Binomial(9, 0.5): P(X <= 1) = (1 + 9) / 512 = 0.0195 < 0.05; P(X <= 2) = (1 + 9 + 36) / 512
    # = 0.0898 >= 0.05, so the 5th percentile is 2: fewer than 2 crossings is a signal.
    assert crossings_limit(10) == 2


def test_runs_distribution_of_five_and_five_by_hand():
    # C(10, 5) = 252 orderings. Two runs: all five of one side first, either side: 2 ways.
    # Three runs: one side split in two around the other, 2 x C(4, 1) = 8 ways. And symmetrically
    # ten runs (alternating) 2 ways, nine runs 8 ways.
    counts = runs_distribution(5, 5)
    assert sum(counts.values()) == math.comb(10, 5) == 252
    assert (counts[2], counts[3], counts[9], counts[10]) == (2, 8, 8, 2)


def test_runs_table_for_ten_points_by_hand():
    # P(R <= 2) = 2/252 = 0.8% is inside the 2.5% tail, P(R <= 3) = 10/252 = 4.0% is not: fewer
    # than 3 runs is too few. Symmetrically more than 9 (10 runs, 0.8%) is too many. This is the
    # first row of Perla, Provost & Murray's table: 10 points, 3 to 9 runs.
    assert runs_limits(10) == (3, 9)


@pytest.mark.parametrize("useful", range(10, 61))
def test_runs_table_cuts_each_tail_at_two_and_a_half_percent(useful):
    below = useful // 2
    counts = runs_distribution(below, useful - below)
    total = math.comb(useful, below)
    fewest, most = runs_limits(useful)

    def chance(runs) -> Fraction:
        return Fraction(sum(counts.get(r, 0) for r in runs), total)

    assert chance(range(2, fewest)) <= Fraction(1, 40) < chance(range(2, fewest + 1))
    assert chance(range(most + 1, useful + 1)) <= Fraction(1, 40) < chance(range(most, useful + 1))


def test_shift_skips_points_on_the_median_and_is_explained_in_words():
    # The first 12 points (the baseline) have median 10: sorted 8 8 9 9 9 10 10 11 11 11 12 12.
    # The extension: 7 6 [10 on the median, skipped] 5 8 7 6 9: seven useful points below from
    # January 2019 (position 12). Runs: ten alternating in the baseline (its two points on the
    # median skipped), then that one: 11 runs in 17 useful points, inside 6 to 13. The longest
    # fall is 11 10 7 6: four points, no trend.
    values = [9, 11, 8, 12, 9, 11, 8, 12, 10, 9, 11, 10, 7, 6, 10, 5, 8, 7, 6, 9]
    chart = analyse(values, labels=MONTHS[: len(values)], baseline=12)
    (phase,) = chart.phases
    assert (phase.centre, phase.baseline_last, phase.useful, phase.runs) == (10.0, 11, 17, 11)
    assert phase.runs_limits == (6, 13)
    (shift,) = chart.signals
    assert (shift.rule, shift.first, shift.last) == ("shift", 12, 19)
    assert shift.text == "shift: 7 points below the median from January 2019"
    assert chart.signal_points() == list(range(12, 20))


def test_five_points_below_are_not_a_shift():
    values = [9, 11, 8, 12, 9, 11, 8, 12, 10, 9, 11, 10, 7, 6, 5, 8, 7, 12]
    assert "shift" not in rules_found(analyse(values, baseline=12))


def test_a_repeated_value_neither_adds_to_nor_breaks_a_trend():
    # Median 2.5 (sorted 0 1 1 2 2 2 3 4 6 8 9 9); no run is longer than 3, 8 runs in 12.
    # 1 2 2 3 4 6 from position 1: the repeated 2 counts once, so 1 2 3 4 6 is five points up.
    rising = [9, 1, 2, 2, 3, 4, 6, 1, 9, 2, 8, 0]
    chart = analyse(rising, baseline=None)
    (trend,) = chart.signals
    assert (trend.rule, trend.first, trend.last) == ("trend", 1, 6)
    assert trend.text == "trend: 5 points all going up from point 2"
    # Without the 6, 1 2 2 3 4 is only four distinct steps: the repeat did not add one.
    # (Median 2.5 again, sorted 0 0 1 1 2 2 3 4 7 8 9 9: twelve useful points, so the rules apply.)
    four = [9, 1, 2, 2, 3, 4, 0, 7, 9, 1, 8, 0]
    assert "trend" not in rules_found(analyse(four, baseline=None))


def test_a_falling_trend():
    # 9 8 7 6 5 from position 2, then up to 5.5. Median of all 12 is 6.25 (sorted ... 6 6.5 ...);
    # sides + - + + + - - - - + - +: at most four on one side, 7 runs in 12 (4 to 10 expected).
    values = [6.5, 2, 9, 8, 7, 6, 5, 5.5, 4, 10, 1, 11]
    chart = analyse(values, baseline=None)
    assert [(s.rule, s.first, s.last) for s in chart.signals] == [("trend", 2, 6)]
    assert "going down from point 3" in chart.signals[0].text


def test_too_few_runs_with_two_shifts():
    # Median 5: six below then six above, 2 runs in 12 points, fewer than 4 (runs_limits(12) = 4 to 10).
    values = [1, 2, 1, 2, 1, 2, 9, 8, 9, 8, 9, 8]
    chart = analyse(values, baseline=None)
    assert rules_found(chart) == ["shift", "shift", "too_few_runs"]
    assert chart.signals[-1].text == "too few runs: 2 runs in 12 useful points (fewer than 4 is unusual)"
    # Runs are a verdict on the phase, not marks on particular points: only the shifts mark points.
    assert chart.signal_points() == list(range(12))


def test_too_many_runs_when_every_point_crosses():
    # Alternating: 12 runs in 12 points, more than 10.
    chart = analyse([1, 9] * 6, baseline=None)
    assert rules_found(chart) == ["too_many_runs"]
    assert chart.signal_points() == []


def test_anhoej_long_run_and_crossings():
    # Baseline of 4 points (1 9 3 7) gives median 5. Sides: - + - + then eight below, then eight
    # alternating + - ...: 20 useful points, longest run 8 > 7 (round(log2 20) + 3); 13 runs, so
    # 12 crossings, not fewer than 6.
    values = [1, 9, 3, 7, 4, 3, 2, 4, 3, 2, 4, 3, 6, 4, 6, 4, 6, 4, 6, 4]
    chart = analyse(values, method=ANHOEJ, baseline=4)
    (phase,) = chart.phases
    assert (phase.useful, phase.longest_run, phase.crossings) == (20, 8, 12)
    assert (phase.longest_run_limit, phase.crossings_limit) == (7, 6)
    (signal,) = chart.signals
    assert (signal.rule, signal.first, signal.last) == ("long_run", 4, 11)
    assert signal.text == "long run: 8 points below the median from point 5 (more than 7 is unusual)"
    # The IHI rules read the same series as a shift (8 >= 6).
    assert rules_found(analyse(values, method=IHI, baseline=4)) == ["shift"]


def test_anhoej_too_few_crossings():
    # Median 5, six below then six above: 1 crossing in 12 points, fewer than 3; longest run 6 <= 7.
    chart = analyse([1, 2, 1, 2, 1, 2, 9, 8, 9, 8, 9, 8], method=ANHOEJ, baseline=None)
    assert rules_found(chart) == ["few_crossings"]
    assert "crossed once in 12 useful points (fewer than 3 is unusual)" in chart.signals[0].text


def test_phases_each_get_their_own_median():
    # Without phases the second half sits wholly below the median of all 20 (7, between 6 and 8):
    # a shift of 10 points below.
    # Split at position 10, phase one has median 10.5 (sorted 8 9 9 10 10 11 11 12 12 13) and
    # phase two 3.5 (sorted 1 2 2 3 3 4 4 5 5 6); neither has six on one side.
    before = [10, 11, 9, 12, 8, 13, 10, 11, 9, 12]
    after = [3, 4, 2, 5, 1, 6, 3, 4, 2, 5]
    whole = analyse(before + after, baseline=None)
    assert "shift: 10 points below the median from point 11" in [s.text for s in whole.signals]
    split = analyse(before + after, baseline=None, phase_starts=[10])
    assert [(p.first, p.last, p.centre) for p in split.phases] == [(0, 9, 10.5), (10, 19, 3.5)]
    assert "shift" not in rules_found(split)


def test_a_frozen_baseline_is_extended_and_an_unfrozen_one_uses_every_point():
    values = [9, 11, 8, 12, 9, 11, 8, 12, 10, 9, 11, 10, 7, 6, 10, 5, 8, 7, 6, 9]
    assert analyse(values, baseline=12).phases[0].centre == 10.0
    # All 20 sorted: 5 6 6 7 7 8 8 8 9 9 | 9 9 10 10 10 11 11 11 12 12: median 9.
    unfrozen = analyse(values, baseline=None).phases[0]
    assert (unfrozen.centre, unfrozen.baseline_last) == (9.0, 19)


def test_a_phase_with_fewer_than_ten_useful_points_gets_a_warning_and_no_rules():
    # Ten falling points would be a trend, but the median is 5 (sorted 1 2 3 4 5 5 6 7 8 9) and
    # both 5s sit on it: 8 useful points are too few to judge.
    chart = analyse([9, 8, 7, 6, 5, 5, 4, 3, 2, 1], baseline=None)
    (phase,) = chart.phases
    assert phase.useful == 8
    assert chart.signals == ()
    assert phase.warning.startswith("Only 8 useful points")


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="labels"):
        analyse([1, 2, 3], labels=["a"])
    with pytest.raises(ValueError, match="missing"):
        analyse([1, float("nan"), 3])
    with pytest.raises(ValueError, match="method"):
        analyse([1, 2, 3], method="western-electric")
