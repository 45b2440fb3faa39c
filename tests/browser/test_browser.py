"""End to end in headless Chromium: what a panel member sees and can do."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ON_TRACK_REFERENCE, OTHER_AUTHORITY_REFERENCE, SAMPLE_REFERENCE
from tests.figures.sample import EXPECTED_OVERDUE

pytestmark = pytest.mark.browser

GRAPH_DATA = """
const graph = document.querySelector('#child-timeline-graph .js-plotly-plot');
if (!graph || !graph.data) { return null; }
return graph.data.map(trace => ({name: trace.name, base: trace.base || null, text: trace.text || null}));
"""
HATCHED_BARS = """
const graph = document.querySelector('#child-timeline-graph .js-plotly-plot');
const layer = graph.querySelector('.cartesianlayer .overplot .xy .barlayer');
return Array.from(layer.querySelectorAll('.point path')).filter(p => (p.style.fill || '').startsWith('url('));
"""
DRAWN_OVERDUE_BARS = """
// Overdue bars are the only ones filled with a hatch pattern; count those drawn with a size in the
// main plot (the range slider below it draws a second, smaller copy).
const graph = document.querySelector('#child-timeline-graph .js-plotly-plot');
const layer = graph.querySelector('.cartesianlayer .overplot .xy .barlayer');
return Array.from(layer.querySelectorAll('.point path')).filter(p => {
  const box = p.getBBox();
  return (p.style.fill || '').startsWith('url(') && box.width > 0 && box.height > 0; }).length;
"""


def test_overview_lists_overdue_children_and_links_to_their_timeline(browser):
    browser.wait_for_element("#most-overdue", timeout=20)
    rows = browser.find_elements("#most-overdue tbody tr")
    references = [row.find_element(By.TAG_NAME, "a").text for row in rows]
    assert references == [SAMPLE_REFERENCE, OTHER_AUTHORITY_REFERENCE]
    assert ON_TRACK_REFERENCE not in browser.find_element("#most-overdue").text

    rows[0].find_element(By.TAG_NAME, "a").click()
    browser.wait_for_element("#child-timeline-graph .main-svg", timeout=20)
    assert browser.driver.current_url.endswith(f"/child/{SAMPLE_REFERENCE}")
    assert browser.get_logs() == []


def test_child_page_draws_its_overdue_spans(browser):
    browser.driver.get(f"{browser.server_url}/child/{SAMPLE_REFERENCE}")
    browser.wait_for_element("#child-timeline-graph .barlayer", timeout=20)
    traces = browser.driver.execute_script(GRAPH_DATA)
    overdue = next(trace for trace in traces if trace["name"] == "Overdue (past target)")
    assert sorted(overdue["base"]) == sorted(start for start, _end, _days in EXPECTED_OVERDUE.values())
    assert sorted(overdue["text"]) == sorted(f"+{days} d" for _s, _e, days in EXPECTED_OVERDUE.values())
    drawn = browser.driver.execute_script(DRAWN_OVERDUE_BARS)
    assert drawn == len(EXPECTED_OVERDUE)
    assert "Awaiting panel" in browser.find_element("#child-header").text
    assert browser.get_logs() == []


def test_search_box_opens_a_child_and_unknown_references_get_a_friendly_page(browser):
    browser.wait_for_element("#shell-child-search", timeout=20)
    search = browser.find_element("#shell-child-search")
    search.send_keys(OTHER_AUTHORITY_REFERENCE.lower(), Keys.ENTER)
    browser.wait_for_text_to_equal("#child-stage", "Awaiting first review", timeout=20)
    assert browser.driver.current_url.endswith(f"/child/{OTHER_AUTHORITY_REFERENCE}")

    browser.driver.get(f"{browser.server_url}/child/NOT-A-CHILD")
    browser.wait_for_element("#child-not-found", timeout=20)
    assert "No child with reference NOT-A-CHILD" in browser.find_element("#child-not-found").text


def test_clicking_an_overdue_span_opens_its_rule_in_the_side_panel(browser):
    browser.driver.get(f"{browser.server_url}/child/{SAMPLE_REFERENCE}")
    browser.wait_for_element("#child-timeline-graph .barlayer", timeout=20)
    hatched = browser.driver.execute_script(HATCHED_BARS)
    # The last hatched bar is the panel's: the lowest target row.
    ActionChains(browser.driver).move_to_element(hatched[-1]).click().perform()
    browser.wait_for_text_to_equal(
        "#child-side-panel .offcanvas-title", "Adoption & Permanence Panel", timeout=20
    )
    body = browser.find_element("#child-side-panel-body").text
    assert "Aberdeen City" in body
    assert "370" in body
    assert browser.get_logs() == []


def test_lane_switches_redraw_the_chart(browser):
    browser.driver.get(f"{browser.server_url}/child/{SAMPLE_REFERENCE}")
    browser.wait_for_element("#child-timeline-graph .barlayer", timeout=20)
    targets = browser.driver.find_element(By.CSS_SELECTOR, "#child-lanes input[value='targets']")
    targets.send_keys(Keys.SPACE)  # keyboard, as a user without a mouse would
    WebDriverWait(browser.driver, 20).until(lambda driver: driver.execute_script(DRAWN_OVERDUE_BARS) == 0)
    ticks = browser.driver.execute_script(
        "return document.querySelector('#child-timeline-graph .js-plotly-plot').layout.yaxis.ticktext"
    )
    assert ticks[-1] == "Permanence process"


def test_panel_pack_downloads_as_a_png(browser, tmp_path):
    browser.driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    browser.driver.get(f"{browser.server_url}/child/{SAMPLE_REFERENCE}")
    browser.wait_for_element("#child-timeline-graph .barlayer", timeout=20)
    browser.find_element("#child-export-png").click()
    WebDriverWait(browser.driver, 60).until(lambda _driver: list(tmp_path.glob("*.png")))
    (downloaded,) = tmp_path.glob("*.png")
    assert downloaded.name.startswith(f"panel-pack-{SAMPLE_REFERENCE}")
    assert downloaded.read_bytes().startswith(b"\x89PNG")
