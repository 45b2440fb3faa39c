"""Benchmark the tracker import: a 100,000-row event log into a fresh SQLite database.

Run with `make bench` (or `python -m benchmarks.imports`). The file is a fictional, deterministic
event log in the shape of tracker-format.md: many children, several events each, dates as a council
types them, labels and codes mixed, routes, orders and reasons in Detail, a few notes. The baseline
is `pandas.read_csv` of the same bytes, timed in the same run, so the ratio holds on a noisy machine
where absolute times do not. The import is timed whole (read, validate, compare, write, commit); its
children are imported first from a wide tracker, untimed, because an event log may only name known
children. The re-import of the same file (nothing changes) is timed too.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from pace_dash.store.db import create_schema, make_engine
from pace_dash.store.importer import import_tracker
from pace_dash.store.schema import LocalAuthority

TODAY = dt.date(2026, 11, 29)
AUTHORITY = "BNC"
ROWS = 100_000
SEED = 2014
GOAL_RATIO = 20
REPEATS = 3
READS_PER_REPEAT = 3

# Days after accommodation of each event a child may reach, in journey order (fictional spacing).
JOURNEY: tuple[tuple[str, int], ...] = (
    ("accommodated", 0),
    ("review_2wk", 14),
    ("lac_review", 42),
    ("lac_review", 133),
    ("legal_advice", 200),
    ("lac_review", 315),
    ("permanence_recommendation", 330),
    ("panel", 420),
    ("adm_decision", 432),
    ("lac_review", 497),
    ("petition_lodged", 520),
    ("order_granted", 730),
    ("ceased", 731),
)
# How the same event is typed in different trackers: its code or its label, in any case.
SPELLINGS: dict[str, tuple[str, ...]] = {
    "accommodated": ("accommodated", "Looked after and accommodated"),
    "review_2wk": ("review_2wk", "Two-week LAC review"),
    "lac_review": ("lac_review", "LAC review", "LAC REVIEW"),
    "legal_advice": ("legal_advice", "Legal advice"),
    "permanence_recommendation": ("permanence_recommendation", "Permanence recommendation"),
    "panel": ("panel", "Adoption & Permanence Panel"),
    "adm_decision": ("adm_decision", "ADM"),
    "petition_lodged": ("petition_lodged", "Application lodged in court"),
    "order_granted": ("order_granted", "Final order"),
    "ceased": ("ceased", "Ceases to be looked after"),
}
DETAILS: dict[str, tuple[str, ...]] = {
    "permanence_recommendation": ("po", "Permanence order", "adoption", "poa", "Return home", "kinship"),
    "order_granted": ("po", "poa", "adoption_order", "kco"),
    "ceased": ("adoption", "home", "kinship", "po", "Moved to another area"),
}
NOTES = ("Rescheduled: chair unavailable", "Parents did not attend", "Interpreter booked")
NOTE_RATE = 0.05


def children_for(rows: int) -> int:
    """Return how many children an event log of `rows` rows covers (seven or eight events each)."""
    return max(1, rows // 7)


def _dates_text(days: np.ndarray, iso: np.ndarray) -> np.ndarray:
    # Day-first as most trackers are typed, some ISO: both are accepted.
    dates = pd.to_datetime(days, unit="D")
    return np.where(iso, dates.strftime("%Y-%m-%d"), dates.strftime("%d/%m/%Y"))


def generate(rows: int = ROWS, seed: int = SEED) -> tuple[bytes, bytes]:
    """Return (wide tracker of the children, event log of `rows` rows) as CSV bytes."""
    rng = np.random.default_rng(seed)
    children = children_for(rows)
    references = np.array([f"{AUTHORITY}-{number:06d}" for number in range(1, children + 1)])
    epoch = (np.datetime64("2012-01-01") - np.datetime64("1970-01-01")).astype(int)
    accommodated = epoch + rng.integers(0, 3650, children)
    births = accommodated - rng.integers(30, 15 * 365, children)
    wide = pd.DataFrame(
        {
            "Child reference": references,
            "Date of birth": _dates_text(births, np.zeros(children, bool)),
            "Date accommodated": _dates_text(accommodated, np.zeros(children, bool)),
        }
    )
    # Each child reaches a number of the journey's events (at least two), about 7.7 on average,
    # then the whole log is cut to exactly `rows` rows.
    reached = np.clip(rng.poisson(7.7, children), 2, len(JOURNEY))
    child = np.repeat(np.arange(children), reached)
    step = np.concatenate([np.arange(count) for count in reached])
    if len(child) < rows:
        raise ValueError("the journeys are too short for the rows asked for")
    child, step = child[:rows], step[:rows]
    codes = np.array([code for code, _days in JOURNEY])[step]
    offsets = np.array([days for _code, days in JOURNEY])[step] + rng.integers(0, 10, rows)
    on_days = accommodated[child] + offsets  # the latest is years before TODAY
    spelling = rng.integers(0, 3, rows)
    event_text = np.array(
        [SPELLINGS[code][pick % len(SPELLINGS[code])] for code, pick in zip(codes, spelling, strict=True)]
    )
    detail = np.full(rows, "", dtype=object)
    for code, choices in DETAILS.items():
        mine = codes == code
        detail[mine] = np.array(choices, dtype=object)[rng.integers(0, len(choices), mine.sum())]
    note = np.where(
        rng.random(rows) < NOTE_RATE, np.array(NOTES, dtype=object)[rng.integers(0, len(NOTES), rows)], ""
    )
    log = pd.DataFrame(
        {
            "Child reference": references[child],
            "Event": event_text,
            "Date": _dates_text(on_days, rng.random(rows) < 0.1),
            "Detail": detail,
            "Note": note,
        }
    )
    return wide.to_csv(index=False).encode(), log.to_csv(index=False).encode()


def seconds(action) -> float:
    """Return how long an action takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _import(engine, data: bytes, filename: str):
    return import_tracker(engine, data, authority=AUTHORITY, filename=filename, today=TODAY, confirm=True)


def measure(rows: int = ROWS, repeats: int = REPEATS) -> dict:
    """Time read_csv, a first import and a re-import of an event log of `rows` rows on SQLite."""
    wide, log = generate(rows)
    reads, imports, again = [], [], []
    with tempfile.TemporaryDirectory(prefix="pace-bench-") as folder:
        for attempt in range(repeats):
            # The baseline is timed between the imports, so a busy machine slows both alike.
            reads += [seconds(lambda: pd.read_csv(io.BytesIO(log))) for _ in range(READS_PER_REPEAT)]
            engine = make_engine(f"sqlite:///{Path(folder) / f'import-{attempt}.db'}")
            create_schema(engine)
            with Session(engine) as session, session.begin():
                session.add(LocalAuthority(code=AUTHORITY, name="Bennachie Council (fictional)"))
            _import(engine, wide, "children.csv")
            started = time.perf_counter()
            report = _import(engine, log, "events.csv")
            imports.append(time.perf_counter() - started)
            counted = report.events.new + report.events.changed + report.events.unchanged
            if report.errors or not report.written or counted != rows:
                raise RuntimeError(f"the benchmark file did not import whole:\n{report.summary()[:2000]}")
            started = time.perf_counter()
            repeat = _import(engine, log, "events.csv")
            again.append(time.perf_counter() - started)
            if repeat.changes or repeat.events.unchanged != rows:
                raise RuntimeError("the re-import changed something")
            engine.dispose()
    read_s, import_s, reimport_s = min(reads), min(imports), min(again)
    return {
        "rows": rows,
        "children": children_for(rows),
        "file_mb": len(log) / 1024 / 1024,
        "read_csv_s": read_s,
        "import_s": import_s,
        "reimport_s": reimport_s,
        "read_csv_rows_per_s": rows / read_s,
        "import_rows_per_s": rows / import_s,
        "reimport_rows_per_s": rows / reimport_s,
        "ratio": import_s / read_s,
        "reimport_ratio": reimport_s / read_s,
        "goal_ratio": GOAL_RATIO,
    }


def main() -> None:
    """Print the benchmark table."""
    result = measure()
    print(
        f"Tracker import benchmark: {result['rows']:,}-row event log ({result['file_mb']:.1f} MB, "
        f"{result['children']:,} children) into a fresh SQLite database, best of {REPEATS} runs"
    )
    print(f"{'step':<22} {'seconds':>8} {'rows/s':>11} {'x read_csv':>11}")
    for label, seconds, rate, ratio in (
        ("pandas.read_csv", result["read_csv_s"], result["read_csv_rows_per_s"], 1.0),
        ("import (all new)", result["import_s"], result["import_rows_per_s"], result["ratio"]),
        (
            "re-import (no change)",
            result["reimport_s"],
            result["reimport_rows_per_s"],
            result["reimport_ratio"],
        ),
    ):
        print(f"{label:<22} {seconds:>8.3f} {rate:>11,.0f} {ratio:>10.1f}x")
    verdict = "met" if result["ratio"] <= GOAL_RATIO else "NOT met"
    print(f"Goal: the whole import within {GOAL_RATIO}x of read_csv: {verdict}.")


if __name__ == "__main__":
    main()
