"""Measure resident memory (RSS) per gunicorn worker with 20,000 demo children, after warming the pages.

Run with `python -m benchmarks.memory` (part of `make bench`). It builds the demo database in a
temporary directory, starts gunicorn as `make serve` does (3 workers, preloaded) on a free
loopback port, signs in as the demo administrator and opens every page several times (overview,
cohort explorer with its tabs, run charts, drift watch list, a few children's timelines), so
that each worker has served each page; then it reads VmRSS (now) and VmHWM (peak) of the master
and of each worker from /proc/<pid>/status.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from benchmarks.load import (
    DEMO_PASSWORD,
    WORKERS,
    Browser,
    Result,
    User,
    case_references,
    demo_database,
    gunicorn,
)

CHILDREN = 20_000
ROUNDS = 4  # passes over the pages; the kernel hands each request to any worker
PAGES = ("/", "/cohort", "/qi", "/watchlist")


def status_kib(pid: int, field: str, table: str = "status") -> int:
    """Return a memory field of /proc/<pid>/status (or smaps_rollup) in KiB."""
    for line in Path(f"/proc/{pid}/{table}").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def children_of(pid: int) -> list[int]:
    """Return the ids of a process's children, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def warm(address: str, references: dict[str, list[str]], rounds: int = ROUNDS) -> list[Result]:
    """Open every page several times as the demo administrator; return the requests' outcomes."""
    results: list[Result] = []
    browser = Browser(address, User(0, "demo-admin", DEMO_PASSWORD, "admin", ()), results.append)
    browser.sign_in()
    browser.start()
    rng = random.Random(2014)
    for _ in range(rounds):
        for path in PAGES:
            browser.open_page(path, path)
            if path == "/cohort":
                for tab in ("summaries", "pathway", "delay", "compare", "timeline"):
                    browser.change("cohort-tabs", "active_tab", tab, "cohort tab")
        for code, listed in references.items():
            browser.open_page(f"/child/{rng.choice(listed)}", f"child {code}")
    return results


def measure(children: int = CHILDREN, workers: int = WORKERS) -> dict[str, float]:
    """Return the RSS of the master and of each worker after warming, their PSS and the peak, in MiB."""
    with tempfile.TemporaryDirectory(prefix="pace-memory-") as scratch:
        scratch = Path(scratch)
        database_url = demo_database(scratch, children)
        references = case_references(database_url)
        with gunicorn(database_url, scratch / "gunicorn.log", workers) as (address, server):
            results = warm(address, references)
            failures = [result for result in results if result.error]
            if failures:
                raise RuntimeError(f"warming failed: {failures[0].label}: {failures[0].error}")
            pids = children_of(server.pid)
            rss = [status_kib(pid, "VmRSS") / 1024 for pid in pids]
            peak = [status_kib(pid, "VmHWM") / 1024 for pid in pids]
            # RSS counts the pages a worker still shares with the master it forked from; PSS splits them.
            pss = [status_kib(pid, "Pss", "smaps_rollup") / 1024 for pid in pids]
            master = status_kib(server.pid, "VmRSS") / 1024
    return {
        "children": children,
        "workers": len(pids),
        "master_rss_mib": master,
        "worker_rss_mib": rss,
        "worker_rss_max_mib": max(rss),
        "worker_peak_mib": max(peak),
        "worker_pss_mib": pss,
        "requests": len(results),
    }


def main() -> None:
    """Print the measurement."""
    result = measure()
    print(f"Memory with {result['children']:,} demo children, {result['workers']} gunicorn workers, warmed:")
    print(f"  master RSS {result['master_rss_mib']:.0f} MiB")
    for number, (rss, pss) in enumerate(
        zip(result["worker_rss_mib"], result["worker_pss_mib"], strict=True), 1
    ):
        print(f"  worker {number} RSS {rss:.0f} MiB, PSS {pss:.0f} MiB (shared pages split with the master)")
    print(f"  largest worker peak (VmHWM) {result['worker_peak_mib']:.0f} MiB; {result['requests']} requests")


if __name__ == "__main__":
    main()
