"""Benchmark the cohort timeline at 1,000, 10,000 and 20,000 demo children against px.timeline.

Run with `make bench` (or `python -m benchmarks.cohort`; needs Chromium, as the browser tests
do). For each size, in one run: server time to build the figure, bytes sent (the figure's
JSON), and time from request to chart drawn in headless Chromium, where a minimal page fetches
the figure from a loopback server that builds it on request and draws it with plotly.js; for
WebGL, "drawn" is two animation frames after `plotly_afterplot`. The baseline draws the same
stage and overdue spans with px.timeline, in the same run, so the ratios hold on a noisy
machine where absolute times do not.
"""

from __future__ import annotations

import datetime as dt
import http.server
import threading
import time
from collections.abc import Callable

import pandas as pd
import plotly.express as px
import plotly.io as pio
import plotly.offline
from selenium import webdriver

from pace_dash.domain import cohort
from pace_dash.domain.rules import load_rules_file
from pace_dash.figures.cohort_timeline import cohort_timeline
from pace_dash.settings import TARGETS_FILE
from pace_dash.store.demo import generate_demo

TODAY = dt.date(2026, 11, 29)
SIZES = (1_000, 10_000, 20_000)
BROWSER_TIMEOUT_S = 600
PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="/plotly.js"></script></head>
<body><div id="chart" style="width:1400px;height:720px"></div><script>
window.draw = function (name, done) {
  const chart = document.getElementById('chart');
  Plotly.purge(chart);
  const started = performance.now();
  fetch('/figure/' + name).then(response => response.json()).then(figure => {
    // newPlot's promise settles just after it emits plotly_afterplot; WebGL has drawn two frames on.
    return Plotly.newPlot(chart, figure.data, figure.layout).then(() => requestAnimationFrame(
      () => requestAnimationFrame(() => done(performance.now() - started))));
  }).catch(error => done(String(error) + (error.stack || '')));
};
</script></body></html>"""


def cohort_inputs(children: int) -> tuple[pd.DataFrame, ...]:
    """Return (children, events, periods, rules) of a demo data set, shaped as the store returns them."""
    data = generate_demo(children=children, seed=2014, today=TODAY)
    codes = data.authorities.rename(columns={"id": "la_id", "code": "la_code"})[["la_id", "la_code"]]
    kids = data.children.rename(columns={"id": "child_id"}).merge(codes, on="la_id")
    kids["date_of_birth"] = pd.to_datetime(kids["date_of_birth"]).dt.as_unit("ns")
    authority_of = kids[["child_id", "la_id"]]
    events = data.events.merge(authority_of, on="child_id")
    events["on_date"] = pd.to_datetime(events["on_date"]).dt.as_unit("ns")
    periods = data.periods.merge(authority_of, on="child_id")
    for column in ("start_date", "end_date"):
        periods[column] = pd.to_datetime(periods[column]).dt.as_unit("ns")
    defaults = load_rules_file(TARGETS_FILE).assign(la_id=pd.NA)
    rules = pd.concat([defaults, data.rule_overrides], ignore_index=True).astype({"la_id": "Int64"})
    return kids, events, periods, rules


def ours(built: cohort.Cohort, align: str) -> str:
    """Build the cohort timeline's figure JSON, as the page does for one request."""
    rows, groups = cohort.timeline_rows(built.children, "recommendation", "authority")
    stages, overdue = cohort.timeline_segments(built, rows, align)
    return pio.to_json(cohort_timeline(stages, overdue, rows, groups, align, TODAY))


def baseline(built: cohort.Cohort) -> str:
    """Build the same spans as a px.timeline figure's JSON: one SVG bar per span."""
    rows, _groups = cohort.timeline_rows(built.children, "recommendation", "authority")
    stages, overdue = cohort.timeline_segments(built, rows, "calendar")
    spans = pd.concat([stages, overdue.assign(stage="Overdue (past target)")], ignore_index=True)
    spans = spans.merge(rows[["child_id", "reference"]], on="child_id")
    figure = px.timeline(spans, x_start="start", x_end="end", y="reference", color="stage")
    figure.update_yaxes(categoryorder="array", categoryarray=rows["reference"].tolist(), autorange="reversed")
    return pio.to_json(figure)


def serve(figures: dict[str, Callable[[], str]]) -> http.server.ThreadingHTTPServer:
    """Serve the page, plotly.js, and each figure built on request, on a free loopback port."""
    plotly_js = plotly.offline.get_plotlyjs().encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/":
                body, kind = PAGE.encode(), "text/html"
            elif self.path == "/plotly.js":
                body, kind = plotly_js, "application/javascript"
            elif self.path.removeprefix("/figure/") in figures:
                body, kind = figures[self.path.removeprefix("/figure/")]().encode(), "application/json"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def chromium() -> webdriver.Chrome:
    """Start headless Chromium (Debian's, through selenium)."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-unsafe-swiftshader",
        "--window-size=1500,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options)
    driver.set_script_timeout(BROWSER_TIMEOUT_S)
    return driver


def drawn_seconds(driver, name: str) -> float:
    """Return the seconds from requesting a figure to its chart being drawn, in the browser."""
    milliseconds = driver.execute_async_script("window.draw(arguments[0], arguments[1]);", name)
    if isinstance(milliseconds, str):
        raise RuntimeError(f"the browser could not draw {name}: {milliseconds}")
    return milliseconds / 1000


def timed(build: Callable[[], str]) -> tuple[float, int]:
    """Return (seconds, bytes) of one build of a figure's JSON."""
    started = time.perf_counter()
    text = build()
    return time.perf_counter() - started, len(text.encode())


def measure(sizes: tuple[int, ...] = SIZES, browser: bool = True) -> dict[int, dict[str, float]]:
    """Return, for each size, build time, bytes and (with a browser) drawing time, ours and px.timeline's.

    Keys: segments; aligned_/calendar_/px_ + build_s, bytes and drawn_s (None without a browser).
    """
    cohorts = {size: cohort.build_cohort(*cohort_inputs(size), TODAY) for size in sizes}
    builders: dict[str, Callable[[], str]] = {}
    for size, built in cohorts.items():
        builders[f"aligned-{size}"] = lambda built=built: ours(built, "accommodated")
        builders[f"calendar-{size}"] = lambda built=built: ours(built, "calendar")
        builders[f"px-{size}"] = lambda built=built: baseline(built)
    server = serve(builders) if browser else None
    driver = chromium() if browser else None
    results: dict[int, dict[str, float]] = {}
    try:
        if driver is not None:
            driver.get(f"http://127.0.0.1:{server.server_port}/")
            drawn_seconds(driver, f"aligned-{sizes[0]}")  # warm up: plotly.js parsed, WebGL context made
        for size, built in cohorts.items():
            rows, _groups = cohort.timeline_rows(built.children, "recommendation", "authority")
            stages, overdue = cohort.timeline_segments(built, rows, "calendar")
            result: dict[str, float] = {"segments": len(stages) + len(overdue)}
            for view in ("px", "aligned", "calendar"):
                build, size_bytes = timed(builders[f"{view}-{size}"])
                result[f"{view}_build_s"] = build
                result[f"{view}_bytes"] = size_bytes
                result[f"{view}_drawn_s"] = drawn_seconds(driver, f"{view}-{size}") if driver else None
            results[size] = result
    finally:
        if driver is not None:
            driver.quit()
            server.shutdown()
    return results


def main() -> None:
    """Print the benchmark table."""
    print(f"Cohort timeline benchmark, today = {TODAY}; times in seconds, sizes in MB")
    header = (
        f"{'children':>9} {'segments':>9} {'view':>9} {'build':>7} {'MB':>6} {'drawn':>7} "
        f"{'px build':>9} {'px MB':>6} {'px drawn':>9} {'faster':>7} {'smaller':>8}"
    )
    print(header)
    for size, result in measure().items():
        for view in ("aligned", "calendar"):
            drawn, px_drawn = result[f"{view}_drawn_s"], result["px_drawn_s"]
            print(
                f"{size:>9,} {result['segments']:>9,} {view:>9} {result[f'{view}_build_s']:>7.2f} "
                f"{result[f'{view}_bytes'] / 1e6:>6.2f} {drawn:>7.2f} {result['px_build_s']:>9.2f} "
                f"{result['px_bytes'] / 1e6:>6.2f} {px_drawn:>9.2f} {px_drawn / drawn:>6.1f}x "
                f"{result['px_bytes'] / result[f'{view}_bytes']:>7.1f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
