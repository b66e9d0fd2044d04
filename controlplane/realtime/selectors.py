"""Reads of the realtime app from the database: which streams may be watched."""

from __future__ import annotations

from controlplane.streams.selectors import stream_list
from inference_worker import protocol


async def stream_exists(name: str) -> bool:
    """Whether ``name`` is a stream of the database; disabled streams count, since they may come back."""
    return protocol.valid_name(name) and await stream_list(filters={"name": name}).aexists()
