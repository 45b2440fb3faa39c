"""The import command's progress bar: every stage an import reports is known, in order."""

from __future__ import annotations

import io

from pace_dash.cli import ProgressBar
from pace_dash.settings import PROJECT_ROOT
from pace_dash.store.importer import IMPORT_STAGES, import_tracker
from tests.conftest import TODAY


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_an_import_reports_every_stage_of_the_bar_in_order(sqlite_engine):
    seen: list[str] = []
    wide = (PROJECT_ROOT / "data" / "samples" / "wide.csv").read_bytes()
    report = import_tracker(
        sqlite_engine, wide, authority="GLM", authority_name="Glenmorven Council (fictional)",
        filename="wide.csv", today=TODAY, progress=seen.append,
    )  # fmt: skip
    assert report.written
    assert tuple(seen) == IMPORT_STAGES


def test_the_bar_fills_as_stages_pass_and_redraws_in_place_on_a_terminal():
    plain, terminal = io.StringIO(), Terminal()
    for stream in (plain, terminal):
        bar = ProgressBar(("reading", "writing", "done"), stream=stream)
        for stage in ("reading", "writing", "done"):
            bar(stage)
    lines = plain.getvalue().splitlines()
    assert [line.split("]")[0] for line in lines] == [
        "[" + "#" * 8 + "-" * 16,
        "[" + "#" * 16 + "-" * 8,
        "[" + "#" * 24,
    ]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 3
    assert drawn.count("\n") == 1  # one line, redrawn, ended when done
    assert drawn.endswith("\n")
