"""Run-chart analysis: median centre lines, baselines, phases, and the IHI and Anhøj signal rules.

Pure Python over a sequence of values in time order. Two sets of rules, as domain.md describes:

- IHI (Perla, Provost & Murray, BMJ Qual Saf 2011;20:46-51), the rules PACE sites were trained
  on: a shift of 6 or more useful points on one side of the median; a trend of 5 or more points
  all going up or all going down; too few or too many runs for the number of useful points.
- Anhøj (Anhøj & Olesen, PLoS ONE 2014; the default of qicharts2): the longest run longer than
  round(log2(n)) + 3, or fewer crossings of the median than the 5th percentile of
  Binomial(n - 1, 0.5).

A point exactly on the centre line is not "useful": it neither adds to nor breaks a run, and is
not counted in n. Rules are applied only to a phase with at least 10 useful points.

The runs table. Perla et al. print a table of the fewest and most runs expected by chance for 10
to 60 useful points; it reproduces the critical values of Swed & Eisenhart (Ann Math Stat 1943;
14:66-87) for a two-sided test at about 5%, with the points split as evenly as possible above and
below the median. Rather than copy the printed table, `runs_limits` computes it from Swed &
Eisenhart's exact distribution of the number of runs, in whole-number arithmetic: with n1 points
on one side and n2 on the other, the chance of exactly r runs is

    r = 2k:     2 C(n1-1, k-1) C(n2-1, k-1) / C(n1+n2, n1)
    r = 2k + 1: (C(n1-1, k) C(n2-1, k-1) + C(n1-1, k-1) C(n2-1, k)) / C(n1+n2, n1)

and the limits are the fewest and most runs that are not in the outer 2.5% of either tail (so
"too few" means P(R <= runs) <= 0.025). It works for any n, not only up to 60.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

IHI = "ihi"
ANHOEJ = "anhoej"
METHODS: dict[str, str] = {
    IHI: "IHI rules (shift, trend, runs)",
    ANHOEJ: "Anhøj rules (longest run, crossings)",
}

SHIFT_POINTS = 6
TREND_POINTS = 5
MIN_USEFUL_POINTS = 10
DEFAULT_BASELINE_POINTS = 12
RUNS_TAIL = (1, 40)  # 2.5% in each tail of Swed & Eisenhart's distribution, as a fraction
CROSSINGS_QUANTILE = (1, 20)  # the 5th percentile of Binomial(n - 1, 0.5), as a fraction

ABOVE, BELOW = 1, -1


@dataclass(frozen=True)
class Signal:
    """A non-random pattern found by one rule, with the points it covers and a sentence about it."""

    rule: str  # shift, trend, too_few_runs, too_many_runs, long_run, few_crossings
    first: int  # position in the series of the first point involved
    last: int  # position of the last one
    text: str


@dataclass(frozen=True)
class Phase:
    """A stretch of the series with its own centre line and the rules' verdict on it."""

    first: int
    last: int
    centre: float
    baseline_last: int  # the last point the centre line was computed from; later ones extend it
    useful: int
    runs: int
    crossings: int
    longest_run: int
    runs_limits: tuple[int, int] | None  # IHI: fewest and most runs expected by chance
    longest_run_limit: int | None  # Anhøj
    crossings_limit: int | None  # Anhøj
    signals: tuple[Signal, ...]
    warning: str | None


@dataclass(frozen=True)
class RunChart:
    """The analysis of a whole series: its phases, in order."""

    method: str
    phases: tuple[Phase, ...] = field(default_factory=tuple)

    @property
    def signals(self) -> tuple[Signal, ...]:
        """Return every phase's signals, in order."""
        return tuple(signal for phase in self.phases for signal in phase.signals)

    def signal_points(self) -> list[int]:
        """Return the positions of every point some signal covers, each once, in order."""
        covered = set()
        for signal in self.signals:
            if signal.rule not in ("too_few_runs", "too_many_runs", "few_crossings"):
                covered.update(range(signal.first, signal.last + 1))
        return sorted(covered)


def runs_distribution(n1: int, n2: int) -> dict[int, int]:
    """Return, for each number of runs r, how many of the C(n1+n2, n1) orderings have r runs."""
    if n1 == 0 or n2 == 0:
        return {1: 1}
    counts = {}
    for runs in range(2, n1 + n2 + 1):
        k, odd = divmod(runs, 2)
        if odd:
            ways = math.comb(n1 - 1, k) * math.comb(n2 - 1, k - 1) + math.comb(n1 - 1, k - 1) * math.comb(
                n2 - 1, k
            )
        else:
            ways = 2 * math.comb(n1 - 1, k - 1) * math.comb(n2 - 1, k - 1)
        if ways:
            counts[runs] = ways
    return counts


def runs_limits(useful: int) -> tuple[int, int]:
    """Return the fewest and most runs expected by chance in `useful` points (the IHI runs table)."""
    below = useful // 2
    counts = runs_distribution(below, useful - below)
    total = math.comb(useful, below)
    tail_numerator, tail_denominator = RUNS_TAIL

    def first_outside_tail(ordered: list[int]) -> int:
        cumulative = 0
        for runs in ordered:
            cumulative += counts[runs]
            if cumulative * tail_denominator > total * tail_numerator:
                return runs
        return ordered[-1]

    return first_outside_tail(sorted(counts)), first_outside_tail(sorted(counts, reverse=True))


def longest_run_limit(useful: int) -> int:
    """Return the longest run expected by chance in `useful` points: round(log2(n)) + 3 (Anhøj)."""
    return round(math.log2(useful)) + 3


def crossings_limit(useful: int) -> int:
    """Return the fewest crossings expected by chance: the 5th percentile of Binomial(n - 1, 0.5).

    The percentile is the smallest x with P(X <= x) >= 0.05, as R's qbinom gives it; computed
    exactly with whole numbers: sum of C(n - 1, k) for k <= x, against 2^(n - 1) / 20.
    """
    trials = useful - 1
    numerator, denominator = CROSSINGS_QUANTILE
    cumulative = 0
    for crossings in range(trials + 1):
        cumulative += math.comb(trials, crossings)
        if cumulative * denominator >= numerator * 2**trials:
            return crossings
    return trials


def _sides(values: Sequence[float], centre: float) -> list[int]:
    return [ABOVE if value > centre else BELOW if value < centre else 0 for value in values]


def _runs_of_sides(sides: list[int]) -> list[tuple[int, int, int, int]]:
    """Return (side, length, first, last) of each run of useful points; points on the line are skipped."""
    runs: list[tuple[int, int, int, int]] = []
    for position, side in enumerate(sides):
        if side == 0:
            continue
        if runs and runs[-1][0] == side:
            kept_side, length, first, _last = runs[-1]
            runs[-1] = (kept_side, length + 1, first, position)
        else:
            runs.append((side, 1, position, position))
    return runs


def _trends(values: Sequence[float]) -> list[tuple[int, int, int, int]]:
    """Return (direction, points counted, first, last) of each trend of TREND_POINTS or more.

    A value equal to the one before it counts once: it neither adds to nor breaks a trend.
    """
    distinct: list[tuple[float, int, int]] = []  # value, first and last position it holds
    for position, value in enumerate(values):
        if distinct and value == distinct[-1][0]:
            distinct[-1] = (value, distinct[-1][1], position)
        else:
            distinct.append((value, position, position))
    found = []
    start = 0
    while start < len(distinct) - 1:
        direction = 1 if distinct[start + 1][0] > distinct[start][0] else -1
        end = start + 1
        while end + 1 < len(distinct) and (distinct[end + 1][0] - distinct[end][0]) * direction > 0:
            end += 1
        if end - start + 1 >= TREND_POINTS:
            found.append((direction, end - start + 1, distinct[start][1], distinct[end][2]))
        start = end
    return found


def _label(labels: Sequence[str] | None, position: int) -> str:
    return labels[position] if labels is not None else f"point {position + 1}"


def _times(count: int) -> str:
    return {0: "no times", 1: "once", 2: "twice"}.get(count, f"{count} times")


def _side_word(side: int) -> str:
    return "above" if side == ABOVE else "below"


def _ihi_signals(
    values: Sequence[float], runs: list, offset: int, useful: int, labels: Sequence[str] | None
) -> tuple[list[Signal], tuple[int, int]]:
    signals = []
    for side, length, first, last in runs:
        if length >= SHIFT_POINTS:
            signals.append(
                Signal(
                    "shift",
                    offset + first,
                    offset + last,
                    f"shift: {length} points {_side_word(side)} the median from "
                    f"{_label(labels, offset + first)}",
                )
            )
    for direction, counted, first, last in _trends(values):
        signals.append(
            Signal(
                "trend",
                offset + first,
                offset + last,
                f"trend: {counted} points all going {'up' if direction > 0 else 'down'} from "
                f"{_label(labels, offset + first)}",
            )
        )
    fewest, most = runs_limits(useful)
    last_position = offset + len(values) - 1
    if len(runs) < fewest:
        signals.append(
            Signal(
                "too_few_runs",
                offset,
                last_position,
                f"too few runs: {len(runs)} runs in {useful} useful points (fewer than {fewest} is unusual)",
            )
        )
    if len(runs) > most:
        signals.append(
            Signal(
                "too_many_runs",
                offset,
                last_position,
                f"too many runs: {len(runs)} runs in {useful} useful points (more than {most} is unusual)",
            )
        )
    return signals, (fewest, most)


def _anhoej_signals(
    values: Sequence[float], runs: list, offset: int, useful: int, labels: Sequence[str] | None
) -> tuple[list[Signal], int, int]:
    signals = []
    longest_allowed = longest_run_limit(useful)
    for side, length, first, last in runs:
        if length > longest_allowed:
            signals.append(
                Signal(
                    "long_run",
                    offset + first,
                    offset + last,
                    f"long run: {length} points {_side_word(side)} the median from "
                    f"{_label(labels, offset + first)} (more than {longest_allowed} is unusual)",
                )
            )
    fewest_crossings = crossings_limit(useful)
    crossings = len(runs) - 1
    if crossings < fewest_crossings:
        signals.append(
            Signal(
                "few_crossings",
                offset,
                offset + len(values) - 1,
                f"too few crossings: the median is crossed {_times(crossings)} in {useful} useful points "
                f"(fewer than {fewest_crossings} is unusual)",
            )
        )
    return signals, longest_allowed, fewest_crossings


def analyse_phase(
    values: Sequence[float],
    *,
    method: str = IHI,
    baseline: int | None = DEFAULT_BASELINE_POINTS,
    offset: int = 0,
    labels: Sequence[str] | None = None,
) -> Phase:
    """Analyse one phase: centre line from its first `baseline` points (all when None), then the rules.

    `offset` is the position of the phase's first point in the whole series, so that signals
    and labels refer to the whole series.
    """
    if method not in METHODS:
        raise ValueError(f"unknown run-chart method {method!r}")
    if not values:
        raise ValueError("a phase needs at least one point")
    baseline_count = len(values) if baseline is None else max(1, min(baseline, len(values)))
    centre = statistics.median(values[:baseline_count])
    runs = _runs_of_sides(_sides(values, centre))
    useful = sum(length for _side, length, _first, _last in runs)
    longest = max((length for _side, length, _first, _last in runs), default=0)
    signals: list[Signal] = []
    runs_table = longest_limit = crossings_minimum = None
    warning = None
    if useful < MIN_USEFUL_POINTS:
        warning = (
            f"Only {useful} useful point{'s' if useful != 1 else ''} (not on the median) in this phase: "
            f"the rules need at least {MIN_USEFUL_POINTS}, so none were applied."
        )
    elif method == IHI:
        signals, runs_table = _ihi_signals(values, runs, offset, useful, labels)
    else:
        signals, longest_limit, crossings_minimum = _anhoej_signals(values, runs, offset, useful, labels)
    return Phase(
        first=offset,
        last=offset + len(values) - 1,
        centre=float(centre),
        baseline_last=offset + baseline_count - 1,
        useful=useful,
        runs=len(runs),
        crossings=max(len(runs) - 1, 0),
        longest_run=longest,
        runs_limits=runs_table,
        longest_run_limit=longest_limit,
        crossings_limit=crossings_minimum,
        signals=tuple(signals),
        warning=warning,
    )


def analyse(
    values: Sequence[float],
    *,
    method: str = IHI,
    baseline: int | None = DEFAULT_BASELINE_POINTS,
    phase_starts: Sequence[int] = (),
    labels: Sequence[str] | None = None,
) -> RunChart:
    """Analyse a series: split it into phases at `phase_starts`, each with its own centre line.

    Each phase's median comes from its first `baseline` points, frozen and extended over the
    rest of the phase (None: from all its points). `labels` name the points in the sentences
    that explain each signal (a month, say); without them, points are numbered from 1.
    """
    if labels is not None and len(labels) != len(values):
        raise ValueError("labels must name every value")
    values = [float(value) for value in values]
    if any(math.isnan(value) for value in values):
        raise ValueError("a run chart cannot plot a missing value; leave the point out")
    cuts = sorted({start for start in phase_starts if 0 < start < len(values)})
    bounds = list(zip([0, *cuts], [*cuts, len(values)], strict=True))
    phases = tuple(
        analyse_phase(values[start:end], method=method, baseline=baseline, offset=start, labels=labels)
        for start, end in bounds
        if end > start
    )
    return RunChart(method=method, phases=phases)
