"""The websocket of one stream: its latest result at once, then each new one and each tracks entry as
the process's feed of the stream reads them."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from channels.generic.websocket import AsyncWebsocketConsumer

from controlplane.realtime import wire
from controlplane.realtime.auth import query_param, refusal
from controlplane.realtime.fanout import fanout
from controlplane.realtime.selectors import stream_exists
from controlplane.realtime.watched import preview_watchers
from inference_worker.runtime import REDIS_ERRORS, Backoff

BAD_REQUEST = 4400
UNKNOWN_STREAM = 4404
TRY_AGAIN = 4503  # Redis is away: reconnect shortly, as the dashboard does
log = logging.getLogger("ei.realtime")
# One per process, so an outage is logged once and its end once, however many clients meet it.
redis_outage = Backoff("redis (results)", log)


class StreamConsumer(AsyncWebsocketConsumer):
    """One client watching one stream.

    Results come from the process's feed of the stream (:mod:`controlplane.realtime.fanout`) and
    wait in a buffer of ``buffer_size`` that drops the oldest when full; a sender task writes them
    out as fast as the client's socket takes them (the server's ``send`` waits while the socket is
    full, as uvicorn's does). So a slow client gets fewer, newer pictures, and never holds up the feed
    or the other clients. Tracks messages wait in a buffer of their own, so a burst of them never pushes
    a picture out, and go first: they are small, and a frame drawn after its tracks came needs no second
    drawing. No channel layer is configured, so a consumer holds no channel of its own: a blocking read
    per client that nothing sent to, and whose cancellation could hold up the server's shutdown.
    """

    buffer_size = 3
    tracks_buffer_size = 16  # a few results' worth for each of a stream's queues
    stream: str | None = None  # the stream whose feed this client is in
    sender: asyncio.Task | None = None
    watching: str | None = None  # the stream whose previews this client watches (workers make them only then)
    closer: asyncio.Task | None = None

    async def connect(self):
        stream = self.scope["url_route"]["kwargs"]["stream"]
        self.picture = query_param(self.scope, "picture") or wire.FULL
        code = refusal(self.scope) or (None if await stream_exists(stream) else UNKNOWN_STREAM)
        if code is None and self.picture not in wire.PICTURES:
            code = BAD_REQUEST
        if code is None:
            self.binary = query_param(self.scope, "frames") != "0"
            self.buffer: deque[wire.Outgoing] = deque(maxlen=self.buffer_size)
            self.tracks: deque[str] = deque(maxlen=self.tracks_buffer_size)
            self.filled = asyncio.Event()
            self.last_id = (0, 0)
            code = await self._subscribe(stream)
        if code is None and self.picture == wire.PREVIEW:
            self.watching = stream  # before the await: a cancelled connect still leaves on disconnect
            await preview_watchers().join(stream)
        await self.accept()  # refusals too: a refused handshake would hide the close code
        if code:
            await self.close(code)
            return
        self.sender = asyncio.create_task(self.send_results())

    def lost(self, exc: Exception) -> None:
        """The stream's feed lost Redis: this socket gets nothing more, so it is closed with :data:`TRY_AGAIN`
        (the dashboard reconnects), not left open and silent."""
        self.closer = asyncio.create_task(self._give_up(exc))  # held: the loop keeps only weak references

    async def _give_up(self, exc: Exception) -> None:
        redis_outage.note(exc)
        await self._stop_sending()
        self._leave()
        await self.close(TRY_AGAIN)

    async def _subscribe(self, stream: str) -> int | None:
        """Join the stream's feed before the handshake completes, so a connected client misses nothing
        published after; None, or :data:`TRY_AGAIN` while Redis is away."""
        try:
            await fanout().subscribe(stream, self)
        except REDIS_ERRORS as exc:
            redis_outage.note(exc)
            return TRY_AGAIN
        redis_outage.succeeded()
        self.stream = stream
        return None

    def enqueue(self, outgoing: wire.Outgoing) -> None:
        """Queue a result unless the client already has it or a newer one (the latest sent on
        connect may also be read by a feed that has just started)."""
        if outgoing.order <= self.last_id:
            return
        self.last_id = outgoing.order
        self.buffer.append(outgoing)
        self.filled.set()

    def enqueue_tracks(self, text: str) -> None:
        self.tracks.append(text)
        self.filled.set()

    async def send_results(self) -> None:
        """Results and tracks messages, as the socket takes them."""
        while True:
            await self.filled.wait()
            if self.tracks:
                text, data = self.tracks.popleft(), None
            else:
                outgoing = self.buffer.popleft()
                text, data = (None, outgoing.binary) if self.binary else (outgoing.text, None)
            if not (self.buffer or self.tracks):
                self.filled.clear()
            await self.send(text_data=text, bytes_data=data)

    async def _stop_sending(self) -> None:
        if self.sender:
            self.sender.cancel()
            await asyncio.gather(self.sender, return_exceptions=True)

    def _leave(self) -> None:
        """Leave the feed and stop marking previews watched; nothing here waits for Redis."""
        if self.stream:
            fanout().unsubscribe(self.stream, self)
            self.stream = None
        if self.watching:
            preview_watchers().leave(self.watching)
            self.watching = None

    async def disconnect(self, code):
        await self._stop_sending()
        self._leave()
