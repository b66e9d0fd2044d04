"""`make demo` rides out its own Redis: killed, it is started again, and the street's results reach a
websocket client again, as they do after an outage of an external Redis."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from harness.processes import REPO, free_port
from scripts.demo import demo_clip
from tests.support import next_live_result

PASSWORD = "demo-outage-test-1"
ATTEMPTS = 60  # websocket connections tried, about one a second, before the test gives up


def _redis_pid(port: int) -> int:
    """The redis-server serving ``port`` (it names its address in its process title)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if title.startswith("redis-server") and f":{port}" in title:
                return int(proc.name)
    raise AssertionError(f"no redis-server on port {port}")


def _token(base: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/auth/token/", data=json.dumps({"username": "admin", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["token"]


async def _a_result(url: str, captured_after: float = 0) -> dict:
    """Connect as the dashboard does (again after a close or a refused connection) until a result captured
    after ``captured_after`` comes. A connection made in the moment Redis is killed may still be sent the
    newest result from before: that one does not count."""
    for _ in range(ATTEMPTS):
        try:
            async with connect(url, open_timeout=5) as client:
                while True:
                    meta = (await next_live_result(client, 5))[0]
                    if meta["ts_capture"] > captured_after:
                        return meta
        except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
            await asyncio.sleep(1)
    raise AssertionError(f"no result from {url} in {ATTEMPTS} attempts")


async def test_the_demo_starts_its_redis_again_and_results_flow_again():
    if demo_clip() is None:
        pytest.skip("no demo clip: `make assets` fetches one")
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "scripts/demo.py"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # without REDIS_URL (the tests' own), the demo starts and owns its Redis
        env={**{k: v for k, v in os.environ.items() if k != "REDIS_URL"}, "EI_ADMIN_PASSWORD": PASSWORD, "EI_PORT": str(port)},
    )
    lines: list[str] = []
    # Read all along: a pipe nobody reads fills up and stalls the demo's processes.
    reader = threading.Thread(target=lambda: lines.extend(demo.stdout), daemon=True)
    reader.start()
    try:
        for _ in range(1200):  # its first run prepares the database and converts the models
            if any("dashboard http" in line for line in lines) or demo.poll() is not None:
                break
            time.sleep(0.1)
        assert demo.poll() is None, "".join(lines)
        redis_port = int(re.search(r"Started Redis \(redis://127\.0\.0\.1:(\d+)/0\)", "".join(lines)).group(1))
        base = f"http://127.0.0.1:{port}"
        url = f"ws://127.0.0.1:{port}/ws/streams/street/?token={_token(base)}"
        before = await _a_result(url)

        os.kill(_redis_pid(redis_port), signal.SIGKILL)
        after = await _a_result(url, captured_after=before["ts_capture"])
        assert after["stream"] == "street", "a result captured after the outage"
        assert demo.poll() is None, "the demo is still running"
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=90)
        reader.join(timeout=10)
    output = "".join(lines)
    assert "demo: redis exited" in output and "demo: redis started again" in output, output
    assert demo.returncode == 0, output
