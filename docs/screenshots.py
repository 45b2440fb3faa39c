"""Take the README's screenshots in headless Chromium: `make screenshots` (needs the demo database).

It serves the app on a free loopback port in a thread, picks a demo child whose timeline shows
several kinds of delay, and saves PNGs under docs/.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from pace_dash.app import create_app
from pace_dash.domain import journeys
from pace_dash.domain.pseudonyms import pseudonym
from pace_dash.settings import load_settings
from pace_dash.store.demo import DEMO_PASSWORD
from pace_dash.store.scope import Scope

DOCS = Path(__file__).resolve().parent


def illustrative_child(app) -> int:
    """Return the id of an open adoption-route child, 1 to 3 years in, late on several rules."""
    context = app.server.extensions["pace_dash"]
    scope = Scope.everything()
    today = context.settings.effective_today()
    events = context.store.events(scope)
    evaluation = journeys.evaluate(events, context.store.rules(scope), today)
    summary = journeys.summarise(events, evaluation, today)
    delays = evaluation[evaluation["days_overdue"] > 0].groupby("child_id")["rule_key"].nunique()
    candidates = summary[
        summary["episode_end"].isna()
        & summary["route"].isin(["adoption", "poa"])
        & summary["days_since_accommodated"].between(365, 3 * 365)
        & (summary["overdue_rules"] > 0)
    ].merge(delays.rename("delayed_rules"), left_on="child_id", right_index=True)
    chosen = candidates.sort_values(["delayed_rules", "child_id"], ascending=[False, True]).iloc[0]
    return int(chosen["child_id"])


def shoot(driver, url: str, wait_for: str, path: Path) -> None:
    """Open a page, wait for an element, and save a screenshot."""
    driver.get(url)
    WebDriverWait(driver, 30).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, wait_for))
    )
    time.sleep(1.5)  # let plotly finish its transitions
    driver.save_screenshot(str(path))
    print(f"saved {path.relative_to(DOCS.parent)}")


def sign_in(driver, base: str, username: str) -> None:
    """Sign in with one of the demo database's accounts."""
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    driver.find_element(By.ID, "sign-in-button").click()
    WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.ID, "main")))


def main() -> None:
    """Serve the app, take the screenshots, stop."""
    app = create_app(load_settings())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = make_server("127.0.0.1", port, app.server, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    options = webdriver.ChromeOptions()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1400,1100",
        "--hide-scrollbars",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options)
    try:
        child_id = illustrative_child(app)
        base = f"http://127.0.0.1:{port}"
        sign_in(driver, base, "demo-admin")
        settings = app.server.extensions["pace_dash"].settings
        if settings.presentation:
            # Run again with PACE_PRESENTATION=true (one app per process): the same child by pseudonym.
            shown = pseudonym(child_id, settings.secret_key)
            shoot(
                driver, f"{base}/child/{shown}", "#child-timeline-graph .barlayer", DOCS / "presentation.png"
            )
            return
        reference = (
            app.server.extensions["pace_dash"]
            .store.children(Scope.everything(), [child_id])
            .iloc[0]["reference"]
        )
        shoot(
            driver,
            f"{base}/child/{reference}",
            "#child-timeline-graph .barlayer",
            DOCS / "child-timeline.png",
        )
        shoot(driver, f"{base}/", "#most-overdue", DOCS / "overview.png")
        # Strathcairn's quarterly median weeks to the recommendation: the shift after its PACE start.
        shoot(
            driver,
            f"{base}/qi?authority=STC&measure=median_quarter",
            "#qi-graph .scatterlayer",
            DOCS / "run-chart.png",
        )
        # The cohort explorer: every demo child's journey aligned on the day accommodated. A first
        # visit loads the filter bar's controls, which arrive after the chart is drawn.
        driver.set_window_size(1400, 1500)
        shoot(driver, f"{base}/cohort", "#cohort-filter-authority", DOCS / "cohort.png")
        shoot(driver, f"{base}/cohort", "#cohort-timeline-graph .gl-container", DOCS / "cohort.png")
    finally:
        driver.quit()
        server.shutdown()


if __name__ == "__main__":
    main()
