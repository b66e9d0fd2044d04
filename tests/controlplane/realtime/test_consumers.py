"""The websocket of a stream, in this process: who may connect, and what a client receives on connect."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from harness.processes import wait_until
from inference_worker import protocol
from tests.controlplane.realtime.helpers import add_result, close_code, next_result

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_token_client_gets_the_latest_result_at_once_with_exact_jpeg_bytes(ws, r, streams, token, jpeg):
    for seq in range(3):
        meta = add_result(r, "street", seq, jpeg)
    client = await ws(f"/ws/streams/street/?token={token}")
    got_meta, got_jpeg = await next_result(client)
    assert got_meta == meta and got_meta["seq"] == 2, "the newest result, its meta unchanged"
    assert got_jpeg == jpeg
    assert await client.receive_nothing(timeout=0.5), "only the latest; older ones are history"


async def test_the_original_demo_path_and_a_disabled_stream_work_too(ws, r, streams, token, jpeg):
    meta = add_result(r, "door", 7, jpeg)
    client = await ws(f"/door?token={token}")
    assert await next_result(client) == (meta, jpeg)


async def test_frames_0_sends_the_meta_alone_as_json_text(ws, r, streams, token, jpeg):
    meta = add_result(r, "street", 0, jpeg)
    client = await ws(f"/ws/streams/street/?token={token}&frames=0")
    message = await client.receive_output(timeout=10)
    assert "bytes" not in message or message["bytes"] is None
    assert json.loads(message["text"]) == meta


async def test_picture_preview_gets_the_workers_preview_or_the_frame_when_it_has_none(ws, r, streams, token, jpeg):
    add_result(r, "street", 0, jpeg, preview=b"small jpeg")
    add_result(r, "door", 0, jpeg)
    assert (await next_result(await ws(f"/ws/streams/street/?token={token}&picture=preview")))[1] == b"small jpeg"
    assert (await next_result(await ws(f"/ws/streams/street/?token={token}&picture=full")))[1] == jpeg
    assert (await next_result(await ws(f"/ws/streams/door/?token={token}&picture=preview")))[1] == jpeg


async def test_a_preview_watcher_marks_its_stream_watched_for_the_workers_while_it_is_connected(
        ws, r, streams, token, monkeypatch):
    from controlplane.realtime import watched

    monkeypatch.setattr(watched, "REFRESH", 0.2)
    watched.preview_watchers.clear()  # a new one, with the patched REFRESH
    full = await ws(f"/ws/streams/door/?token={token}")
    assert not r.exists(protocol.watched_key("door")), "full frames need no preview"
    tile = await ws(f"/ws/streams/street/?token={token}&picture=preview")
    assert r.exists(protocol.watched_key("street")), "set before the handshake completes"
    assert 0 < r.ttl(protocol.watched_key("street")) <= protocol.WATCHED_TTL, "it expires unless refreshed"
    r.delete(protocol.watched_key("street"))
    await asyncio.to_thread(wait_until, lambda: r.exists(protocol.watched_key("street")), 5, "the key rewritten")

    await tile.disconnect()
    await asyncio.sleep(0.1)  # the refresher stops with the last preview watcher of the stream
    r.delete(protocol.watched_key("street"))
    await asyncio.sleep(0.6)
    assert not r.exists(protocol.watched_key("street")), "no longer refreshed: it would expire by itself"
    assert not r.exists(protocol.watched_key("door"))
    await full.disconnect()


async def test_an_unknown_picture_is_refused_with_4400(ws, redis_url, streams, token):
    assert await close_code(await ws(f"/ws/streams/street/?token={token}&picture=huge")) == 4400


async def test_a_stream_with_no_results_yet_sends_nothing_until_one_comes(ws, redis_url, streams, token):
    client = await ws(f"/ws/streams/street/?token={token}")
    assert await client.receive_nothing(timeout=0.5)


@pytest.mark.parametrize("query", ["", "?token=", "?token=not-a-token"])
async def test_no_or_a_wrong_token_is_refused_with_4401(ws, redis_url, streams, query):
    assert await close_code(await ws(f"/ws/streams/street/{query}")) == 4401


async def test_an_inactive_users_token_is_refused(ws, redis_url, streams, token, viewer):
    viewer.is_active = False
    await viewer.asave()
    assert await close_code(await ws(f"/ws/streams/street/?token={token}")) == 4401


@pytest.mark.parametrize("path", ["/ws/streams/nowhere/", "/nowhere", "/ws/streams/bad%20name/"])
async def test_an_unknown_stream_is_refused_with_4404(ws, redis_url, streams, token, path):
    assert await close_code(await ws(f"{path}?token={token}")) == 4404


async def test_the_workers_download_token_may_not_watch(ws, redis_url, streams):
    from controlplane.registry.management.commands.worker_token import worker_token_issue

    key = await database_sync_to_async(worker_token_issue)()
    assert await close_code(await ws(f"/ws/streams/street/?token={key}")) == 4403


async def test_an_unknown_stream_is_not_revealed_to_strangers(ws, redis_url, streams):
    assert await close_code(await ws("/ws/streams/nowhere/")) == 4401


async def test_a_session_cookie_works_from_an_allowed_origin(ws, r, streams, session_cookie, jpeg):
    meta = add_result(r, "street", 0, jpeg)
    client = await ws("/ws/streams/street/", [(b"cookie", session_cookie), (b"origin", b"http://localhost:8000")])
    assert (await next_result(client))[0] == meta


@pytest.mark.parametrize("origin", [b"http://evil.example", b"null", None])
async def test_a_session_cookie_from_another_origin_is_refused_with_4403(ws, redis_url, streams, session_cookie, origin):
    headers = [(b"cookie", session_cookie)] + ([(b"origin", origin)] if origin else [])
    assert await close_code(await ws("/ws/streams/street/", headers)) == 4403


async def test_a_token_needs_no_origin_and_ignores_a_foreign_one(ws, r, streams, token, jpeg):
    meta = add_result(r, "street", 0, jpeg)
    client = await ws(f"/ws/streams/street/?token={token}", [(b"origin", b"http://evil.example")])
    assert (await next_result(client))[0] == meta


async def test_anonymous_clients_may_watch_only_when_anonymous_read_is_on(ws, r, streams, jpeg, settings):
    meta = add_result(r, "street", 0, jpeg)
    assert await close_code(await ws("/ws/streams/street/")) == 4401
    settings.EI_ANONYMOUS_READ = True
    client = await ws("/ws/streams/street/")
    assert (await next_result(client))[0] == meta
    assert await close_code(await ws("/ws/streams/nowhere/")) == 4404
    assert await close_code(await ws("/ws/streams/street/?token=wrong")) == 4401, "a wrong token is still wrong"
