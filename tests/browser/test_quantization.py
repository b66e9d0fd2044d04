"""INT8 quantization from the Models page, in headless Chromium against the whole running system: the street
video plays into the people service, an operator quantizes the built-in people model on that stream's
results, watches the job's progress bar, and sees the new model with its speed and agreement against its
parent. A viewer is offered no Quantize button."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from harness.processes import wait_until
from inference_worker import protocol
from inference_worker.runtime import redis_client
from tests.browser.dashboard import STREET, log_in
from tests.browser.system import PASSWORDS

pytestmark = pytest.mark.timeout(600)  # the module's system starts inside the first test's budget
expect.set_options(timeout=30_000)


def ready_people(system) -> dict:
    """The built-in people model, validated: built-ins are registered pending and the Celery worker validates them."""
    people = next(m for m in system.api("GET", "/api/models/?page_size=200")["results"] if m["builtin"] == "builtin:people")
    if people["status"] != "ready":
        system.api("POST", f"/api/models/{people['id']}/validate/")
        wait_until(lambda: system.api("GET", f"/api/models/{people['id']}/")["status"] == "ready", 120, "people validated")
    return people


def test_an_operator_quantizes_people_on_a_streams_results_and_sees_how_it_measured(page, system, screenshot):
    system.api("POST", "/api/streams/", {"name": "plaza", **STREET})
    try:
        results = redis_client(system.redis_url)
        wait_until(lambda: results.xlen(protocol.results_key("plaza")) >= 16, 120, "results of the plaza stream")
        people = ready_people(system)

        log_in(page, "operator", PASSWORDS["operator"])
        page.get_by_test_id("nav-models").click()
        row = page.locator('[data-testid=model-row][data-model="people:1"]')
        expect(row.get_by_test_id("precision")).to_have_text("FP32")
        row.get_by_test_id("quantize").click()
        form = page.get_by_test_id("quantize-form")
        form.get_by_test_id("quantize-stream").select_option("plaza")
        form.get_by_test_id("quantize-frames").fill("24")
        form.get_by_test_id("quantize-submit").click()
        expect(form).to_have_count(0)

        job = page.get_by_test_id("quantization-row").first
        expect(job.get_by_test_id("quantization-progress")).to_be_visible()
        expect(job.get_by_test_id("quantization-state")).to_have_text("done", timeout=240_000)
        expect(job.get_by_test_id("quantization-message")).to_contain_text(re.compile(r"F1 [01]\.\d\d on 8 held-out"))

        made = page.locator('[data-testid=model-row][data-model^="people-int8:1-q"]')
        expect(made.get_by_test_id("precision")).to_have_text("INT8")
        expect(made.get_by_test_id("status")).to_have_text("ready")
        expect(made.get_by_test_id("derived-from")).to_contain_text("people:1")
        expect(made.get_by_test_id("speedup")).to_have_text(re.compile(r"^\d+\.\d+x (faster|slower)$"))
        expect(made.get_by_test_id("agreement")).to_contain_text(re.compile(r"F1 [01]\.\d\d"))
        expect(made.get_by_test_id("quantize")).to_have_count(0)  # INT8 already
        screenshot("quantized")

        stored = next(m for m in system.api("GET", "/api/models/?page_size=200")["results"] if m["name"] == "people-int8")
        assert stored["derived_from"] == people["id"] and stored["calibration"] == {"source": "stream:plaza", "frames": 24}
        assert 0 <= stored["agreement"]["f1"] <= 1 and stored["speedup"] > 0
    finally:
        system.api("DELETE", "/api/streams/plaza/")


def test_a_viewer_sees_the_jobs_but_no_quantize_or_cancel_control(page, system):
    """A job waiting for frames of a silent stream is one an operator could cancel; the viewer sees it, unable to."""
    people = ready_people(system)
    system.api("POST", "/api/streams/", {"name": "silent", "source_kind": "external", "queue": "silent"})
    job = system.api("POST", f"/api/models/{people['id']}/quantize/", {"stream": "silent", "frames": 8})
    try:
        log_in(page, "viewer", PASSWORDS["viewer"])
        page.get_by_test_id("nav-models").click()
        expect(page.locator('[data-testid=model-row][data-model="people:1"]').get_by_test_id("precision")).to_have_text("FP32")
        row = page.locator(f'[data-testid=quantization-row][data-job="{job["id"]}"]')
        expect(row.get_by_test_id("quantization-state")).to_have_text("collecting")
        expect(page.get_by_test_id("quantize")).to_have_count(0)
        expect(row.get_by_test_id("quantization-cancel")).to_have_count(0)
        assert row.get_by_test_id("quantization-state").inner_text() == "collecting"  # the job is there, uncancellable
    finally:
        system.api("POST", f"/api/quantizations/{job['id']}/cancel/")
        system.api("DELETE", "/api/streams/silent/")
