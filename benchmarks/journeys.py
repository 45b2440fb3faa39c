"""Benchmark the journey engine: children per second, vectorised against a per-child loop.

Run with `make bench` (or `python -m benchmarks.journeys`). The baseline evaluates the same
children one at a time, as a loop per child would, in the same process and on the same data,
so the ratio holds on a noisy machine where absolute times do not.
"""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd

from pace_dash.domain import journeys
from pace_dash.domain.rules import load_rules_file
from pace_dash.settings import TARGETS_FILE
from pace_dash.store.demo import generate_demo

TODAY = dt.date(2026, 11, 29)
SIZES = (2_000, 20_000)
BASELINE_SAMPLE = 200  # children evaluated one at a time for the baseline rate
REPEATS = 3


def engine_inputs(children: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (events, rules) for a demo data set, shaped as the store returns them."""
    data = generate_demo(children=children, seed=2014, today=TODAY)
    events = data.events.merge(
        data.children[["id", "la_id"]].rename(columns={"id": "child_id"}), on="child_id"
    )
    events["on_date"] = pd.to_datetime(events["on_date"]).dt.as_unit("ns")
    defaults = load_rules_file(TARGETS_FILE).assign(la_id=pd.NA)
    rules = pd.concat([defaults, data.rule_overrides], ignore_index=True).astype({"la_id": "Int64"})
    return events[["child_id", "la_id", "code", "on_date", "attribute"]], rules


def best_seconds(action, repeats: int = REPEATS) -> float:
    """Return the fastest of several timed runs of an action."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def per_child_loop(events: pd.DataFrame, rules: pd.DataFrame) -> None:
    """Evaluate each child on its own: the baseline a loop per child would cost."""
    for _child_id, own in events.groupby("child_id"):
        journeys.evaluate(own, rules, TODAY)


def measure(sizes: tuple[int, ...] = SIZES) -> dict[int, dict[str, float]]:
    """Return, for each size, the engine's speed vectorised and in a per-child loop, on the same data."""
    results = {}
    for size in sizes:
        events, rules = engine_inputs(size)
        evaluation = journeys.evaluate(events, rules, TODAY)
        vectorised = best_seconds(lambda events=events, rules=rules: journeys.evaluate(events, rules, TODAY))
        summarise = best_seconds(
            lambda events=events, evaluation=evaluation: journeys.summarise(events, evaluation, TODAY)
        )
        sample_ids = sorted(events["child_id"].unique())[:BASELINE_SAMPLE]
        sample = events[events["child_id"].isin(sample_ids)]
        loop = best_seconds(lambda sample=sample, rules=rules: per_child_loop(sample, rules), repeats=1)
        results[size] = {
            "events": len(events),
            "rows": len(evaluation),
            "evaluate_s": vectorised,
            "children_per_s": size / vectorised,
            "summarise_s": summarise,
            "loop_children_per_s": len(sample_ids) / loop,
        }
    return results


def main() -> None:
    """Print the benchmark table."""
    print(f"Journey engine benchmark, today = {TODAY}, best of {REPEATS} runs")
    header = f"{'children':>9} {'events':>9} {'rows out':>9} {'evaluate s':>11} {'children/s':>11} "
    header += f"{'summarise s':>12} {'loop children/s':>16} {'speed-up':>9}"
    print(header)
    for size, result in measure().items():
        rate, loop_rate = result["children_per_s"], result["loop_children_per_s"]
        print(
            f"{size:>9,} {result['events']:>9,} {result['rows']:>9,} {result['evaluate_s']:>11.3f} "
            f"{rate:>11,.0f} {result['summarise_s']:>12.3f} {loop_rate:>16,.0f} {rate / loop_rate:>8.0f}x"
        )
    print(f"(loop rate measured on the first {BASELINE_SAMPLE} children of each set)")


if __name__ == "__main__":
    main()
