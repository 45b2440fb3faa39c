"""End to end in headless Chromium: what a panel member sees and can do."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.conftest import ON_TRACK_REFERENCE, OTHER_AUTHORITY_REFERENCE, SAMPLE_REFERENCE
from tests.figures.sample import EXPECTED_OVERDUE

pytestmark = pytest.mark.browser

GRAPH_DATA = """
const graph = document.querySelector('#child-timeline-graph .js-plotly-plot');
if (!graph || !graph.data) { return null; }
return graph.data.map(trace => ({name: trace.name, base: trace.base || null, text: trace.text || null}));
"""
DRAWN_OVERDUE_BARS = """
const graph = document.querySelector('#child-timeline-graph .js-plotly-plot');
const index = graph._fullData.findIndex(trace => trace.name === arguments[0]);
const layer = graph.querySelectorAll('.barlayer .trace')[index];
if (!layer) { return 0; }
return Array.from(layer.querySelectorAll('.point path')).filter(p => {
  const box = p.getBBox(); return box.width > 0 && box.height > 0; }).length;
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
    drawn = browser.driver.execute_script(DRAWN_OVERDUE_BARS, "Overdue (past target)")
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
