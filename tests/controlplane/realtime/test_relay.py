"""The relay in this process, end to end: Redis result streams -> channel layer on Redis -> websockets."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
import redis
import simplejpeg

from controlplane.realtime.relay import Relay
from controlplane.realtime.wire import parse_binary_message
from inference_worker import protocol
from inference_worker.fleet import live_workers
from tests.controlplane.realtime.helpers import add_result, add_tracks, next_result, next_text, until_live
from harness.processes import Proc, free_port, wait_until
from harness.redis_server import start_redis_server
from tests.support import frame_bytes, worker_command

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def relay(redis_url):
    relay = Relay(redis_url, refresh=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    yield relay
    stop.set()
    await asyncio.wait_for(task, 10)


async def relaying(relay: Relay) -> None:
    """Wait for the relay's first look for streams: those it finds then start at "now"."""
    await asyncio.wait_for(relay.ready.wait(), 10)


async def test_results_reach_watchers_of_their_stream_only_in_order(ws, r, streams, token, jpeg, relay):
    street = await ws(f"/ws/streams/street/?token={token}")
    door = await ws(f"/door?token={token}")
    await relaying(relay)
    await until_live(street, r, "street", jpeg)
    await until_live(door, r, "door", jpeg)
    sent = [add_result(r, "street", seq, jpeg) for seq in range(5)]
    door_meta = add_result(r, "door", 0, jpeg)
    got = [await next_result(street) for _ in sent]
    assert [meta for meta, _ in got] == sent
    assert all(data == jpeg for _, data in got)
    assert (await next_result(door))[0] == door_meta
    assert await street.receive_nothing(timeout=0.3), "each result once"


async def test_each_watcher_gets_the_picture_it_asked_for(ws, r, streams, token, jpeg, relay):
    full = await ws(f"/ws/streams/street/?token={token}")
    small = await ws(f"/ws/streams/street/?token={token}&picture=preview")
    await relaying(relay)
    await until_live(full, r, "street", jpeg)
    await next_result(small)
    sent = [add_result(r, "street", seq, jpeg, preview=b"preview %d" % seq) for seq in range(3)]
    assert [await next_result(full) for _ in sent] == [(meta, jpeg) for meta in sent]
    assert [await next_result(small) for _ in sent] == [(meta, b"preview %d" % meta["seq"]) for meta in sent]


async def test_preview_watchers_get_no_full_frame_for_a_result_whose_preview_the_worker_skipped(
        ws, r, streams, token, jpeg, relay):
    full = await ws(f"/ws/streams/street/?token={token}")
    small = await ws(f"/ws/streams/street/?token={token}&picture=preview")
    await relaying(relay)
    await until_live(full, r, "street", jpeg)
    await next_result(small)
    sent = [add_result(r, "street", seq, jpeg, preview=b"" if seq % 2 else b"preview %d" % seq) for seq in range(4)]
    assert [await next_result(full) for _ in sent] == [(meta, jpeg) for meta in sent], "full frames: every result"
    assert [await next_result(small) for _ in sent[::2]] == [(meta, b"preview %d" % meta["seq"]) for meta in sent[::2]]
    assert await small.receive_nothing(timeout=0.3), "the skipped ones are not sent as full frames"


async def test_tracks_reach_every_watcher_of_their_stream_as_text_in_order(ws, r, streams, token, jpeg, relay):
    full = await ws(f"/ws/streams/street/?token={token}")
    small = await ws(f"/ws/streams/street/?token={token}&picture=preview")
    meta_only = await ws(f"/ws/streams/street/?token={token}&frames=0")
    door = await ws(f"/door?token={token}")
    await relaying(relay)
    await until_live(full, r, "street", jpeg)
    await next_result(small)
    await next_text(meta_only)
    sent = [add_tracks(r, "street", seq, [seq, None, 100 + seq]) for seq in range(5)]
    for client in (full, small, meta_only):
        assert [await next_text(client) for _ in sent] == sent, "the entry's meta as written, in order"
    assert await door.receive_nothing(timeout=0.3), "another stream's watchers get none"


async def test_a_malformed_tracks_entry_is_skipped_and_logged_once(ws, r, streams, token, jpeg, relay, caplog):
    caplog.set_level(logging.WARNING, logger="ei.relay")
    client = await ws(f"/ws/streams/street/?token={token}")
    await relaying(relay)
    await until_live(client, r, "street", jpeg)
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
    meta = add_result(r, "street", 2, jpeg)
    assert (await next_result(client))[0] == meta, "results keep coming"
    warnings = [record.getMessage() for record in caplog.records if record.name == "ei.relay"]
    assert len(warnings) == 1 and "street: skipping malformed tracks" in warnings[0], warnings


async def test_a_burst_of_tracks_pushes_no_frame_out_of_a_slow_clients_buffer(ws, r, streams, token, jpeg, relay):
    """The client's socket takes nothing (its drain paused, as daphne does while 64 KB wait) while three
    results and then many tracks entries come: it still gets the three results, and the newest tracks."""
    from controlplane.realtime.consumers import StreamConsumer
    from controlplane.realtime.fanout import fanout

    client = await ws(f"/ws/streams/street/?token={token}")
    await relaying(relay)
    await until_live(client, r, "street", jpeg)
    [consumer] = fanout().feeds["stream.street"].clients
    consumer.drain.pauseProducing()
    results = [add_result(r, "street", seq, jpeg) for seq in range(StreamConsumer.buffer_size)]
    tracks = [add_tracks(r, "street", seq, [seq]) for seq in range(3 * StreamConsumer.tracks_buffer_size)]
    while not (consumer.tracks and consumer.tracks[-1] == tracks[-1]):  # all handed to the client
        await asyncio.sleep(0.02)
    consumer.drain.resumeProducing()
    kept = StreamConsumer.tracks_buffer_size
    received = [await client.receive_output(timeout=10) for _ in range(len(results) + kept)]
    assert [parse_binary_message(m["bytes"]) for m in received if m.get("bytes")] == [(meta, jpeg) for meta in results]
    assert [m["text"] for m in received if m.get("text")] == tracks[-kept:]
    assert await client.receive_nothing(timeout=0.3)


async def test_a_stream_created_after_the_relay_started_gets_its_first_results(ws, r, db, token, jpeg, relay):
    """The gap pitfall: a new stream's first results are written before the relay's next look finds it.

    IDs are millisecond timestamps, so results dated 3 s and 1.5 s ago stand for results written that
    long before the relay found the stream: a relay that starts new streams at ``$`` never sends them.
    """
    from controlplane.streams.models import Stream

    await relaying(relay)
    await Stream.objects.acreate(name="gate", source_kind="external", queue="people")
    now_ms = int(time.time() * 1000)
    first = add_result(r, "gate", 0, jpeg, entry_id=f"{now_ms - 3000}-0")
    client = await ws(f"/ws/streams/gate/?token={token}")
    assert (await next_result(client))[0] == first, "the latest at once: the client is watching"
    second = add_result(r, "gate", 1, jpeg, entry_id=f"{now_ms - 1500}-0")
    third = add_result(r, "gate", 2, jpeg)
    assert [(await next_result(client))[0] for _ in range(2)] == [second, third]
    assert await client.receive_nothing(timeout=0.3), "the first one is not sent twice"


async def test_a_stream_known_only_to_redis_is_relayed_too(r, redis_url, jpeg, relay):
    """Streams whose producer runs elsewhere may have no row: the relay finds their result keys."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("stream.elsewhere", channel)
    await relaying(relay)
    meta = add_result(r, "elsewhere", 3, jpeg)
    event = await asyncio.wait_for(layer.receive(channel), 10)
    assert event["type"] == "stream.result" and event["jpeg"] == jpeg
    assert event["meta"] == protocol.encode_result(meta, jpeg)["meta"].decode(), "the worker's JSON, unchanged"
    await layer.group_discard("stream.elsewhere", channel)


async def test_a_real_worker_result_reaches_a_websocket(ws, r, redis_url, streams, token, jpeg, relay, tmp_path):
    worker = Proc(worker_command(redis_url, "face", "builtin:face", "--worker-id", "wf", "--max-age", "60"), tmp_path / "worker.log")
    try:
        await asyncio.to_thread(wait_until, lambda: live_workers(r), 120, "the worker's heartbeat")
        await relaying(relay)
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


async def test_the_relay_rides_out_a_redis_restart(redis_url, jpeg, tmp_path, caplog):
    """Results come from a Redis of this test's own, which goes away and comes back (empty)."""
    from channels.layers import get_channel_layer

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis_server(port, tmp_path)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("stream.cam", channel)
    relay = Relay(url, refresh=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    caplog.set_level(logging.INFO, logger="ei.relay")
    try:
        await relaying(relay)
        add_result(redis.Redis.from_url(url), "cam", 0, jpeg)
        assert (await asyncio.wait_for(layer.receive(channel), 10))["meta"]
        server.terminate()
        server.wait(10)
        await asyncio.sleep(1)  # a few failed reconnects
        server = start_redis_server(port, tmp_path)
        meta = await asyncio.to_thread(add_result, redis.Redis.from_url(url), "cam", 1, jpeg)
        event = await asyncio.wait_for(layer.receive(channel), 20)
        assert protocol.decode_result({b"meta": event["meta"].encode(), b"jpeg": event["jpeg"]}) == (meta, jpeg)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        server.terminate()
        server.wait(10)
        await layer.group_discard("stream.cam", channel)
    logged = [record.getMessage() for record in caplog.records if record.name == "ei.relay"]
    assert sum("unavailable" in line for line in logged) == 1, logged
    assert sum("reachable again" in line for line in logged) == 1, logged


async def test_the_relay_survives_losing_the_channel_layer(r, redis_url, jpeg, tmp_path):
    """The channel layer's Redis goes away while results keep coming (deployed, both are one Redis): the
    relay waits and carries on, it does not die."""
    from channels_redis.core import RedisChannelLayer

    port = free_port()
    layer_url = f"redis://127.0.0.1:{port}/0"
    server = start_redis_server(port, tmp_path)
    layer = RedisChannelLayer(hosts=[{"address": layer_url, "socket_timeout": 30}])
    relay = Relay(redis_url, refresh=0.2)
    relay.layer = layer
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await relaying(relay)
        server.terminate()
        server.wait(10)
        for seq in range(3):  # read by the relay, forwarded into a layer that is gone
            add_result(r, "cam", seq, jpeg)
        await asyncio.sleep(1.5)
        assert not task.done(), task.exception()
        server = start_redis_server(port, tmp_path)
        channel = await layer.new_channel()
        await layer.group_add("stream.cam", channel)

        async def delivered() -> dict:
            for seq in range(3, 1000):
                add_result(r, "cam", seq, jpeg)
                try:
                    return await asyncio.wait_for(layer.receive(channel), 2)
                except TimeoutError:
                    continue

        event = await asyncio.wait_for(delivered(), 40)
        assert event["meta"] and not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        server.terminate()
        server.wait(10)
