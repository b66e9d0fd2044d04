"""One channel-layer member per group and web process: a result reaches this process once, and every
client here that watches it gets the same bytes.

channels-redis already carries a group message once per process, but each consumer then received it on
its own channel (two asyncio tasks per receive), decoded it and built its websocket message again: at 30
clients that was most of the web process's CPU. Here a :class:`Feed` per group holds the only
membership, receives each result once, builds its :class:`~controlplane.realtime.wire.Outgoing` once
and hands it to each client's own buffer (which drops the oldest for a slow client); a tracks entry's
text, likewise one string for all, goes to each client's buffer of tracks. The consumers'
own channels keep the rest: control messages, and noticing that the channel layer's Redis is gone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from channels.layers import get_channel_layer

from controlplane.realtime import wire
from controlplane.realtime.per_loop import PerLoop
from inference_worker.runtime import REDIS_ERRORS

log = logging.getLogger("ei.realtime")


class Client(Protocol):
    def enqueue(self, outgoing: wire.Outgoing) -> None: ...

    def enqueue_tracks(self, text: str) -> None: ...

    def lost(self, exc: Exception) -> None:
        """The feed lost the channel layer's Redis: the client will get nothing more from it."""


class Feed:
    """A group's results and tracks for this process's clients: joins the group when made, leaves with the
    last client."""

    def __init__(self, fanout: Fanout, group: str):
        self.fanout = fanout
        self.group = group
        self.clients: set[Client] = set()
        self.joined: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Its clients may all have left (or been cancelled) before a failed join: nobody else reads it.
        self.joined.add_done_callback(lambda joined: joined.exception())
        self.task = asyncio.create_task(self._run(), name=f"feed {group}")

    async def _run(self) -> None:
        layer = self.fanout.layer
        channel = await layer.new_channel()
        try:
            await _group_add(layer, self.group, channel)
        except REDIS_ERRORS as exc:
            self.retire()
            self.joined.set_exception(exc)
            return
        self.joined.set_result(None)
        try:
            while self.clients:  # also ends a feed whose cancelled receive Python 3.11 swallowed (gh-86296)
                message = await layer.receive(channel)
                kind = message.get("type")
                if kind == wire.EVENT_TYPE:
                    outgoing = wire.Outgoing.of(wire.Result.from_event(message))
                    for client in list(self.clients):
                        client.enqueue(outgoing)
                elif kind == wire.TRACKS_EVENT_TYPE:
                    text = message["meta"]
                    for client in list(self.clients):
                        client.enqueue_tracks(text)
        except REDIS_ERRORS as exc:
            self.retire()
            for client in list(self.clients):
                client.lost(exc)
            return
        except asyncio.CancelledError:  # the last client left (Fanout.unsubscribe)
            pass
        self.retire()
        try:
            await layer.group_discard(self.group, channel)
        except REDIS_ERRORS:  # the membership expires with the layer's group_expiry
            pass

    def retire(self) -> None:
        """No new client joins this feed any more: the next one makes a new feed, with a new channel."""
        if self.fanout.feeds.get(self.group) is self:
            del self.fanout.feeds[self.group]


class Fanout:
    """This process's feeds, by group."""

    def __init__(self):
        self.layer = get_channel_layer()
        self.feeds: dict[str, Feed] = {}

    async def subscribe(self, group: str, client: Client) -> None:
        """``client`` gets the group's results from when this returns; raises the Redis error while the
        channel layer's Redis is away."""
        feed = self.feeds.get(group)
        if feed is None:
            feed = self.feeds[group] = Feed(self, group)
        feed.clients.add(client)
        try:
            await asyncio.shield(feed.joined)
        except BaseException:
            self.unsubscribe(group, client, feed)
            raise

    def unsubscribe(self, group: str, client: Client, feed: Feed | None = None) -> None:
        feed = feed or self.feeds.get(group)
        if feed is None or client not in feed.clients:
            return
        feed.clients.discard(client)
        if not feed.clients:
            feed.retire()
            if feed.joined.done():  # still joining: it sees no clients once it has, and leaves the group
                feed.task.cancel()


async def _group_add(layer, group: str, channel: str) -> None:
    for attempt in (1, 2):  # once more: after a Redis restart the layer's pooled connection fails once
        try:
            await layer.group_add(group, channel)
            return
        except REDIS_ERRORS:
            if attempt == 2:
                raise


fanout: PerLoop[Fanout] = PerLoop(Fanout)
