"""Load test: simulated users signed in to gunicorn on a demo database, through Dash's real callback endpoint.

Run with `make load` (or `python -m benchmarks.load`). It builds a demo database (2,000 children)
in a temporary directory, starts gunicorn with `make serve`'s settings (gunicorn.conf.py, 3
workers) on a free loopback port, and runs 50 simulated users for 60 measured seconds, after each
has opened the children of their caseload and the pages once (a server in use holds its users'
recent work in its cache; `--cold` measures from an empty cache instead). Each user signs in with
a demo account (its role and authorities decide what it may do), then repeatedly opens a child's
timeline (mostly of a caseload of 12 children, sometimes any child of their authorities, now and
then another authority's, which must be "not found"), sometimes redraws it, opens the cohort
explorer and changes its filters, or opens the run charts and changes the measure, with a pause
of 2 to 8 seconds between actions. Every request is a POST to `/_dash-update-component` built as
Dash's renderer builds it (from `/_dash-dependencies` and the values in the page's layout;
checked against requests recorded from Chromium), with the session cookie and the X-CSRFToken
header.

It reports p50/p95/p99 latency, throughput, errors, worker timeouts from gunicorn's log, and any
response carrying a case reference of an authority the user may not see. The goal: p95 under
1 s, no errors, no worker timeouts, no leak. Traffic goes to 127.0.0.1 only; the run is bounded
in time (the duration, then each request's timeout) and in requests (MAX_REQUESTS).

A script of our own rather than locust: it needs the Dash renderer's request shapes and the
scope check on every response, which locust would only wrap, and it adds no package.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from pace_dash.settings import PROJECT_ROOT

HOST = "127.0.0.1"  # loopback only: nothing here may send traffic anywhere else
TODAY = "2026-11-29"
USERS = 50
DURATION_S = 60.0
CHILDREN = 2_000
WORKERS = 3
THINK_S = (2.0, 8.0)  # a person's pause between actions: reading a timeline or a chart
CASELOAD = 12  # the children a user works on; most of the timelines they open are these
MAX_REQUESTS = 100_000
REQUEST_TIMEOUT_S = 30.0
SERVER_START_S = 120.0
GOAL_P95_S = 1.0
CORES = os.cpu_count() or 1
PERCENTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
CALLBACK_PATH = "/_dash-update-component"
SIGN_IN_PATH = "/login"
CSRF_COOKIE = "_csrf_token"
CSRF_HEADER = "X-CSRFToken"
ERROR_ALERT = "shell-error-alert"
AUTHORITY_CODES = ("GLM", "STC", "LAR")
REFERENCE = re.compile(r"\b(GLM|STC|LAR)-\d{5}\b")
EXAMPLE = re.compile(r"(for example|e\.g\.)\s*$")
# The demo database's accounts (pace_dash.store.demo.DEMO_ACCOUNTS): role and the authorities seen.
DEMO_PASSWORD = "fictional-children-only"
ACCOUNTS = (
    ("demo-admin", "admin", ()),
    ("demo-manager", "manager", ("STC",)),
    ("demo-viewer", "viewer", ("GLM",)),
)


@dataclasses.dataclass(frozen=True)
class User:
    """One simulated user: the account it signs in with and the authorities it may see (empty: all)."""

    number: int
    username: str
    password: str
    role: str
    authorities: tuple[str, ...]

    def sees(self, code: str) -> bool:
        """Say whether this user may see children of an authority."""
        return not self.authorities or code in self.authorities


def demo_users(count: int) -> list[User]:
    """Return the simulated users, spread over the demo accounts in turn."""
    return [User(number, *_account(number)) for number in range(count)]


def _account(number: int) -> tuple[str, str, str, tuple[str, ...]]:
    username, role, authorities = ACCOUNTS[number % len(ACCOUNTS)]
    return username, DEMO_PASSWORD, role, authorities


# --- Requests as Dash's renderer makes them ----------------------------------------------------


def _output_spec(output: str) -> dict | list[dict]:
    # "..a.b...c.d.." names several outputs, "a.b" one; a hash after "@" marks a duplicate output.
    def one(text: str) -> dict:
        component, prop = text.split("@")[0].rsplit(".", 1)
        return {"id": component, "property": prop}

    if output.startswith(".."):
        return [one(part) for part in output[2:-2].split("...")]
    return one(output)


def callback_body(dependency: dict, values: dict, changed: list[str]) -> dict:
    """Return the JSON body the renderer sends to run a callback with the page's current values."""

    def with_values(items):
        return [{**item, "value": values.get((item["id"], item["property"]))} for item in items]

    return {
        "output": dependency["output"],
        "outputs": _output_spec(dependency["output"]),
        "inputs": with_values(dependency["inputs"]),
        "changedPropIds": changed,
        "parsedChangedPropsIds": changed,
        "state": with_values(dependency["state"]),
    }


def layout_values(component, values: dict | None = None) -> dict:
    """Collect {(id, prop): value} of every component with an id in a layout's JSON."""
    values = {} if values is None else values
    if isinstance(component, list):
        for child in component:
            layout_values(child, values)
    elif isinstance(component, dict) and "props" in component:
        props = component["props"]
        if isinstance(props.get("id"), str):
            for name, value in props.items():
                if name != "children":
                    values[(props["id"], name)] = value
            values.setdefault((props["id"], "children"), None)
        for value in props.values():
            if isinstance(value, dict | list):
                layout_values(value, values)
    return values


@dataclasses.dataclass
class Result:
    """One request's outcome."""

    label: str
    seconds: float
    status: int
    started: float = 0.0  # time.monotonic() when sent
    error: str | None = None
    leak: str | None = None


class Browser:
    """One simulated browser: its cookies, the current page's values, and the callbacks it may run."""

    def __init__(self, base_url: str, user: User, record):
        if not base_url.startswith(f"http://{HOST}:"):
            raise ValueError(f"the load test only talks to {HOST}")
        self.base_url = base_url
        self.user = user
        self.record = record
        self.http = requests.Session()
        self.dependencies: list[dict] = []
        self.values: dict = {}

    def get(self, path: str, **kwargs) -> requests.Response:
        """Fetch a path of the server."""
        return self.http.get(self.base_url + path, timeout=REQUEST_TIMEOUT_S, **kwargs)

    def sign_in(self) -> None:
        """Sign in at /login with the user's account, as the sign-in form does; a no-op without sign-in."""
        form = self.get(SIGN_IN_PATH)
        if form.status_code == 404:
            return  # a server without sign-in
        token = self.http.cookies.get(CSRF_COOKIE, "")
        answer = self.http.post(
            self.base_url + SIGN_IN_PATH,
            data={
                "username": self.user.username,
                "password": self.user.password,
                "csrf_token": token,
                "next": "/",
            },
            timeout=REQUEST_TIMEOUT_S,
            allow_redirects=False,
        )
        if answer.status_code != 302:
            raise RuntimeError(f"{self.user.username} could not sign in: HTTP {answer.status_code}")

    def start(self) -> None:
        """Load what the renderer loads once: the shell's layout and the callbacks."""
        self.get("/_dash-layout").raise_for_status()
        answer = self.get("/_dash-dependencies")
        answer.raise_for_status()
        self.dependencies = [item for item in answer.json() if not item.get("clientside_function")]

    def _headers(self) -> dict:
        token = self.http.cookies.get(CSRF_COOKIE)
        return {"Content-Type": "application/json", **({CSRF_HEADER: token} if token else {})}

    def call(self, dependency: dict, changed: list[str], label: str) -> dict | None:
        """Run one callback; record its latency and outcome; return the parsed answer of a page change."""
        body = json.dumps(callback_body(dependency, self.values, changed))
        begun = time.monotonic()
        started = time.perf_counter()
        try:
            answer = self.http.post(
                self.base_url + CALLBACK_PATH, data=body, headers=self._headers(), timeout=REQUEST_TIMEOUT_S
            )
            text = answer.text
        except requests.RequestException as error:
            self.record(
                Result(label, time.perf_counter() - started, 0, begun, f"{type(error).__name__}: {error}")
            )
            return None
        seconds = time.perf_counter() - started
        error = None
        if answer.status_code not in (200, 204):
            error = f"HTTP {answer.status_code}: {text[:200]}"
        elif ERROR_ALERT in text:
            error = f"error message shown: {text[:300]}"
        self.record(Result(label, seconds, answer.status_code, begun, error, self._leak(text)))
        if answer.status_code != 200 or error:
            return None
        parsed = answer.json()
        for component, props in parsed.get("response", {}).items():
            for prop, value in props.items():
                self.values[(component, prop)] = value
        return parsed

    def _leak(self, text: str) -> str | None:
        # A not-found page repeats the reference asked for: that one is the user's own words; and
        # help texts give an example reference ("for example GLM-00012"), which is no child shown.
        asked = self.values.get(("_pages_location", "pathname")) or ""
        for match in REFERENCE.finditer(text):
            example = EXAMPLE.search(text[max(0, match.start() - 16) : match.start()])
            if not self.user.sees(match.group(1)) and match.group(0) not in asked and not example:
                return match.group(0)
        return None

    def _present(self, dependency: dict) -> bool:
        return all((item["id"], item["property"]) in self.values for item in dependency["inputs"])

    def open_page(self, path: str, label: str) -> None:
        """Go to a page: the router callback, then every callback the new layout fires at once."""
        search = ""
        if "?" in path:
            path, search = path.split("?", 1)
            search = f"?{search}"
        self.values = {("_pages_location", "pathname"): path, ("_pages_location", "search"): search}
        router = next(item for item in self.dependencies if "_pages_content.children" in item["output"])
        answer = self.call(router, ["_pages_location.pathname", "_pages_location.search"], f"{label}: open")
        if answer is None:
            return
        layout_values(answer["response"]["_pages_content"]["children"], self.values)
        for dependency in self.dependencies:
            if (
                dependency is not router
                and not dependency.get("prevent_initial_call")
                and self._present(dependency)
            ):
                self.call(dependency, [], f"{label}: first draw")

    def change(self, component: str, prop: str, value, label: str) -> None:
        """Change one control's value and run every callback listening to it, as the renderer does."""
        self.values[(component, prop)] = value
        changed = f"{component}.{prop}"
        for dependency in self.dependencies:
            listens = any(f"{item['id']}.{item['property']}" == changed for item in dependency["inputs"])
            if listens and self._present(dependency):
                self.call(dependency, [changed], label)

    def options(self, component: str) -> list:
        """Return the values a dropdown or checklist on the page offers."""
        return [option["value"] for option in self.values.get((component, "options")) or []]


# --- What the users do -------------------------------------------------------------------------


def open_child(
    browser: Browser, caseload: list[str], references: dict[str, list[str]], rng: random.Random
) -> None:
    """Open a child's timeline: mostly from the user's caseload, else from their authorities or another's."""
    draw = rng.random()
    if draw < 0.85:
        reference = rng.choice(caseload)
    else:
        allowed = [code for code in AUTHORITY_CODES if browser.user.sees(code)]
        reference = rng.choice(references[rng.choice(AUTHORITY_CODES if draw > 0.95 else allowed)])
    browser.open_page(f"/child/{reference}", "child timeline")
    if browser.values.get(("child-key", "data")) is not None and rng.random() < 0.5:
        browser.change("child-axis", "value", rng.choice(["calendar", "weeks"]), "child timeline: redraw")


def explore_cohort(browser: Browser, rng: random.Random) -> None:
    """Open the cohort explorer and change its filters a few times."""
    browser.open_page("/cohort", "cohort")
    for _ in range(rng.randint(1, 3)):
        control = rng.choice(["authority", "state", "age", "sort"])
        if control == "authority":
            offered = browser.options("cohort-filter-authority")
            picked = rng.sample(offered, rng.randint(0, len(offered))) if offered else []
            browser.change("cohort-filter-authority", "value", picked, "cohort: filter")
        elif control == "state":
            offered = browser.options("cohort-filter-state") or ["all"]
            browser.change("cohort-filter-state", "value", rng.choice(offered), "cohort: filter")
        elif control == "age":
            offered = browser.options("cohort-filter-age")
            browser.change(
                "cohort-filter-age", "value", rng.sample(offered, min(len(offered), 1)), "cohort: filter"
            )
        else:
            offered = browser.options("cohort-sort") or ["recommendation"]
            browser.change("cohort-sort", "value", rng.choice(offered), "cohort: sort")


def run_charts(browser: Browser, rng: random.Random) -> None:
    """Open the run charts and change the measure or the authority."""
    browser.open_page("/qi", "run chart")
    for _ in range(rng.randint(1, 2)):
        control = rng.choice(["qi-measure", "qi-authority"])
        offered = browser.options(control)
        if offered:
            browser.change(control, "value", rng.choice(offered), "run chart: change")


@dataclasses.dataclass
class Window:
    """The measured time, set when every user has finished warming up."""

    start: float = float("inf")
    end: float = float("inf")


def warm_up(browser: Browser, caseload: list[str]) -> None:
    """Open each child of the caseload and each page once, as a user's first hour of the day would."""
    for reference in caseload:
        browser.open_page(f"/child/{reference}", "warm-up")
    if browser.user.role != "viewer":
        for path in ("/cohort", "/qi"):
            browser.open_page(path, "warm-up")


def simulate(
    base_url: str,
    user: User,
    references: dict,
    window: Window,
    ready: threading.Barrier,
    options: Options,
    record,
    budget,
) -> None:
    """Be one user: sign in, warm up (or not), wait for the others, then act and pause until time is up."""
    rng = random.Random(user.number)
    own = [reference for code, listed in references.items() if user.sees(code) for reference in listed]
    caseload = rng.sample(own, min(CASELOAD, len(own)))
    browser = Browser(base_url, user, record)
    try:
        browser.sign_in()
        browser.start()
        if options.warm:
            warm_up(browser, caseload)
    except (requests.RequestException, RuntimeError) as error:
        record(Result("sign in", 0.0, 0, time.monotonic(), f"{type(error).__name__}: {error}"))
    finally:
        ready.wait(SERVER_START_S * 4)
    # Viewers may open timelines only; cohorts and run charts are for managers and administrators.
    actions = [open_child] if user.role == "viewer" else [open_child, open_child, explore_cohort, run_charts]
    time.sleep(rng.uniform(0, options.think[1]))  # users arrive spread out, not all in one instant
    while time.monotonic() < window.end and budget():
        action = rng.choice(actions)
        if action is open_child:
            open_child(browser, caseload, references, rng)
        else:
            action(browser, rng)
        time.sleep(rng.uniform(*options.think))


# --- The server under test ---------------------------------------------------------------------


def free_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def demo_database(directory: Path, children: int) -> str:
    """Fill a SQLite demo database in a directory and return its URL."""
    url = f"sqlite:///{directory / 'pace.db'}"
    environment = {**os.environ, "PACE_DATABASE_URL": url, "PACE_TODAY": TODAY}
    subprocess.run(
        [sys.executable, "-m", "pace_dash", "demo", "--children", str(children)],
        cwd=PROJECT_ROOT,
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return url


def case_references(database_url: str) -> dict[str, list[str]]:
    """Return the case references of the demo database by authority."""
    from pace_dash.store.db import make_engine
    from pace_dash.store.queries import Store
    from pace_dash.store.scope import Scope

    engine = make_engine(database_url)
    children = Store(engine).children(Scope.everything())
    engine.dispose()
    return {code: sorted(frame["reference"]) for code, frame in children.groupby("la_code")}


@contextlib.contextmanager
def gunicorn(
    database_url: str, log: Path, workers: int = WORKERS, extra: dict | None = None
) -> Iterator[tuple]:
    """Run gunicorn as `make serve` does on a free loopback port; yield (address, its process)."""
    port = free_port()
    environment = {
        **os.environ,
        "PACE_DATABASE_URL": database_url,
        "PACE_HOST": HOST,
        "PACE_PORT": str(port),
        "PACE_WORKERS": str(workers),
        "PACE_TODAY": TODAY,
        **(extra or {}),
    }
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:server"],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    address = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                if requests.get(f"{address}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield address, server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def cpu_seconds(pid: int) -> float:
    """Return the CPU time a process and its children (gunicorn's workers) have used so far."""
    total = 0.0
    for entry in [Path(f"/proc/{pid}"), *_children(pid)]:
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime of the process itself, and of its children that have ended (replaced workers).
        total += sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[Path]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.append(entry)
    return found


def worker_timeouts(log_text: str) -> int:
    """Count the workers gunicorn's log says were stuck past the timeout."""
    return log_text.count("WORKER TIMEOUT")


# --- The run and its report --------------------------------------------------------------------


def percentile(sorted_values: list[float], share: float) -> float:
    """Return the value below which a share of the sorted values lie (nearest rank)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(share * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclasses.dataclass
class Report:
    """What one load run measured."""

    users: int
    seconds: float
    results: list[Result]
    timeouts: int
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def latencies(self) -> list[float]:
        """Return every request's latency, sorted."""
        return sorted(result.seconds for result in self.results if result.status)

    @property
    def errors(self) -> list[Result]:
        """Return the requests that failed or showed an error message."""
        return [result for result in self.results if result.error]

    @property
    def leaks(self) -> list[Result]:
        """Return the responses that carried another authority's case reference."""
        return [result for result in self.results if result.leak]

    def goal_met(self) -> bool:
        """Say whether p95 is under a second with no error, timeout or leak."""
        return (
            percentile(self.latencies, 0.95) < GOAL_P95_S
            and not self.errors
            and not self.timeouts
            and not self.leaks
            and bool(self.results)
        )

    def lines(self) -> list[str]:
        """Return the report as lines of text."""
        latencies = self.latencies
        out = [
            f"{self.users} users for {self.seconds:.0f} s: {len(self.results):,} requests, "
            f"{len(self.results) / self.seconds:.1f} requests/s",
            "latency "
            + ", ".join(f"{name} {percentile(latencies, share) * 1000:.0f} ms" for name, share in PERCENTILES)
            + f", max {max(latencies, default=0) * 1000:.0f} ms",
            f"errors {len(self.errors)}, worker timeouts {self.timeouts}, responses with another authority's "
            f"children {len(self.leaks)}",
            f"CPU over the measured time: server {self.server_cpu_s:.0f} s, load generator "
            f"{self.client_cpu_s:.0f} s, of {self.seconds * CORES:.0f} s on {CORES} cores",
        ]
        labels = sorted({result.label for result in self.results})
        out.append(f"{'request':<28} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for label in labels:
            times = sorted(result.seconds for result in self.results if result.label == label)
            out.append(
                f"{label:<28} {len(times):>7,} {percentile(times, 0.5) * 1000:>8.0f} "
                f"{percentile(times, 0.95) * 1000:>8.0f} {percentile(times, 0.99) * 1000:>8.0f}"
            )
        for result in (self.errors + self.leaks)[:10]:
            out.append(f"  {result.label}: {result.error or ''} {result.leak or ''}")
        verdict = "met" if self.goal_met() else "NOT met"
        out.append(f"goal (p95 < {GOAL_P95_S:.0f} s, no errors, no timeouts, no leak): {verdict}")
        return out


@dataclasses.dataclass(frozen=True)
class Options:
    """How the simulated users behave."""

    think: tuple[float, float] = THINK_S
    warm: bool = True


def run(
    users: int = USERS,
    duration: float = DURATION_S,
    children: int = CHILDREN,
    workers: int = WORKERS,
    options: Options = Options(),
) -> Report:
    """Build the demo database, start gunicorn, run the users (warm-up, then the measured time); report."""
    with tempfile.TemporaryDirectory(prefix="pace-load-") as scratch:
        scratch = Path(scratch)
        database_url = demo_database(scratch, children)
        references = case_references(database_url)
        log = scratch / "gunicorn.log"
        results: list[Result] = []
        lock = threading.Lock()

        def record(result: Result) -> None:
            with lock:
                results.append(result)

        def budget() -> bool:
            return len(results) < MAX_REQUESTS

        with gunicorn(database_url, log, workers) as (address, server):
            window = Window()
            cpu = {}

            def begin() -> None:
                # Run by the last user to finish warming up: the measured time starts now.
                cpu["from"] = (cpu_seconds(server.pid), time.process_time())
                window.start = time.monotonic()
                window.end = window.start + duration

            ready = threading.Barrier(users, action=begin)
            threads = [
                threading.Thread(
                    target=simulate,
                    args=(address, user, references, window, ready, options, record, budget),
                    daemon=True,
                )
                for user in demo_users(users)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(SERVER_START_S * 4 + duration + REQUEST_TIMEOUT_S * 4)
            cpu["to"] = (cpu_seconds(server.pid), time.process_time())
            # The measured time runs until the last request of the measured minute has its answer.
            ended = max([window.end, *(result.started + result.seconds for result in results)])
        measured = [result for result in results if result.started >= window.start or result.error]
        return Report(
            users,
            ended - window.start,
            measured,
            worker_timeouts(log.read_text()),
            server_cpu_s=cpu["to"][0] - cpu["from"][0],
            client_cpu_s=cpu["to"][1] - cpu["from"][1],
        )


def main(argv: list[str] | None = None) -> int:
    """Run the load test and print its report; exit 1 when the goal is missed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--duration", type=float, default=DURATION_S, help="seconds")
    parser.add_argument("--children", type=int, default=CHILDREN)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--think", type=float, nargs=2, default=THINK_S, metavar=("MIN", "MAX"))
    parser.add_argument(
        "--cold", action="store_true", help="measure from an empty cache: no warm-up pass over the caseloads"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 500 or not 1 <= args.duration <= 600:
        parser.error("--users must be 1 to 500 and --duration 1 to 600 seconds")
    print(
        f"Load test: {args.users} users, {args.duration:.0f} s, {args.children:,} demo children, "
        f"gunicorn with {args.workers} workers on {HOST}; pauses of {args.think[0]}-{args.think[1]} s; "
        + ("cold cache" if args.cold else "measured after each user opened their caseload and pages once"),
        flush=True,
    )
    report = run(
        args.users, args.duration, args.children, args.workers, Options(tuple(args.think), not args.cold)
    )
    print("\n".join(report.lines()))
    return 0 if report.goal_met() else 1


if __name__ == "__main__":
    sys.exit(main())
