"""The relay: every stream's results and track numbers, from Redis to the Channels groups of the
clients watching it (one group per picture: the frames, and the workers' previews of them; track
numbers go to both). Who watches the previews is the consumers' business (``watched.py``), not the relay's.

One blocking XREAD covers all result and tracks streams, so an idle relay costs nothing and a busy
one makes one round trip per batch; the Redis streams are forwarded concurrently, each in order. The
channel layer serialises with msgpack and, with channels-redis, carries one copy per server process,
however many clients there watch.

Streams are found in the database and among the ``ei:results:*`` keys, every ``refresh`` seconds
(a stream's tracks follow its results, so a stream with tracks has results). Where to start reading
one, its results and its tracks alike: streams present at start-up start now. A stream found later is
read from ``backfill`` seconds before it was found (stream IDs are millisecond timestamps): its first
results are usually written before the next poll finds it, and starting at ``$`` would lose them for
a client that is already watching.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import DatabaseError

from controlplane.realtime.selectors import stream_names
from controlplane.realtime.wire import PICTURES, Result, Tracks, group_name
from inference_worker import protocol
from inference_worker.runtime import REDIS_ERRORS, Backoff, redis_client

log = logging.getLogger("ei.relay")
RESULTS_PREFIX = protocol.results_key("")
TRACKS_PREFIX = protocol.tracks_key("")
BATCH = 16  # entries per stream per XREAD: keeps a batch's memory bounded when the relay catches up


class Relay:
    def __init__(self, redis_url: str, *, refresh: float = 1.0, backfill: float = 5.0):
        self.redis_url = redis_url
        self.refresh = refresh
        self.backfill_ms = int(backfill * 1000)
        self.layer = get_channel_layer()
        # stream -> {its results' key and its tracks' key -> ID of the last entry forwarded (or where to start)}
        self.cursors: dict[str, dict[str, str]] = {}
        self.ready = asyncio.Event()  # set once the first look for streams is done
        self._database = Backoff("database", log)
        self._malformed: set[str] = set()  # keys with a malformed entry: each is logged once

    async def run(self, stop: asyncio.Event) -> None:
        """Forward results and tracks until ``stop`` is set; the batch in hand is finished first."""
        client = redis_client(self.redis_url, asyncio=True)
        # Retried at least every second: results reach clients within about a second of Redis coming back.
        backoff = Backoff("redis", log, cap=1.0)
        loop = asyncio.get_running_loop()
        next_discovery = 0.0
        try:
            while not stop.is_set():
                try:
                    if loop.time() >= next_discovery:
                        await self.discover(client)
                        next_discovery = loop.time() + self.refresh
                    if self.cursors:
                        await self.forward(await client.xread(
                            {key: c for keys in self.cursors.values() for key, c in keys.items()},
                            count=BATCH, block=max(1, int(self.refresh * 1000)),
                        ))
                    else:
                        await _wait(stop, self.refresh)
                    backoff.succeeded()
                except REDIS_ERRORS as exc:
                    await _wait(stop, backoff.note(exc))
        finally:
            await client.aclose()

    async def discover(self, client) -> None:
        """Start new streams, drop those gone from both the database and Redis."""
        names = {key.decode()[len(RESULTS_PREFIX):] async for key in client.scan_iter(match=f"{RESULTS_PREFIX}*", count=1000)}
        try:
            names |= await database_sync_to_async(stream_names)()
            self._database.succeeded()
        except DatabaseError as exc:  # keep relaying what we know
            self._database.note(exc)
            names |= self.cursors.keys()
        names = {name for name in names if protocol.valid_name(name)}
        seconds, micros = await client.time()
        since = (seconds * 1000 + micros // 1000) - (self.backfill_ms if self.ready.is_set() else 0)
        for stream in sorted(self.cursors.keys() - names):
            del self.cursors[stream]
            log.info("stream %s gone", stream)
        for stream in sorted(names - self.cursors.keys()):
            # XREAD returns IDs after the cursor: one millisecond back, so that an entry written in the
            # very millisecond of discovery (ID ``<since>-0``) is not skipped.
            start = f"{since - 1}-0"
            self.cursors[stream] = {protocol.results_key(stream): start, protocol.tracks_key(stream): start}
            log.info("relaying stream %s from %s", stream, start)
        self.ready.set()

    async def forward(self, batch) -> None:
        try:
            async with asyncio.TaskGroup() as tasks:
                for key, entries in batch:
                    tasks.create_task(self._forward_key(key.decode(), entries))
        except* REDIS_ERRORS as outage:  # the channel layer lost Redis: one outage for run()'s backoff
            raise outage.exceptions[0] from None

    async def _forward_key(self, key: str, entries) -> None:
        """Forward the entries of one Redis stream, a stream's results or its tracks, in order."""
        stream = key.rpartition(":")[2]  # names have no colon
        what, sends_of = ("tracks", _tracks_sends) if key.startswith(TRACKS_PREFIX) else ("results", _result_sends)
        for entry_id, fields in entries:
            try:
                sends = sends_of(stream, entry_id, fields)
            except ValueError as exc:
                if key not in self._malformed:
                    self._malformed.add(key)
                    log.warning("stream %s: skipping malformed %s (%s)", stream, what, exc)
            else:
                await asyncio.gather(*(self.layer.group_send(group, event) for group, event in sends))
            self.cursors[stream][key] = entry_id.decode()


def _result_sends(stream: str, entry_id: bytes, fields) -> list[tuple[str, dict]]:
    """(group, channel-layer message) for a result: each picture's own JPEG, to those it shows to."""
    result = Result.from_entry(entry_id, fields)
    return [(group_name(stream, picture), result.showing(picture).event())
            for picture in PICTURES if result.shows(picture)]


def _tracks_sends(stream: str, entry_id: bytes, fields) -> list[tuple[str, dict]]:
    """(group, channel-layer message) for a tracks entry: the same small message to every picture's group."""
    event = Tracks.from_entry(stream, entry_id, fields).event()
    return [(group_name(stream, picture), event) for picture in PICTURES]


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def serve(relay: Relay) -> None:
    """Run ``relay`` until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        if not stop.is_set():
            log.info("stopping (%s): finishing the batch in hand", sig.name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    log.info("relay started: looking for streams every %.1f s", relay.refresh)
    await relay.run(stop)
    log.info("relay stopped")
