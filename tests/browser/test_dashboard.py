"""The dashboard in headless Chromium against the whole running system: log in, register a stream and
watch its boxes drawn (numbered with their tracks), change a scaling policy and a service's labels, upload a model that validates and a corrupt one,
read-only viewers, and a server restart the page lives through. Selectors are the UI contract's ``data-testid``s.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from urllib.error import HTTPError
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.dashboard import (
    SERVER_DOWN, STREET, frames_drawn, log_in, picture_width, tile_canvas, wait_for_drawing,
)
from tests.browser.system import PASSWORDS, POLICY, SERVICE, System
from tests.controlplane.realtime.helpers import add_result, add_tracks
from tests.controlplane.registry.model_support import ir_files
from harness.processes import wait_until
from inference_worker.runtime import redis_client
from tests.support import jpeg_of, sample_image

pytestmark = pytest.mark.timeout(600)  # the module's system starts inside the first test's budget
expect.set_options(timeout=30_000)  # a 2-core machine that runs the whole fleet and a browser

# Opens like an exported ONNX file (ir_version 8), so it passes the upload's cheap checks and fails in
# OpenVINO, where Celery validates it.
CORRUPT_ONNX = b"\x08\x08\x12\x07pytorch" + random.Random(7).randbytes(64 * 1024)


def wait_until_history(system: System, *, samples: int) -> None:
    wait_until(lambda: len(system.api("GET", f"/api/services/{SERVICE}/history/?minutes=10")["samples"]) >= samples,
               90, f"{samples} history samples", interval=1)


@pytest.fixture
def streams_made(system) -> Iterator[list[str]]:
    """Names of the streams a test makes; they are deleted after it, so their producers stop loading the machine."""
    names: list[str] = []
    yield names
    for name in names:
        try:
            system.api("DELETE", f"/api/streams/{name}/")
        except HTTPError as error:  # never made: the test has failed already and says why
            assert error.code == 404, error


def test_log_in_with_the_form_then_log_out(page, console):
    console.expect(r"status of 400")  # the browser's line for the refused login request
    page.goto("/")
    expect(page.locator("#login-username")).to_be_visible()  # reading needs a login here

    page.fill("#login-username", "admin")
    page.fill("#login-password", "not-the-password")
    page.click("[data-testid=login-submit]")
    expect(page.get_by_test_id("login-error")).not_to_be_empty()

    page.fill("#login-password", PASSWORDS["admin"])
    page.click("[data-testid=login-submit]")
    expect(page.get_by_test_id("current-user")).to_have_text("admin")
    assert urlparse(page.url).fragment in ("", "/", "/live"), page.url
    expect(page.get_by_test_id("read-only-banner")).to_have_count(0)

    page.get_by_test_id("logout").click()
    expect(page.locator("#login-username")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)
    assert page.request.get("/api/auth/me/").json()["authenticated"] is False


def test_a_stream_registered_in_the_form_is_drawn_with_its_boxes(page, system, streams_made, screenshot):
    log_in(page, "operator", PASSWORDS["operator"])
    page.get_by_test_id("nav-streams").click()
    streams_made.append("street")
    page.fill("#stream-name", "street")
    page.select_option("#stream-kind", STREET["source_kind"])
    page.fill("#stream-source", STREET["source"])
    page.fill("#stream-queue", STREET["queue"])
    page.fill("#stream-fps", str(STREET["target_fps"]))
    page.get_by_test_id("stream-submit").click()

    row = page.locator('[data-testid=stream-row][data-stream="street"]')
    expect(row).to_be_visible()
    stored = system.api("GET", "/api/streams/street/")
    assert {field: stored[field] for field in STREET} == STREET
    expect(row.get_by_test_id("status")).to_have_text("ready", timeout=90_000)

    page.get_by_test_id("nav-live").click()
    grid_canvas = tile_canvas("street")
    wait_for_drawing(page, grid_canvas, more_than=3, with_boxes=True)  # vtest: a street with pedestrians
    grid_width = picture_width(page, grid_canvas)
    tile = page.locator('[data-testid=stream-tile][data-stream="street"]')
    expect(tile.get_by_test_id("stream-fps")).to_contain_text(re.compile(r"[1-9]"))
    for figure in ("stream-latency", "stream-drops"):
        expect(tile.get_by_test_id(figure)).to_be_visible()
    stats = page.evaluate("window.__eiDrawStats.street")
    # In hand at any moment: at most the frame being decoded and the newest one waiting (never a queue).
    assert stats["drawn"] > 3 and 0 <= stats["received"] - stats["drawn"] - stats["replaced"] <= 2, stats
    screenshot("live-grid")

    tile.click()
    expect(page).to_have_url(re.compile(r"#/live/street$"))
    large_canvas = tile_canvas("street", large=True)
    expect(page.locator(large_canvas)).to_be_visible()
    wait_for_drawing(page, large_canvas, more_than=frames_drawn(page, large_canvas) + 3, with_boxes=True)
    screenshot("large")
    # The grid draws the workers' previews, the large view the frames as the producer sent them (640 wide).
    assert (grid_width, picture_width(page, large_canvas)) == (320, 640)


def test_a_policy_changed_on_the_services_page_reaches_the_api(page, system, screenshot):
    before = system.api("GET", f"/api/policies/{POLICY}/")
    log_in(page, "operator", PASSWORDS["operator"])
    page.get_by_test_id("nav-services").click()
    row = page.locator(f'[data-testid=service-row][data-service="{SERVICE}"]')
    expect(row.get_by_test_id("status")).to_have_text("ready")
    expect(row.get_by_test_id("replicas")).to_have_text(re.compile(r"^\s*[1-9]\d*/[1-9]\d*\s*$"))
    wanted = {"max_replicas": before["max_replicas"] + 1, "target_value": 0.8, "metric": before["metric"]}
    assert before["target_value"] != wanted["target_value"]
    try:
        row.get_by_test_id("policy-max").fill(str(wanted["max_replicas"]))
        row.get_by_test_id("policy-target").fill(str(wanted["target_value"]))
        row.get_by_test_id("policy-save").click()
        expect(row.get_by_test_id("policy-saved")).to_be_visible()
        policy = system.api("GET", f"/api/policies/{POLICY}/")
        assert {field: policy[field] for field in wanted} == wanted
        expect(row.get_by_test_id("form-error")).to_have_count(0)

        # The chart plots the fleet history: wait for a few samples, then for the canvas to show them.
        wait_until_history(system, samples=3)
        chart = row.get_by_test_id("service-chart")
        wait_until(lambda: int(chart.get_attribute("data-samples") or 0) >= 3, 60, "the chart to plot the samples")
        screenshot("services")
    finally:  # a higher maximum and a lower target may scale the pool up; the other tests want one worker
        system.api("PATCH", f"/api/policies/{POLICY}/", {k: before[k] for k in ("max_replicas", "target_value")})


def test_labels_edited_on_the_services_page_reach_the_api_and_an_unknown_one_is_explained(page, system, console,
                                                                                       screenshot):
    console.expect(r"status of 400")  # the browser's line for the refused save
    models = system.api("GET", "/api/models/?page_size=200")["results"]
    vehicles = next(model for model in models if model["builtin"] == "builtin:vehicles")
    # disabled: no worker starts or restarts, so the running fleet the other tests use is left alone
    system.api("POST", "/api/services/", {"name": "cars", "queue": "car", "model": vehicles["id"], "enabled": False})
    try:
        log_in(page, "operator", PASSWORDS["operator"])
        page.get_by_test_id("nav-services").click()
        row = page.locator('[data-testid=service-row][data-service="cars"]')
        expect(row.get_by_test_id("service-labels")).to_have_text("model default")
        row.get_by_test_id("labels-input").fill("car, lorry")
        row.get_by_test_id("labels-save").click()
        expect(row.locator(".field-error[data-field=labels]")).to_contain_text("has no label lorry")
        assert system.api("GET", "/api/services/cars/")["labels"] == []

        row.get_by_test_id("labels-input").fill("car, bus")
        row.get_by_test_id("labels-save").click()
        expect(row.get_by_test_id("labels-saved")).to_be_visible()
        expect(row.get_by_test_id("service-labels")).to_have_text("car, bus")
        expect(row.get_by_test_id("form-error")).to_have_count(0)
        assert system.api("GET", "/api/services/cars/")["labels"] == ["car", "bus"]
        screenshot("labels")
    finally:
        system.api("DELETE", "/api/services/cars/")


def test_a_corrupt_model_upload_ends_failed_with_the_reason(page, screenshot):
    log_in(page, "operator", PASSWORDS["operator"])
    page.get_by_test_id("nav-models").click()
    expect(page.locator('[data-testid=model-row][data-model="people:1"]')).to_be_visible()
    page.fill("#model-name", "broken")
    page.fill("#model-version", "1")
    page.set_input_files("#model-file", files=[{"name": "broken.onnx", "mimeType": "application/octet-stream",
                                                "buffer": CORRUPT_ONNX}])
    page.fill("#model-labels", "background,thing")
    # The upload of a small file may end within one frame: note whether its progress bar was ever shown.
    page.evaluate("""() => {
        window.__sawUploadProgress = false;
        new MutationObserver(() => {
            const bar = document.querySelector("progress[data-testid=upload-progress]");
            if (bar && bar.checkVisibility()) window.__sawUploadProgress = true;
        }).observe(document.body, {childList: true, subtree: true, attributes: true});
    }""")
    page.get_by_test_id("model-submit").click()

    row = page.locator('[data-testid=model-row][data-model="broken:1"]')
    expect(row.get_by_test_id("status")).to_have_text("failed", timeout=120_000)
    assert page.evaluate("window.__sawUploadProgress"), "the upload showed its progress"
    expect(row.get_by_test_id("status-message")).to_contain_text("cannot read model broken.onnx")
    expect(row.get_by_test_id("measured-fps")).not_to_contain_text(re.compile(r"[1-9]"))
    screenshot("models")


def test_a_model_upload_ends_ready_with_its_measured_fps(page, system, tmp_path):
    xml, weights = ir_files(tmp_path)  # a small real SSD detector as an OpenVINO IR
    log_in(page, "operator", PASSWORDS["operator"])
    page.get_by_test_id("nav-models").click()
    page.fill("#model-name", "tiny-ssd")
    page.fill("#model-version", "1")
    page.set_input_files("#model-file", str(xml))
    page.set_input_files("#model-weights", str(weights))
    page.fill("#model-labels", "background,thing")
    page.get_by_test_id("model-submit").click()

    row = page.locator('[data-testid=model-row][data-model="tiny-ssd:1"]')
    expect(row.get_by_test_id("status")).to_have_text("ready", timeout=120_000)
    expect(row.get_by_test_id("measured-fps")).to_contain_text(re.compile(r"[1-9]"))
    stored = [m for m in system.api("GET", "/api/models/?page_size=200")["results"] if m["name"] == "tiny-ssd"]
    assert [(m["status"], m["measured_fps"] > 0, bool(m["weights"])) for m in stored] == [("ready", True, True)]


def test_a_viewer_is_told_it_is_read_only_and_has_no_write_controls(page, system):
    system.api("POST", "/api/streams/", {"name": "door", "source_kind": "external", "queue": "people"})
    log_in(page, "viewer", PASSWORDS["viewer"])
    expect(page.get_by_test_id("read-only-banner")).to_be_visible()
    pages = {  # page -> a row that shows it has rendered, and the write controls it must not offer
        "streams": ('[data-testid=stream-row][data-stream="door"]', ["stream-submit"]),
        "services": (f'[data-testid=service-row][data-service="{SERVICE}"]',
                     ["policy-save", "service-enable", "service-disable", "labels-save"]),
        "models": ('[data-testid=model-row][data-model="people:1"]', ["model-submit"]),
    }
    offered = {}  # page -> write controls a viewer could use there
    for name, (rendered, controls) in pages.items():
        page.get_by_test_id(f"nav-{name}").click()
        expect(page.locator(rendered)).to_be_visible()
        expect(page.get_by_test_id("read-only-banner")).to_be_visible()
        offered[name] = [control for control in controls
                         for button in page.get_by_test_id(control).all() if button.is_enabled()]
    assert offered == {name: [] for name in pages}, offered
    page.get_by_test_id("nav-services").click()  # the policy a viewer cannot edit still reads as the form's
    expect(page.get_by_test_id("policy-metric").first.locator("option:checked")).to_have_text(
        "Scale ratio (workers needed per worker)"
    )


def test_the_live_page_reconnects_after_a_server_restart(page, system, streams_made, console):
    console.expect(SERVER_DOWN)
    system.api("POST", "/api/streams/", {"name": "plaza", **STREET})
    streams_made.append("plaza")
    canvas = tile_canvas("plaza")
    log_in(page, "viewer", PASSWORDS["viewer"])
    connection = page.get_by_test_id("connection")
    wait_for_drawing(page, canvas, more_than=0)
    expect(connection).to_have_text("live")
    page.evaluate("window.__samePage = true")

    with system.web_down():
        expect(connection).to_have_text("reconnecting")
    expect(connection).to_have_text("live", timeout=90_000)
    wait_for_drawing(page, canvas, more_than=frames_drawn(page, canvas) + 3)
    assert page.evaluate("window.__samePage === true"), "no page reload"


def test_a_live_tile_numbers_its_boxes_once_their_tracks_come(page, system, streams_made):
    """A result, and once its frame is drawn, its tracks entry, as the analytics stage writes it: the tile
    paints the same frame again with the track number."""
    system.api("POST", "/api/streams/", {"name": "crossing", "source_kind": "external", "queue": "people"})
    streams_made.append("crossing")
    canvas = page.locator(tile_canvas("crossing"))
    log_in(page, "viewer", PASSWORDS["viewer"])
    expect(canvas).to_be_visible()
    client = redis_client(system.redis_url)
    add_result(client, "crossing", 7, jpeg_of(sample_image("chelsea")))  # one person box, score 0.9
    expect(canvas).to_have_attribute("data-last-seq", "7")
    expect(canvas).to_have_attribute("data-labels", json.dumps(["person 0.90"]))
    drawn = frames_drawn(page, tile_canvas("crossing"))

    add_tracks(client, "crossing", 7, [12])
    expect(canvas).to_have_attribute("data-labels", json.dumps(["person #12 0.90"]))
    assert json.loads(canvas.get_attribute("data-labels")) == ["person #12 0.90"]
    assert frames_drawn(page, tile_canvas("crossing")) == drawn, "the same frame painted again, not a new one"
