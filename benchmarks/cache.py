"""Benchmark the result cache: cold and warm server-side time of the cohort timeline and a child's page.

Run with `python -m benchmarks.cache` (part of `make bench`). For 2,000 and 20,000 demo children:
a SQLite demo database in a temporary directory, the app built in this process with its own
cache directory, and an administrator signed in through the real sign-in form. Each request is
a POST to `/_dash-update-component` through Flask's test client, so the time is the server's
alone (the guard, Dash's dispatch, the callback and the JSON), with no network. "Cold" runs with
an empty cache, which is what every request cost before caching; "warm" asks again: the same
filters, or new filters on the cached cohort; the same child, or another child of the same
authority, whose own timeline is new but whose comparison with the authority comes from the
cache. Every view of a child is still audited: the page's costly parts are cached, not its call.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.load import (
    CALLBACK_PATH,
    CSRF_COOKIE,
    CSRF_HEADER,
    DEMO_PASSWORD,
    SIGN_IN_PATH,
    TODAY,
    callback_body,
    case_references,
    demo_database,
    layout_values,
)

SIZES = (2_000, 20_000)
WARM_REPEATS = 5
ROUTER = "_pages_content.children"
TIMELINE = "cohort-timeline-graph.figure"


class SignedInClient:
    """Flask's test client signed in as a demo account, sending callbacks as the renderer does."""

    def __init__(self, app, username: str = "demo-admin", password: str = DEMO_PASSWORD):
        self.app = app
        self.client = app.server.test_client()
        self.client.get(SIGN_IN_PATH)
        token = self._cookie(CSRF_COOKIE)
        answer = self.client.post(
            SIGN_IN_PATH,
            data={"username": username, "password": password, "csrf_token": token or "", "next": "/"},
        )
        if answer.status_code != 302:
            raise RuntimeError(f"sign-in failed: HTTP {answer.status_code}")
        self.dependencies = [
            item
            for item in self.client.get("/_dash-dependencies").get_json()
            if not item.get("clientside_function")
        ]
        self.values: dict = {}

    def _cookie(self, name: str) -> str | None:
        cookie = self.client.get_cookie(name)
        return cookie.value if cookie else None

    def dependency(self, output_part: str) -> dict:
        """Return the callback whose output names this component property."""
        found = [item for item in self.dependencies if output_part in item["output"]]
        if not found:
            outputs = [item["output"] for item in self.dependencies]
            raise RuntimeError(f"no callback for {output_part} among {outputs}")
        return found[0]

    def post(self, output_part: str, changed: list[str]):
        """Run a callback with the current values; return Flask's response."""
        body = json.dumps(callback_body(self.dependency(output_part), self.values, changed))
        headers = {CSRF_HEADER: self._cookie(CSRF_COOKIE) or ""}
        return self.client.post(CALLBACK_PATH, data=body, content_type="application/json", headers=headers)

    def call(self, output_part: str, changed: list[str]) -> tuple[float, dict]:
        """Run a callback with the current values; return (seconds, parsed answer); fail on an error."""
        started = time.perf_counter()
        answer = self.post(output_part, changed)
        seconds = time.perf_counter() - started
        if answer.status_code != 200 or "shell-error-alert" in answer.get_data(as_text=True):
            raise RuntimeError(
                f"{output_part}: HTTP {answer.status_code} {answer.get_data(as_text=True)[:300]}"
            )
        return seconds, answer.get_json()

    def open_page(self, path: str) -> float:
        """Run the router callback for a path and take the page's values; return its seconds."""
        self.values = {("_pages_location", "pathname"): path, ("_pages_location", "search"): ""}
        seconds, answer = self.call(ROUTER, ["_pages_location.pathname", "_pages_location.search"])
        layout_values(answer["response"]["_pages_content"]["children"], self.values)
        return seconds


def _median(action, repeats: int = WARM_REPEATS) -> float:
    return statistics.median(action() for _ in range(repeats))


def measure_size(children: int, directory: Path) -> dict[str, float]:
    """Return cold and warm seconds of the cohort timeline and the child page at one size."""
    from pace_dash.app import create_app  # imported here: Dash is slow to import
    from pace_dash.settings import Settings
    from pace_dash.web import EXTENSION_KEY

    database_url = demo_database(directory, children)
    references = case_references(database_url)
    settings = Settings(
        database_url=database_url, today=dt.date.fromisoformat(TODAY), cache_dir=directory / "cache"
    )
    app = create_app(settings)
    cache = app.server.extensions[EXTENSION_KEY].cache
    client = SignedInClient(app)
    client.open_page("/cohort")  # the page's controls, as the browser has them
    timeline = ["cohort-filter-authority.value"]  # as after a filter change
    cache.clear()
    cohort_cold = client.call(TIMELINE, timeline)[0]
    cohort_warm = _median(lambda: client.call(TIMELINE, timeline)[0])
    codes = iter(["STC", "LAR", "GLM", "STC"])

    def new_filter() -> float:
        client.values[("cohort-filter-authority", "value")] = [next(codes, "GLM")]
        return client.call(TIMELINE, timeline)[0]

    cohort_new_filter = _median(new_filter, 3)

    cache.clear()
    first, *others = references["GLM"][10 : 11 + WARM_REPEATS]
    child_cold = client.open_page(f"/child/{first}")
    child_warm = _median(lambda: client.open_page(f"/child/{first}"))
    # Another child of the same authority: its own timeline, the authority's comparison from the cache.
    child_another = statistics.median(client.open_page(f"/child/{reference}") for reference in others)
    cache.close()
    return {
        "cohort_cold_s": cohort_cold,
        "cohort_warm_s": cohort_warm,
        "cohort_new_filter_s": cohort_new_filter,
        "child_cold_s": child_cold,
        "child_warm_s": child_warm,
        "child_another_s": child_another,
    }


def _measure_in_scratch(children: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="pace-cache-bench-") as scratch:
        return measure_size(children, Path(scratch))


def measure(sizes: tuple[int, ...] = SIZES) -> dict[int, dict[str, float]]:
    """Return, for each size, the cold and warm server-side seconds of the two callbacks.

    Each size runs in a process of its own: Dash gives the pages' callbacks to the first app of a
    process that serves a request, so a second app in the same process would have none.
    """
    context = multiprocessing.get_context("spawn")
    results = {}
    for size in sizes:
        with context.Pool(1) as pool:
            results[size] = pool.apply(_measure_in_scratch, (size,))
    return results


def main() -> None:
    """Print the benchmark table."""
    print("Result cache: server-side seconds per request (Flask test client, signed in), cold and warm")
    print(f"{'children':>9} {'callback':<26} {'cold s':>8} {'warm s':>8} {'speed-up':>9}")
    for size, result in measure().items():
        rows = (
            ("cohort timeline", result["cohort_cold_s"], result["cohort_warm_s"]),
            ("cohort, new filter", result["cohort_cold_s"], result["cohort_new_filter_s"]),
            ("child page", result["child_cold_s"], result["child_warm_s"]),
            ("child page, another child", result["child_cold_s"], result["child_another_s"]),
        )
        for name, cold, warm in rows:
            print(f"{size:>9,} {name:<26} {cold:>8.3f} {warm:>8.3f} {cold / warm:>8.1f}x")


if __name__ == "__main__":
    main()
