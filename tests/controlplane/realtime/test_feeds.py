"""Each web process's feeds, end to end in this process: Redis result and tracks streams -> websockets."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
import simplejpeg

from controlplane.realtime.wire import parse_binary_message
from inference_worker import protocol
from inference_worker.fleet import live_workers
from tests.controlplane.realtime.helpers import add_result, add_tracks, next_result, next_text
from harness.processes import Proc, wait_until
from tests.support import frame_bytes, worker_command

pytestmark = pytest.mark.django_db(transaction=True)


def _feeds():
    from controlplane.realtime.fanout import fanout

    return fanout().feeds


async def test_results_reach_watchers_of_their_stream_only_in_order(ws, r, streams, token, jpeg):
    street = await ws(f"/ws/streams/street/?token={token}")
    door = await ws(f"/door?token={token}")
    sent = [add_result(r, "street", seq, jpeg) for seq in range(5)]
    door_meta = add_result(r, "door", 0, jpeg)
    got = [await next_result(street) for _ in sent]
    assert [meta for meta, _ in got] == sent, "every result published after the handshake, in order"
    assert all(data == jpeg for _, data in got)
    assert (await next_result(door))[0] == door_meta
    assert await street.receive_nothing(timeout=0.3), "each result once"


async def test_clients_of_a_stream_share_one_feed_which_ends_with_the_last(ws, r, streams, token, jpeg):
    first = await ws(f"/ws/streams/street/?token={token}")
    second = await ws(f"/ws/streams/street/?token={token}&picture=preview")
    feed = _feeds()["street"]
    assert [len(clients) for clients in feed.clients.values()] == [1, 1], "one feed, each picture's client in it"
    meta = add_result(r, "street", 0, jpeg)
    assert (await next_result(first))[0] == (await next_result(second))[0] == meta
    await first.disconnect()
    assert _feeds()["street"] is feed, "a client is left"
    await second.disconnect()
    await asyncio.wait_for(feed.task, 5)
    assert "street" not in _feeds()


async def test_each_watcher_gets_the_picture_it_asked_for(ws, r, streams, token, jpeg):
    full = await ws(f"/ws/streams/street/?token={token}")
    small = await ws(f"/ws/streams/street/?token={token}&picture=preview")
    sent = [add_result(r, "street", seq, jpeg, preview=b"preview %d" % seq) for seq in range(3)]
    assert [await next_result(full) for _ in sent] == [(meta, jpeg) for meta in sent]
    assert [await next_result(small) for _ in sent] == [(meta, b"preview %d" % meta["seq"]) for meta in sent]


async def test_preview_watchers_get_no_full_frame_for_a_result_whose_preview_the_worker_skipped(
        ws, r, streams, token, jpeg):
    full = await ws(f"/ws/streams/street/?token={token}")
    small = await ws(f"/ws/streams/street/?token={token}&picture=preview")
    sent = [add_result(r, "street", seq, jpeg, preview=b"" if seq % 2 else b"preview %d" % seq) for seq in range(4)]
    assert [await next_result(full) for _ in sent] == [(meta, jpeg) for meta in sent], "full frames: every result"
    assert [await next_result(small) for _ in sent[::2]] == [(meta, b"preview %d" % meta["seq"]) for meta in sent[::2]]
    assert await small.receive_nothing(timeout=0.3), "the skipped ones are not sent as full frames"


async def test_tracks_reach_every_watcher_of_their_stream_as_text_in_order(ws, r, streams, token, jpeg):
    full = await ws(f"/ws/streams/street/?token={token}")
    small = await ws(f"/ws/streams/street/?token={token}&picture=preview")
    meta_only = await ws(f"/ws/streams/street/?token={token}&frames=0")
    door = await ws(f"/door?token={token}")
    sent = [add_tracks(r, "street", seq, [seq, None, 100 + seq]) for seq in range(5)]
    for client in (full, small, meta_only):
        assert [await next_text(client) for _ in sent] == sent, "the entry's meta as written, in order"
    assert await door.receive_nothing(timeout=0.3), "another stream's watchers get none"


async def test_a_client_gets_the_newest_result_and_each_queues_newest_tracks_on_connect(ws, r, streams, token, jpeg):
    """From Redis when it starts the stream's feed, from the feed's memory when it joins one."""
    add_tracks(r, "street", 0, [1], queue="face")
    face = add_tracks(r, "street", 1, [2], queue="face")
    add_tracks(r, "street", 0, [7])
    people = add_tracks(r, "street", 1, [8])
    add_result(r, "street", 0, jpeg)
    newest = add_result(r, "street", 1, jpeg)
    for path in (f"/ws/streams/street/?token={token}", f"/ws/streams/street/?token={token}&frames=0"):
        client = await ws(path)
        assert {await next_text(client), await next_text(client)} == {face, people}, "tracks first, one per queue"
        message = await client.receive_output(timeout=10)
        got = parse_binary_message(message["bytes"])[0] if message.get("bytes") else json.loads(message["text"])
        assert got == newest
        assert await client.receive_nothing(timeout=0.3), "nothing older"
    assert len(_feeds()["street"].clients["full"]) == 2, "the second joined the first one's feed"


async def test_malformed_entries_are_skipped_and_logged_once_per_key(ws, r, streams, token, jpeg, caplog):
    caplog.set_level(logging.WARNING, logger="ei.realtime")
    client = await ws(f"/ws/streams/street/?token={token}")
    key = protocol.tracks_key("street")
    first = add_tracks(r, "street", 0, [1])
    r.xadd(key, {"other": "field"})
    r.xadd(key, {"meta": b"\xff not utf-8"})
    r.xadd(key, {"meta": "{not json"})
    r.xadd(key, {"meta": first.replace('"tracks"', '"result"', 1)})  # another kind
    r.xadd(key, {"meta": first.replace('"street"', '"door"')})  # another stream's
    r.xadd(key, {"meta": first.replace('"seq": 0', '"seq": "0"')})
    last = add_tracks(r, "street", 1, [2])
    assert [await next_text(client), await next_text(client)] == [first, last]
    r.xadd(protocol.results_key("street"), {"meta": "{}"})  # no JPEG
    r.xadd(protocol.results_key("street"), {"jpeg": jpeg})  # no meta
    meta = add_result(r, "street", 2, jpeg)
    assert (await next_result(client))[0] == meta, "results keep coming"
    warnings = [record.getMessage() for record in caplog.records if record.name == "ei.realtime"]
    assert len(warnings) == 2, warnings
    assert "street: skipping malformed tracks" in warnings[0] and "street: skipping malformed results" in warnings[1]


async def test_a_burst_of_tracks_pushes_no_frame_out_of_a_slow_clients_buffer(ws, r, streams, token, jpeg):
    """The client's socket takes nothing (its ``send`` waits, as the server's does while the socket is
    full) while results and then many tracks entries come: it still gets every result its buffer holds
    (and the one its send holds), and the newest tracks."""
    from controlplane.realtime.consumers import StreamConsumer

    client = await ws(f"/ws/streams/street/?token={token}")
    [consumer] = _feeds()["street"].clients["full"]
    socket_full = asyncio.Event()
    send = consumer.base_send

    async def waiting_send(message):
        await socket_full.wait()
        await send(message)

    consumer.base_send = waiting_send
    results = [add_result(r, "street", seq, jpeg) for seq in range(StreamConsumer.buffer_size + 1)]
    tracks = [add_tracks(r, "street", seq, [seq]) for seq in range(3 * StreamConsumer.tracks_buffer_size)]
    while not (consumer.tracks and consumer.tracks[-1] == tracks[-1]):  # all handed to the client
        await asyncio.sleep(0.02)
    socket_full.set()
    kept = StreamConsumer.tracks_buffer_size
    received = [await client.receive_output(timeout=10) for _ in range(len(results) + kept)]
    assert [parse_binary_message(m["bytes"]) for m in received if m.get("bytes")] == [(meta, jpeg) for meta in results]
    assert [m["text"] for m in received if m.get("text")] == tracks[-kept:]
    assert await client.receive_nothing(timeout=0.3)


async def test_a_real_worker_result_reaches_a_websocket(ws, r, redis_url, streams, token, jpeg, tmp_path):
    worker = Proc(worker_command(redis_url, "face", "builtin:face", "--worker-id", "wf", "--max-age", "60"), tmp_path / "worker.log")
    try:
        await asyncio.to_thread(wait_until, lambda: live_workers(r), 120, "the worker's heartbeat")
        client = await ws(f"/ws/streams/door/?token={token}")
        tile = await ws(f"/ws/streams/door/?token={token}&picture=preview")
        r.rpush(protocol.frames_key("face"), frame_bytes("door", 41, jpeg))
        meta, data = await next_result(client, timeout=60)
        tile_meta, preview = await next_result(tile, timeout=10)
    finally:
        assert worker.terminate() == 0, worker.output()
    assert (meta["stream"], meta["seq"], meta["queue"], meta["worker"]) == ("door", 41, "face", "wf")
    assert meta["detections"] == [], "the cat has no human face"
    assert data == jpeg
    assert tile_meta == meta and simplejpeg.decode_jpeg_header(preview)[:2] == (213, 320), "451x300 -> 320 wide"
