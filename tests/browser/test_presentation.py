"""Presentation mode, end to end: a server started in it never sends a name, reference or birth date."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains

from tests.browser.conftest import sign_in
from tests.browser.test_browser import HATCHED_BARS
from tests.conftest import (
    EMPTY_REFERENCE,
    ON_TRACK_REFERENCE,
    OTHER_AUTHORITY_REFERENCE,
    SAMPLE_NAME,
    SAMPLE_REFERENCE,
    known_children_database,
    serving,
)

pytestmark = pytest.mark.browser

# Everything that identifies the known children, in the forms a page could show it.
SECRETS = (
    SAMPLE_REFERENCE,
    EMPTY_REFERENCE,
    ON_TRACK_REFERENCE,
    OTHER_AUTHORITY_REFERENCE,
    SAMPLE_NAME,
    "2021-06-01",
    "1 Jun 2021",
    "01/06/2021",
    "2021-06-01T00:00:00",
)
# Keep a copy of every response the page fetches (layout, dependencies and each callback).
RECORD_RESPONSES = """
window.__responses = [];
const originalFetch = window.fetch;
window.fetch = async (...args) => {
  const response = await originalFetch(...args);
  response.clone().text().then(text => window.__responses.push(text));
  return response;
};
"""


@pytest.fixture(scope="module")
def presentation_server(tmp_path_factory):
    """Serve the known children from a separate process started in presentation mode."""
    url = f"sqlite:///{tmp_path_factory.mktemp('presenting') / 'app.db'}"
    known_children_database(url).dispose()
    environment = {
        "PACE_DATABASE_URL": url,
        "PACE_PRESENTATION": "true",
        "PACE_SECRET_KEY": "presentation browser test",
    }
    with serving(environment, tmp_path_factory.mktemp("presenting-log") / "server.log") as address:
        yield address


def test_presentation_mode_never_sends_names_references_or_birth_dates(dash_br, presentation_server):
    driver = dash_br.driver
    driver.set_window_size(1400, 1000)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_RESPONSES})
    sign_in(dash_br, presentation_server)
    dash_br.wait_for_element("#presentation-banner", timeout=30)
    dash_br.wait_for_element("#most-overdue a", timeout=30)
    seen = [driver.page_source]
    links = dash_br.find_elements("#most-overdue a")
    assert [link.text[:2] for link in links] == ["P-", "P-"]

    links[0].click()
    dash_br.wait_for_element("#child-timeline-graph .barlayer", timeout=30)
    ActionChains(driver).move_to_element(driver.execute_script(HATCHED_BARS)[-1]).click().perform()
    dash_br.wait_for_text_to_equal(
        "#child-side-panel .offcanvas-title", "Adoption & Permanence Panel", timeout=30
    )
    layout = "return document.querySelector('#child-timeline-graph .js-plotly-plot').layout"
    assert "xaxis2" not in driver.execute_script(layout)  # birthdays would give the birth date away
    assert "5 years" in dash_br.find_element("#child-header").text
    seen.append(driver.page_source)
    responses = driver.execute_script("return window.__responses")
    assert len(responses) >= 4  # layout, dependencies, and the callbacks that drew both pages
    seen += responses
    for secret in SECRETS:
        assert not any(secret in text for text in seen), secret
