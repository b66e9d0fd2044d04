"""The History page in headless Chromium: events made through the ORM in the test's database, which the
page's web server reads too; filter by label in the form, the filter kept in the URL and through a reload, rows
with their snapshots, the chart of counts, and an Export link that downloads exactly those rows.

Only the web server runs (no fleet): the page reads what the analyzer would have written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from harness.control_plane import ControlPlane
from harness.processes import wait_until
from tests.browser.dashboard import log_in
from tests.support import database_url, jpeg_of, sample_image

pytestmark = [pytest.mark.timeout(300), pytest.mark.django_db(transaction=True)]  # the web server reads the rows
expect.set_options(timeout=30_000)
PASSWORD = "history-viewer-pass-1"


@dataclass
class HistorySite(ControlPlane):
    """The web server on the test's database and media folder."""

    database: str = ""
    media: str = ""

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "DATABASE_URL": self.database, "EI_MEDIA_ROOT": self.media}


@pytest.fixture(scope="module")
def system(redis_server, django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[HistorySite]:
    """This module's site, as the browser fixtures name it (the others' is the whole system).

    Playwright's sync API keeps an event loop running on this thread, where Django then refuses the ORM;
    this module's ORM calls (rows made, the database flushed) never run inside that loop, so allow them.
    """
    from django.conf import settings

    with django_db_blocker.unblock():
        site = HistorySite(tmp_path_factory.mktemp("history"), redis_server["url"], database=database_url(),
                           media=str(settings.MEDIA_ROOT))
    site.web()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        try:
            wait_until(site.listening, 60, "the web server to listen")
            yield site
        finally:
            assert set(site.stop().values()) == {0}


@pytest.fixture
def history(db):
    """A viewer, four events from ten minutes ago (three with a snapshot), and the street's counts."""
    from django.contrib.auth.models import User
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from controlplane.analytics.models import Event, EventCount

    User.objects.create_user("viewer", password=PASSWORD)
    jpeg = jpeg_of(sample_image("astronaut")[:96, :128])
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    made = {}
    for track, (stream, label, snapshot) in enumerate(
        [("street", "person", True), ("street", "car", True), ("street", "car", False), ("yard", "car", True)], 1
    ):
        first = start + timedelta(seconds=track * 20)
        made[track] = Event.objects.create(
            stream=stream, queue="people", label=label, track=track, first_seen=first, last_seen=first + timedelta(seconds=8),
            first_seq=track, last_seq=track + 8, frames=9, best_score=0.5 + track / 10, best_box=[0.1, 0.1, 0.4, 0.6],
            path=[[0, 0.25, 0.35]], snapshot=ContentFile(jpeg, name=f"{track}.jpg") if snapshot else "",
        )
    counted = start + timedelta(minutes=1)
    buckets = {"minute": counted, "hour": counted.replace(minute=0), "day": counted.replace(hour=0, minute=0)}
    for label, count in (("person", 1), ("car", 2)):  # as the analyzer writes them: every bucket size
        for bucket, bucket_start in buckets.items():
            EventCount.objects.create(stream="street", label=label, bucket=bucket, start=bucket_start, count=count)
    return made


def shown_tracks(page) -> list[str]:
    return page.get_by_test_id("history-row").locator("td:nth-child(3)").all_inner_texts()


def test_filter_by_label_kept_in_the_url_through_a_reload_and_exported(page, system, history, screenshot):
    log_in(page, "viewer", PASSWORD)
    page.get_by_test_id("nav-history").click()
    expect(page.get_by_test_id("history-row")).to_have_count(4)  # newest first
    assert shown_tracks(page) == ["#4", "#3", "#2", "#1"]
    expect(page.get_by_test_id("history-chart-hint")).to_be_visible()

    page.fill("#history-label", "car")
    page.fill("#history-stream", "street")
    page.get_by_test_id("history-apply").click()
    expect(page).to_have_url(re.compile(r"#/history\?.*label=car"))
    query = parse_qs(urlparse(page.url).fragment.split("?", 1)[1])
    assert query == {"label": ["car"], "stream": ["street"]}, page.url

    def filtered() -> None:
        expect(page.get_by_test_id("history-row")).to_have_count(2)
        assert shown_tracks(page) == ["#3", "#2"]
        expect(page.get_by_test_id("history-label-cell")).to_have_text(["car", "car"])
        thumbs = page.get_by_test_id("history-thumb")
        expect(thumbs).to_have_count(1)  # #3 has no snapshot
        assert thumbs.get_attribute("loading") == "lazy"
        page.wait_for_function(  # the JPEG came through the API on the session cookie and decoded
            "() => { const img = document.querySelector('[data-testid=history-thumb]');"
            " return img && img.complete && img.naturalWidth === 128; }"
        )
        box = page.locator(".thumb-box").bounding_box()  # best_box [0.1, 0.1, 0.4, 0.6] of a 96x72 thumbnail
        frame = page.get_by_test_id("history-thumb").bounding_box()
        assert [round(v) for v in (box["x"] - frame["x"], box["y"] - frame["y"], box["width"], box["height"])] == [10, 7, 29, 36]
        stream_link = page.get_by_test_id("history-row").first.get_by_role("link", name="street")
        assert stream_link.get_attribute("href").endswith("/#/live/street")
        expect(page.get_by_test_id("history-chart")).to_have_attribute("data-labels", "car")
        expect(page.locator("#history-label")).to_have_value("car")
        expect(page.locator("#history-stream")).to_have_value("street")

    filtered()
    screenshot("filtered")
    page.reload()
    filtered()

    href = page.get_by_test_id("history-export-csv").get_attribute("href")
    export_query = parse_qs(urlparse(href).query)
    assert export_query == {"format": ["csv"], "label": ["car"], "stream": ["street"]}, href
    assert parse_qs(urlparse(page.get_by_test_id("history-export-ndjson").get_attribute("href")).query)["format"] == ["ndjson"]
    download = page.request.get(href)  # as the browser's session
    assert download.ok and download.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(download.text())))
    assert [(row["track"], row["label"], row["stream"]) for row in rows] == [("3", "car", "street"), ("2", "car", "street")]
    assert rows[1]["snapshot_url"].endswith(f"/api/events/{history[2].id}/snapshot/") and rows[0]["snapshot_url"] == ""


def test_load_more_follows_the_cursor(page, system, history):
    from django.utils import timezone

    from controlplane.analytics.models import Event

    older = timezone.now() - timedelta(hours=2)
    Event.objects.bulk_create(
        Event(stream="yard", queue="people", label="person", track=100 + i, first_seen=older - timedelta(seconds=i),
              last_seen=older, first_seq=i, last_seq=i, frames=1, best_score=0.6, best_box=[0, 0, 1, 1], path=[])
        for i in range(60)
    )
    log_in(page, "viewer", PASSWORD)
    page.goto("/#/history?stream=yard")
    rows = page.get_by_test_id("history-row")
    expect(rows).to_have_count(50)  # the API's page
    page.get_by_test_id("history-more").click()
    expect(rows).to_have_count(61)
    expect(page.get_by_test_id("history-more")).to_have_count(0)
    tracks = shown_tracks(page)
    assert tracks == ["#4", *[f"#{100 + i}" for i in range(60)]] and len(set(tracks)) == 61


def test_a_shared_link_opened_logged_out_keeps_its_filters_through_the_login(page, system, history):
    page.goto("/#/history?label=car&stream=street")
    expect(page).to_have_url(re.compile(r"#/login$"))
    page.fill("#login-username", "viewer")
    page.fill("#login-password", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(re.compile(r"#/history\?label=car&stream=street$"))
    expect(page.get_by_test_id("history-row")).to_have_count(2)
    assert shown_tracks(page) == ["#3", "#2"]
