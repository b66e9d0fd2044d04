"""Telling the workers whose previews are watched: ``ei:watched:<stream>`` (``inference_worker.protocol``).

Workers make previews only for streams whose key exists. Each web process keeps the keys of the
streams its own ``?picture=preview`` clients watch: set when a client joins (before its handshake
completes, so the worker's next look finds it) and rewritten every :data:`REFRESH` seconds with a TTL
of ``protocol.WATCHED_TTL`` while at least one such client is connected. Nothing deletes a key: with
several web processes another may still be refreshing it, so it expires by itself a few seconds after
the last client anywhere has gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from django.conf import settings

from controlplane.realtime.per_loop import PerLoop
from inference_worker import protocol
from inference_worker.runtime import REDIS_ERRORS, Backoff, redis_client

REFRESH = 1.5  # seconds between rewrites; well within the TTL, so one missed rewrite loses nothing
log = logging.getLogger("ei.realtime")


class PreviewWatchers:
    """The streams whose previews this process's clients watch, and the task that keeps their keys alive.

    One per event loop (:data:`preview_watchers`): the task and its Redis client belong to the loop.
    """

    def __init__(self, redis_url: str, *, refresh: float | None = None, ttl: int = protocol.WATCHED_TTL):
        self.redis_url = redis_url
        self.refresh = REFRESH if refresh is None else refresh
        self.ttl = ttl
        self.clients: Counter[str] = Counter()
        self._task: asyncio.Task | None = None
        self._client = None
        self._wake = asyncio.Event()
        self._backoff = Backoff("redis (watched previews)", log)

    async def join(self, stream: str) -> None:
        """A client starts watching ``stream``'s previews; its key exists once this returns (Redis willing)."""
        self.clients[stream] += 1
        if self._task is None:
            self._task = asyncio.create_task(self._keep_alive(), name="watched-previews")
        await self._mark([stream])

    def leave(self, stream: str) -> None:
        self.clients[stream] -= 1
        if self.clients[stream] <= 0:
            del self.clients[stream]
        if not self.clients:
            self._wake.set()  # the task ends now rather than after its sleep

    def _redis(self):
        if self._client is None:
            self._client = redis_client(self.redis_url, timeout=5, asyncio=True)
        return self._client

    async def _mark(self, streams: list[str]) -> None:
        try:
            async with self._redis().pipeline(transaction=False) as pipe:
                for stream in streams:
                    pipe.set(protocol.watched_key(stream), 1, ex=self.ttl)
                await pipe.execute()
            self._backoff.succeeded()
        except REDIS_ERRORS as exc:  # the next rewrite tries again; meanwhile the workers make no previews
            self._backoff.note(exc)

    async def _keep_alive(self) -> None:
        try:
            while self.clients:
                try:
                    await asyncio.wait_for(self._wake.wait(), self.refresh)
                except TimeoutError:
                    pass
                self._wake.clear()
                if self.clients:
                    await self._mark(sorted(self.clients))
        finally:
            # No await before these: a join from now on starts a new task with a new client.
            self._task, client, self._client = None, self._client, None
            if client is not None:
                await client.aclose()


# This event loop's PreviewWatchers.
preview_watchers: PerLoop[PreviewWatchers] = PerLoop(lambda: PreviewWatchers(settings.REDIS_URL))
