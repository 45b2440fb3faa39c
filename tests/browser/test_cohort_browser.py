"""End to end in headless Chromium: a manager filters a cohort and opens a child from it."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.conftest import OTHER_AUTHORITY_REFERENCE, SAMPLE_REFERENCE

pytestmark = pytest.mark.browser

ROWS_DRAWN = """
const graph = document.querySelector('#cohort-timeline-graph .js-plotly-plot');
if (!graph || !graph._fullData) { return null; }
const rows = graph._fullData.find(trace => trace.name === arguments[0]);
return rows ? Array.from(rows.text) : null;
"""
# A real mouse click at a row's marker, through plotly's own hover and click handling.
CLICK_ROW = """
const graph = document.querySelector('#cohort-timeline-graph .js-plotly-plot');
const rows = graph._fullData.find(trace => trace.name === arguments[0]);
const index = Array.from(rows.text).indexOf(arguments[1]);
const size = graph._fullLayout._size, box = graph.getBoundingClientRect();
const x = box.left + size.l + graph._fullLayout.xaxis.l2p(rows.x[index]);
const y = box.top + size.t + graph._fullLayout.yaxis.l2p(rows.y[index]);
const target = graph.querySelector('.nsewdrag');
for (const type of ['mousemove', 'mousedown', 'mouseup', 'click']) {
  const buttons = type === 'mousedown' ? 1 : 0;
  target.dispatchEvent(new MouseEvent(type, {clientX: x, clientY: y, bubbles: true, buttons}));
}
"""


def _rows(browser):
    return browser.driver.execute_script(ROWS_DRAWN, "Child (click to open)")


def test_filtering_by_authority_redraws_the_timeline_and_updates_the_url(browser):
    browser.driver.get(f"{browser.server_url}/cohort")
    browser.wait_for_text_to_equal("#cohort-count", "3 children", timeout=30)
    browser.wait_for_element("#cohort-timeline-graph .gl-container", timeout=30)
    assert _rows(browser)[0] == SAMPLE_REFERENCE

    browser.find_element("#cohort-filter-authority").click()
    next(option for option in browser.find_elements("[role=option]") if "Southvale" in option.text).click()
    browser.wait_for_text_to_equal("#cohort-count", "1 child", timeout=30)
    browser.wait_for_element("#cohort-timeline-graph .gl-container", timeout=30)
    assert _rows(browser) == [OTHER_AUTHORITY_REFERENCE]
    assert "la=STH" in browser.driver.current_url  # the view is shareable
    assert browser.get_logs() == []


def test_a_deep_link_opens_the_filtered_view_and_a_click_opens_the_child(browser):
    browser.driver.get(f"{browser.server_url}/cohort?la=NTH&group=none")
    browser.wait_for_text_to_equal("#cohort-count", "2 children", timeout=30)
    browser.wait_for_element("#cohort-timeline-graph .gl-container", timeout=30)
    browser.driver.execute_script("document.querySelector('#cohort-timeline-graph').scrollIntoView()")
    browser.driver.execute_script(CLICK_ROW, "Child (click to open)", SAMPLE_REFERENCE)
    browser.wait_for_element("#child-timeline-graph", timeout=30)
    assert browser.driver.current_url.endswith(f"/child/{SAMPLE_REFERENCE}")


def test_the_keyboard_list_and_the_watch_list_link_to_children(browser):
    browser.driver.get(f"{browser.server_url}/watchlist")
    browser.wait_for_text_to_equal("#watch-count", "3 milestones, 2 children", timeout=30)
    first = browser.find_element("#watch-grid .ag-row[row-index='0'] a")
    assert first.text == SAMPLE_REFERENCE
    first.click()
    browser.wait_for_element("#child-timeline-graph", timeout=30)
    assert browser.driver.current_url.endswith(f"/child/{SAMPLE_REFERENCE}")

    browser.driver.get(f"{browser.server_url}/cohort?la=STH")
    browser.wait_for_text_to_equal("#cohort-count", "1 child", timeout=30)
    browser.find_element("#cohort-row-list").find_element(By.XPATH, "..").find_element(
        By.TAG_NAME, "summary"
    ).click()
    browser.find_element("#cohort-row-list a").click()
    browser.wait_for_text_to_equal("#child-stage", "Awaiting first review", timeout=30)
