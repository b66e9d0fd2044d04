"""The dashboard through a Redis outage: the one Redis of the whole system (results, Celery broker, the
supervisor's units) stops while a page watches a stream, and comes back empty, as a Redis
without persistence does. The page says it is reconnecting, then draws again without a reload."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.dashboard import SERVER_DOWN, STREET, frames_drawn, log_in, tile_canvas, wait_for_drawing
from tests.browser.system import PASSWORDS, SERVICE, System, running_system
from harness.processes import free_port, wait_until
from harness.redis_server import start_redis_server

pytestmark = pytest.mark.timeout(600)
expect.set_options(timeout=30_000)


class OwnRedis:
    """A redis-server this module may stop and start again on the same port."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = start_redis_server(self.port, workdir)

    @contextmanager
    def down(self) -> Iterator[None]:
        """Stopped inside the block, started again (empty) after it, even on failure."""
        self.proc.terminate()
        self.proc.wait(10)
        try:
            yield
        finally:
            self.proc = start_redis_server(self.port, self.workdir)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def system(own_redis, tmp_path_factory) -> Iterator[System]:
    """This module's own system, on the Redis it stops (the other browser tests share the session's)."""
    with running_system(own_redis.url, tmp_path_factory.mktemp("system")) as running:
        yield running


def test_the_live_page_draws_again_after_redis_comes_back_empty(page, system, own_redis, console):
    console.expect(SERVER_DOWN)
    console.expect(r"Failed to load resource: the server responded with a status of 503")  # fleet figures, Redis away
    system.api("POST", "/api/streams/", {"name": "plaza", **STREET})
    canvas = tile_canvas("plaza")
    log_in(page, "viewer", PASSWORDS["viewer"])
    connection = page.get_by_test_id("connection")
    wait_for_drawing(page, canvas, more_than=0, timeout=120)
    expect(connection).to_have_text("live")
    page.evaluate("window.__samePage = true")

    with own_redis.down():
        expect(connection).to_have_text("reconnecting", timeout=60_000)
    expect(connection).to_have_text("live", timeout=120_000)
    wait_for_drawing(page, canvas, more_than=frames_drawn(page, canvas) + 3, timeout=120)
    assert page.evaluate("window.__samePage === true"), "no page reload"
    # The fleet ran on through it: the statuses Redis lost are reported again, and nothing was stopped.
    for path in ("/api/streams/plaza/", f"/api/services/{SERVICE}/"):
        wait_until(lambda: system.api("GET", path)["status"] == "ready", 90, f"{path} ready again")
    supervisor = next(proc for proc in system.procs if proc.log_path.stem == "supervisor").output()
    assert "Redis holds no desired state" in supervisor and "no longer wanted" not in supervisor, supervisor[-3000:]
