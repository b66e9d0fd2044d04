"""The websocket of one stream: its latest result at once, then each new one as the relay forwards it."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from controlplane.realtime import wire
from controlplane.realtime.auth import query_param, refusal
from controlplane.realtime.backpressure import SocketDrain
from controlplane.realtime.selectors import latest_result, stream_exists
from inference_worker.runtime import REDIS_ERRORS

BAD_REQUEST = 4400
UNKNOWN_STREAM = 4404
log = logging.getLogger("ei.realtime")


class StreamConsumer(AsyncWebsocketConsumer):
    """One client watching one stream.

    Results wait in a buffer of ``buffer_size`` that drops the oldest when full, and a sender task
    writes them out as fast as the client's socket takes them. So a slow client gets fewer, newer
    pictures, and never holds up the channel layer, the relay or the other clients.
    """

    buffer_size = 3
    group: str | None = None
    sender: asyncio.Task | None = None

    async def connect(self):
        stream = self.scope["url_route"]["kwargs"]["stream"]
        self.picture = query_param(self.scope, "picture") or wire.FULL
        code = refusal(self.scope) or (None if await stream_exists(stream) else UNKNOWN_STREAM)
        if code is None and self.picture not in wire.PICTURES:
            code = BAD_REQUEST
        if code is None:
            self.binary = query_param(self.scope, "frames") != "0"
            self.buffer: deque[wire.Result] = deque(maxlen=self.buffer_size)
            self.filled = asyncio.Event()
            self.last_id = (0, 0)
            # Joined before the handshake completes: a connected client misses nothing published after.
            self.group = wire.group_name(stream, self.picture)
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()  # refusals too: a refused handshake would hide the close code
        if code:
            await self.close(code)
            return
        self.drain = SocketDrain.for_send(self.base_send)
        try:
            latest = await latest_result(settings.REDIS_URL, stream)
        except (*REDIS_ERRORS, ValueError) as exc:  # live results still come once the relay has them
            log.warning("no latest result for %s: %s", stream, exc)
        else:
            if latest:
                self.enqueue(latest.showing(self.picture))
        self.sender = asyncio.create_task(self.send_results())

    async def dispatch(self, message):
        # The hot path touches no database: skip Channels' per-message connection cleanup (a thread hop).
        if message["type"] == wire.EVENT_TYPE:
            self.enqueue(wire.Result.from_event(message))
        else:
            await super().dispatch(message)

    def enqueue(self, result: wire.Result) -> None:
        """Queue a result unless the client already has it or a newer one (the latest sent on
        connect may also come from the relay, and a relay that starts over may send some again)."""
        order = wire.entry_order(result.id)
        if order <= self.last_id:
            return
        self.last_id = order
        self.buffer.append(result)
        self.filled.set()

    async def send_results(self) -> None:
        while True:
            await self.filled.wait()
            await self.drain.wait()
            result = self.buffer.popleft()
            if not self.buffer:
                self.filled.clear()
            if self.binary:
                await self.send(bytes_data=result.binary_message())
            else:
                await self.send(text_data=result.meta)

    async def disconnect(self, code):
        if self.sender:
            self.sender.cancel()
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
