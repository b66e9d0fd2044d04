"""Websockets while Redis is away: the handshake and every open socket get 4503 "try
again", the outage is logged once, no sender task is left behind, and clients are served again once Redis
answers. A private redis-server, stopped and started again on the same port."""

from __future__ import annotations

import asyncio
import logging

import pytest
from channels.testing import WebsocketCommunicator

from harness.processes import free_port
from harness.redis_server import start_redis_server
from tests.controlplane.realtime.helpers import add_result, close_code, next_result
from inference_worker.runtime import redis_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_redis(tmp_path, settings):
    """A redis-server for the results, and how to stop and start it again."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    settings.REDIS_URL = url
    server = {"proc": start_redis_server(port, tmp_path)}

    class Control:
        def stop(self):
            server["proc"].terminate()

        def start(self):
            server["proc"] = start_redis_server(port, tmp_path)

        def client(self):
            return redis_client(url)

    yield Control()
    server["proc"].terminate()


def _senders_left() -> list[asyncio.Task]:
    return [task for task in asyncio.all_tasks() if "send_results" in repr(task.get_coro()) and not task.done()]


async def _open(path: str) -> WebsocketCommunicator:
    from controlplane.config.asgi import application

    communicator = WebsocketCommunicator(application, path)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    return communicator


async def test_an_outage_closes_sockets_with_try_again_and_they_are_served_when_redis_is_back(
    own_redis, streams, token, jpeg, caplog,
):
    realtime_log = logging.getLogger("ei.realtime")  # the project's logging config keeps it from the root
    realtime_log.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="ei.realtime")
    watching = await _open(f"/ws/streams/street/?token={token}")
    assert await watching.receive_nothing(timeout=0.3)

    own_redis.stop()
    assert await close_code(watching) == 4503, "an open socket is told to try again"
    during = [await _open(f"/ws/streams/{name}/?token={token}") for name in ("street", "street", "door")]
    assert [await close_code(client) for client in during] == [4503, 4503, 4503], "so is every handshake"
    assert _senders_left() == []
    # by identity: a record may reach caplog twice (through the root logger and the handler added above)
    outage_lines = {id(r): r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()}
    assert len(outage_lines) == 1, list(outage_lines.values())

    own_redis.start()
    with own_redis.client() as client:
        meta = add_result(client, "street", 5, jpeg)
    back = await _open(f"/ws/streams/street/?token={token}")
    assert await next_result(back) == (meta, jpeg), "the latest result once Redis answers"
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    await back.disconnect()
    realtime_log.removeHandler(caplog.handler)
