"""Writing results as a worker does and tracks as the analytics stage does, and reading what a websocket
client receives."""

from __future__ import annotations

import json
import time

from controlplane.realtime.wire import parse_binary_message
from inference_worker import protocol


def add_result(client, stream: str, seq: int, jpeg: bytes, *, entry_id: str = "*", preview: bytes | None = None) -> dict:
    """XADD a result the way a worker writes it; returns its meta."""
    frame = protocol.Frame(stream=stream, seq=seq, ts=time.time(), width=451, height=300, data=jpeg)
    meta = protocol.result_meta(
        frame=frame, queue="people", model="builtin:people", worker="test-worker", ts_done=time.time(),
        detections=[{"label": "person", "score": 0.9, "box": [0.1, 0.2, 0.3, 0.4]}],
    )
    client.xadd(protocol.results_key(stream), protocol.encode_result(meta, jpeg, preview), id=entry_id, maxlen=100)
    return meta


def add_tracks(client, stream: str, seq: int, tracks: list[int | None], *, queue: str = "people") -> str:
    """XADD the track numbers of a result's detections; returns the entry's meta as written."""
    meta = json.dumps({"v": 1, "kind": "tracks", "stream": stream, "queue": queue, "seq": seq, "tracks": tracks})
    client.xadd(protocol.tracks_key(stream), {"meta": meta}, maxlen=100, approximate=True)
    return meta


async def close_code(communicator) -> int:
    message = await communicator.receive_output(timeout=10)
    assert message["type"] == "websocket.close", message
    return message["code"]


async def next_result(communicator, timeout: float = 10) -> tuple[dict, bytes]:
    message = await communicator.receive_output(timeout=timeout)
    assert message["type"] == "websocket.send" and message.get("bytes"), message
    return parse_binary_message(message["bytes"])


async def next_text(communicator, timeout: float = 10) -> str:
    message = await communicator.receive_output(timeout=timeout)
    assert message["type"] == "websocket.send" and message.get("text"), message
    return message["text"]
