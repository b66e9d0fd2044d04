"""The services page says why a pool has its size: each worker's value of the policy's metric, what the rule
wants and the reason, as ``GET /api/services/<name>/`` gives them (``scaling``)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.dashboard import log_in
from tests.browser.system import PASSWORDS, SERVICE

pytestmark = pytest.mark.timeout(600)  # the module's system starts inside the test's budget
expect.set_options(timeout=30_000)


def test_the_why_block_shows_each_workers_value_and_what_the_rule_wants(page, system, screenshot):
    log_in(page, "viewer", PASSWORDS["viewer"])
    page.get_by_test_id("nav-services").click()
    why = page.locator(f'[data-testid=service-row][data-service="{SERVICE}"]').get_by_test_id("scaling-why")
    replica = why.get_by_test_id("scaling-replica")
    expect(replica).to_have_count(1)  # its policy keeps one worker
    expect(replica.locator("dt")).to_have_text(f"{SERVICE}-0")
    expect(replica.locator("dd")).to_have_text(re.compile(r"^\d+\.\d\d$"))

    scaling = system.api("GET", f"/api/services/{SERVICE}/")["scaling"]
    assert scaling["wanted_replicas"] == 1 and scaling["reason"], scaling  # no load: the rule wants fewer
    expect(why.get_by_test_id("scaling-wanted")).to_contain_text("1 (1–1)")
    expect(why.get_by_test_id("scaling-reason")).to_have_text(scaling["reason"])
    screenshot("why")
