"""Reads of the realtime app: which streams exist (the database) and their results (Redis)."""

from __future__ import annotations

from controlplane.realtime.wire import Result
from controlplane.streams.selectors import stream_list
from inference_worker import protocol
from inference_worker.runtime import redis_client


def stream_names() -> set[str]:
    return set(stream_list().values_list("name", flat=True))


async def stream_exists(name: str) -> bool:
    """Whether ``name`` is a stream of the database; disabled streams count, since they may come back."""
    return protocol.valid_name(name) and await stream_list(filters={"name": name}).aexists()


async def latest_result(url: str, stream: str) -> Result | None:
    """The newest result of ``stream``, straight from Redis, so a new watcher sees a picture at once."""
    client = redis_client(url, asyncio=True)
    try:
        entries = await client.xrevrange(protocol.results_key(stream), count=1)
    finally:
        await client.aclose()
    return Result.from_entry(*entries[0]) if entries else None
