"""End to end in headless Chromium: a QI lead drills into a run chart and records a change tested."""

from __future__ import annotations

import pytest
from dash.testing.wait import until
from selenium.webdriver.common.action_chains import ActionChains

from tests.conftest import SAMPLE_REFERENCE

pytestmark = pytest.mark.browser

# Northshire per child from 1 Jan 2025: one point, the sample child's recommendation on
# 1 Sep 2025, 243 days (34.7 weeks) after being accommodated on 1 Jan 2025.
CHART_URL = "/qi?authority=NTH&rule=permanence_recommendation&measure=per_child&since=2025-01-01"
TRACE_X = """
const graph = document.querySelector('#qi-graph .js-plotly-plot');
if (!graph || !graph.data) { return null; }
const trace = graph.data.find(t => t.name === arguments[0]);
return trace ? trace.x : null;
"""
SCROLL_TO = "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});"


def click(browser, element) -> None:
    """Bring an element to the middle of the window at once (Bootstrap scrolls smoothly), then click it."""
    browser.driver.execute_script(SCROLL_TO, element)
    element.click()


def test_clicking_a_point_lists_the_children_behind_it_with_links(browser):
    browser.driver.get(f"{browser.server_url}{CHART_URL}")
    browser.wait_for_element("#qi-graph .scatterlayer .trace .points path", timeout=30)
    assert browser.driver.execute_script(TRACE_X, "Points") == ["2025-09-01"]
    point = browser.find_element("#qi-graph .scatterlayer .trace .points path")
    ActionChains(browser.driver).move_to_element(point).click().perform()
    browser.wait_for_element("#qi-drill-table", timeout=20)
    link = browser.find_element("#qi-drill-table tbody a")
    assert link.text == SAMPLE_REFERENCE
    click(browser, link)
    browser.wait_for_element("#child-timeline-graph .main-svg", timeout=20)
    assert browser.driver.current_url.endswith(f"/child/{SAMPLE_REFERENCE}")
    assert browser.get_logs() == []


def test_adding_a_change_tested_lists_it_and_marks_it_on_the_chart(browser):
    browser.driver.get(f"{browser.server_url}{CHART_URL}")
    browser.wait_for_element("#qi-graph .scatterlayer", timeout=30)
    browser.wait_for_element("#qi-note-authority", timeout=20)
    assert browser.find_element("#qi-note-authority").get_attribute("value") == "NTH"
    date_input = browser.find_element("#qi-note-date")
    browser.driver.execute_script(SCROLL_TO, date_input)
    # A date input takes typed digits field by field in the browser's locale (en-US: month, day, year).
    date_input.send_keys("09012025")
    browser.find_element("#qi-note-kind").send_keys("PDSA")
    browser.find_element("#qi-note-text").send_keys("Tracking meeting every fortnight")
    click(browser, browser.find_element("#qi-note-save"))
    browser.wait_for_element("#qi-note-saved", timeout=20)
    assert "1 Sep 2025" in browser.find_element("#qi-note-saved").text
    browser.wait_for_contains_text("#qi-notes-table", "Tracking meeting every fortnight", timeout=20)
    until(lambda: browser.driver.execute_script(TRACE_X, "Change tested") == ["2025-09-01"], timeout=20)
    assert browser.get_logs() == []
