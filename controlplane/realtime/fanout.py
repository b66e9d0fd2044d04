"""Each web process reads the results and track numbers of the streams its clients watch straight from
Redis: one :class:`Feed` per stream and process, so a result is read once here, its websocket message is
built once per picture (the frame, the worker's preview), and every client here gets the same bytes.

A relay process used to read every stream and hand each result to a channel-layer group per picture.
That stored each result in Redis a second time, serialised and deserialised it on both sides, and
cost the server four to six times the CPU of a bare relay per delivered message; it also had to find
new streams by polling, and to backfill their first results. A feed starts when a stream's first
client here comes, at the stream's newest result (which that client gets at once, and each later client
from the feed's memory), and then blocks in XREAD: an unwatched stream costs nothing, a watched one a
round trip per batch.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from django.conf import settings

from controlplane.realtime import wire
from controlplane.realtime.per_loop import PerLoop
from inference_worker import protocol
from inference_worker.runtime import REDIS_ERRORS, redis_client

log = logging.getLogger("ei.realtime")
BATCH = 16  # entries per key per XREAD: bounds a batch's memory when a feed falls behind
BLOCK_MS = 1000  # a feed whose clients have all gone notices it within this, if not cancelled first
TRACKS_ON_JOIN = 8  # newest tracks entries looked at on start, for the newest of each of the stream's queues


class Client(Protocol):
    picture: str

    def enqueue(self, outgoing: wire.Outgoing) -> None: ...

    def enqueue_tracks(self, text: str) -> None: ...

    def lost(self, exc: Exception) -> None:
        """The feed lost Redis: the client will get nothing more from it."""


class Feed:
    """A stream's results and tracks for this process's clients, from its newest result on; it ends with
    its last client, or when Redis goes away (its clients are told)."""

    def __init__(self, fanout: Fanout, stream: str):
        self.fanout = fanout
        self.stream = stream
        self.keys = (protocol.results_key(stream), protocol.tracks_key(stream))
        self.clients: dict[str, set[Client]] = {picture: set() for picture in wire.PICTURES}
        self.latest: wire.Result | None = None
        self.latest_tracks: dict[str, str] = {}  # queue -> the meta of its newest tracks entry
        self.started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Its clients may all have left (or been cancelled) before a failed start: nobody else reads it.
        self.started.add_done_callback(lambda started: started.cancelled() or started.exception())
        self.task = asyncio.create_task(self._run(), name=f"feed {stream}")

    def __bool__(self) -> bool:
        return any(self.clients.values())

    def add(self, client: Client) -> None:
        self.clients[client.picture].add(client)

    def discard(self, client: Client) -> None:
        self.clients[client.picture].discard(client)

    def welcome(self, client: Client) -> None:
        """What a client that joins gets at once: the newest result and each queue's newest tracks."""
        for text in self.latest_tracks.values():
            client.enqueue_tracks(text)
        if self.latest is not None:
            client.enqueue(wire.Outgoing.of(self.latest.showing(client.picture)))

    async def _run(self) -> None:
        try:
            cursors = await self._start()
        except REDIS_ERRORS as exc:
            self.retire()
            self.started.set_exception(exc)
            return
        self.started.set_result(None)
        redis = self.fanout.redis
        try:
            while self:
                for key, entries in await redis.xread(cursors, count=BATCH, block=BLOCK_MS) or []:
                    key = key.decode()
                    for entry in entries:
                        if (item := self._parse(key, *entry)) is not None:
                            self._hand_out(item)
                            # Each client's sender writes what it has before the next entry, so only a
                            # client whose socket is full drops one, never one that got a batch at once.
                            await asyncio.sleep(0)
                    cursors[key] = entries[-1][0]
        except REDIS_ERRORS as exc:
            self.retire()
            for client in [c for clients in self.clients.values() for c in clients]:
                client.lost(exc)
            return
        except asyncio.CancelledError:  # the last client left (Fanout.unsubscribe)
            pass
        self.retire()

    async def _start(self) -> dict[str, bytes | str]:
        """The stream's newest result and tracks, and the cursors after them; tried twice, since after a
        Redis restart a pooled connection fails once."""
        results_key, tracks_key = self.keys
        for attempt in (1, 2):
            try:
                async with self.fanout.redis.pipeline(transaction=False) as pipe:
                    pipe.xrevrange(results_key, count=1)
                    pipe.xrevrange(tracks_key, count=TRACKS_ON_JOIN)
                    newest, tracks = await pipe.execute()
                break
            except REDIS_ERRORS:
                if attempt == 2:
                    raise
        for entry in reversed(tracks):
            if (item := self._parse(tracks_key, *entry)) is not None:
                self.latest_tracks[item.queue] = item.meta
        if newest and (item := self._parse(results_key, *newest[0])) is not None:
            self.latest = item
        return {results_key: newest[0][0] if newest else "0-0", tracks_key: tracks[0][0] if tracks else "0-0"}

    def _parse(self, key: str, entry_id: bytes, fields: dict[bytes, bytes]) -> wire.Result | wire.Tracks | None:
        """The entry of a stream's results or tracks; None for a malformed one (logged once per key and process)."""
        try:
            if key == self.keys[0]:
                return wire.Result.from_entry(entry_id, fields)
            return wire.Tracks.from_entry(self.stream, entry_id, fields)
        except ValueError as exc:
            if key not in self.fanout.malformed:
                self.fanout.malformed.add(key)
                log.warning("stream %s: skipping malformed %s (%s)", self.stream, key.split(":")[1], exc)
            return None

    def _hand_out(self, item: wire.Result | wire.Tracks) -> None:
        """A result to the clients of each picture it shows to, built once per picture; tracks to all."""
        if isinstance(item, wire.Tracks):
            self.latest_tracks[item.queue] = item.meta
            for clients in self.clients.values():
                for client in list(clients):
                    client.enqueue_tracks(item.meta)
            return
        self.latest = item
        for picture, clients in self.clients.items():
            if clients and item.shows(picture):
                outgoing = wire.Outgoing.of(item.showing(picture))
                for client in list(clients):
                    client.enqueue(outgoing)

    def retire(self) -> None:
        """No new client joins this feed any more: the next one starts a new feed."""
        if self.fanout.feeds.get(self.stream) is self:
            del self.fanout.feeds[self.stream]


class Fanout:
    """This process's feeds, by stream, and the Redis client they read with (a blocking XREAD holds one
    of its pooled connections per feed)."""

    def __init__(self, redis_url: str):
        self.redis = redis_client(redis_url, asyncio=True)
        self.feeds: dict[str, Feed] = {}
        self.malformed: set[str] = set()  # keys with a malformed entry: each is logged once

    async def subscribe(self, stream: str, client: Client) -> None:
        """``client`` gets the stream's newest result and everything after; raises the Redis error while
        Redis is away."""
        feed = self.feeds.get(stream)
        if feed is None:
            feed = self.feeds[stream] = Feed(self, stream)
        feed.add(client)
        try:
            await asyncio.shield(feed.started)
        except BaseException:
            self.unsubscribe(stream, client, feed)
            raise
        feed.welcome(client)

    def unsubscribe(self, stream: str, client: Client, feed: Feed | None = None) -> None:
        feed = feed or self.feeds.get(stream)
        if feed is None:
            return
        feed.discard(client)
        if not feed:
            feed.retire()
            if feed.started.done():  # still starting: it sees no clients once it has, and ends
                feed.task.cancel()


# This event loop's Fanout.
fanout: PerLoop[Fanout] = PerLoop(lambda: Fanout(settings.REDIS_URL))
