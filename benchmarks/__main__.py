"""Every benchmark in one table: `make bench` (or `python -m benchmarks`).

Each row is measured in this run beside its baseline, so the ratios hold on a noisy machine where
absolute times do not: the journey engine against a loop per child; the cohort timeline and
child page callbacks (server side, through Dash's endpoint) with the result cache warm against
cold, which is what they cost before caching; the cohort figure's bytes against px.timeline's;
the tracker import against pandas.read_csv of the same file; a gunicorn worker's memory at
20,000 children against the master's after start-up (the app and libraries every worker shares).
The machine's cores, processor and load are printed above the table.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
from collections.abc import Callable

from benchmarks import cache, cohort, journeys, memory

Row = tuple[str, str, str, str, str]  # measure, size, ours, baseline, ratio


def _machine() -> str:
    processor = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo").read().splitlines():  # noqa: SIM115 - read at once
            if line.startswith("model name"):
                processor = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{os.cpu_count()} cores, {processor}; Python {platform.python_version()}; load average {load}"


def _journey_rows() -> list[Row]:
    rows = []
    for size, result in journeys.measure().items():
        rate, loop = result["children_per_s"], result["loop_children_per_s"]
        rows.append(
            ("journey engine, children/s", f"{size:,}", f"{rate:,.0f}", f"{loop:,.0f} (loop per child)",
             f"{rate / loop:.0f}x faster")
        )  # fmt: skip
    return rows


def _callback_rows() -> list[Row]:
    rows = []
    for size, result in cache.measure().items():
        for name, warm, cold in (
            ("cohort timeline callback, s", result["cohort_warm_s"], result["cohort_cold_s"]),
            ("  new filters, cohort cached, s", result["cohort_new_filter_s"], result["cohort_cold_s"]),
            ("child page callback, s", result["child_warm_s"], result["child_cold_s"]),
            ("  another child, same authority, s", result["child_another_s"], result["child_cold_s"]),
        ):
            rows.append(
                (name, f"{size:,}", f"{warm:.3f}", f"{cold:.3f} (uncached)", f"{cold / warm:.1f}x faster")
            )
    return rows


def _figure_rows() -> list[Row]:
    rows = []
    for size, result in cohort.measure(sizes=(2_000, 20_000), browser=False).items():
        ours, px = result["aligned_bytes"], result["px_bytes"]
        rows.append(
            ("cohort figure, MB", f"{size:,}", f"{ours / 1e6:.2f}", f"{px / 1e6:.2f} (px.timeline)",
             f"{px / ours:.1f}x smaller")
        )  # fmt: skip
    return rows


def _import_rows() -> list[Row]:
    try:
        imports = importlib.import_module("benchmarks.imports")
        measure = imports.measure
    except (ImportError, AttributeError):
        return [("tracker import, rows/s", "n/a", "n/a", "n/a", "n/a")]
    result = measure(rows=100_000)
    ours, read = result["import_rows_per_s"], result["read_csv_rows_per_s"]
    return [
        ("tracker import, rows/s", f"{result['rows']:,} rows", f"{ours:,.0f}", f"{read:,.0f} (read_csv)",
         f"{read / ours:.1f}x slower")
    ]  # fmt: skip


def _memory_rows() -> list[Row]:
    result = memory.measure()
    worker, master = result["worker_rss_max_mib"], result["master_rss_mib"]
    children = f"{result['children']:,}"
    return [
        ("gunicorn worker RSS, MiB", children, f"{worker:.0f} (largest)", f"{master:.0f} (master)",
         f"+{worker - master:.0f} MiB"),
        ("  its PSS (shared pages split), MiB", children, f"{max(result['worker_pss_mib']):.0f}", "",
         f"peak RSS {result['worker_peak_mib']:.0f}"),
    ]  # fmt: skip


SECTIONS: tuple[tuple[str, Callable[[], list[Row]]], ...] = (
    ("journey engine", _journey_rows),
    ("callbacks and cache", _callback_rows),
    ("cohort figure", _figure_rows),
    ("tracker import", _import_rows),
    ("memory", _memory_rows),
)


def main() -> None:
    """Run every benchmark and print one table."""
    print(f"Machine: {_machine()}", flush=True)
    started = time.perf_counter()
    rows: list[Row] = []
    for name, section in SECTIONS:
        print(f"  measuring {name}...", file=sys.stderr, flush=True)
        rows.extend(section())
    header: Row = ("measure", "size", "ours", "baseline (same run)", "ratio")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    line = "  ".join(
        f"{{:<{width}}}" if column < 2 else f"{{:>{width}}}" for column, width in enumerate(widths)
    )
    print(line.format(*header))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print(line.format(*row))
    print(f"({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
