"""A real server: the web server (uvicorn) as a process, and clients of the ``websockets`` library.
"""

from __future__ import annotations

import asyncio
import socket

import cv2
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from controlplane.realtime.wire import parse_binary_message
from tests.controlplane.realtime.helpers import add_result
from tests.controlplane.realtime.live import LiveSite
from tests.support import jpeg_of, sample_image


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    return jpeg_of(sample_image("chelsea"))


@pytest.fixture(scope="module")
def site(redis_server, tmp_path_factory):
    site = LiveSite(tmp_path_factory.mktemp("site"), redis_server["url"]).start("street", "busy")
    yield site
    assert set(site.stop().values()) == {0}, "the web server stops cleanly on SIGTERM"


async def test_a_script_with_a_token_watches_a_stream(site, r, jpeg):
    """Every result published once the handshake is done arrives, in order, with its exact bytes."""
    async with connect(site.ws_url(f"/ws/streams/street/?token={site.token}")) as client:
        sent = [add_result(r, "street", seq, jpeg) for seq in range(3)]
        got = [parse_binary_message(await asyncio.wait_for(client.recv(), 10)) for _ in sent]
    assert got == [(meta, jpeg) for meta in sent]


async def test_refusals_arrive_as_close_codes(site, redis_url):
    for path, code in [("/ws/streams/street/", 4401), (f"/nowhere?token={site.token}", 4404)]:
        async with connect(site.ws_url(path)) as client:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(client.recv(), 10)
        assert closed.value.rcvd.code == code


async def test_a_client_that_stops_reading_does_not_hold_up_another(site, r):
    """The slow client's results are dropped oldest first, once its socket is full, instead of piling
    up in the server: when it reads again it gets the newest, not all of them; the fast one gets all."""
    big = jpeg_of(cv2.resize(sample_image("astronaut"), (1024, 1024)), quality=95)  # ~300 KB
    url = site.ws_url(f"/ws/streams/busy/?token={site.token}")
    small_window = socket.socket()
    small_window.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    small_window.connect(("127.0.0.1", site.port))
    async with connect(url) as fast, connect(url, sock=small_window, max_queue=1) as slow:
        count = 90

        async def read_all() -> list[int]:
            seqs = []
            while not seqs or seqs[-1] < count - 1:
                seqs.append(parse_binary_message(await fast.recv())[0]["seq"])
            return seqs

        reader = asyncio.create_task(read_all())
        for seq in range(count):
            add_result(r, "busy", seq, big)
            await asyncio.sleep(1 / 30)
        fast_seqs = await asyncio.wait_for(reader, 60)
        slow_seqs = []
        while not slow_seqs or slow_seqs[-1] < count - 1:
            slow_seqs.append(parse_binary_message(await asyncio.wait_for(slow.recv(), 10))[0]["seq"])
    assert len(fast_seqs) >= 0.9 * count and fast_seqs == sorted(fast_seqs)
    assert slow_seqs == sorted(slow_seqs) and slow_seqs[-1] == count - 1, "the slow client still gets the newest"
    assert len(slow_seqs) < 0.7 * count, "and not a backlog of everything it did not read"
