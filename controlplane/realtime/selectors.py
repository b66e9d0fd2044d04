"""Reads of the realtime app: which streams exist (the database) and their results (Redis)."""

from __future__ import annotations

import redis.asyncio

from controlplane.realtime.wire import Result
from controlplane.streams.selectors import stream_list
from inference_worker import protocol


def redis_client(url: str) -> redis.asyncio.Redis:
    """An asyncio client whose socket timeout outlasts the relay's blocking reads."""
    return redis.asyncio.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=5, health_check_interval=15)


def stream_names() -> set[str]:
    return set(stream_list().values_list("name", flat=True))


async def stream_exists(name: str) -> bool:
    """Whether ``name`` is a stream of the database; disabled streams count, since they may come back."""
    return protocol.valid_name(name) and await stream_list(filters={"name": name}).aexists()


async def latest_result(url: str, stream: str) -> Result | None:
    """The newest result of ``stream``, straight from Redis, so a new watcher sees a picture at once."""
    client = redis_client(url)
    try:
        entries = await client.xrevrange(protocol.results_key(stream), count=1)
    finally:
        await client.aclose()
    return Result.from_entry(*entries[0]) if entries else None
