"""What the realtime app reads from Redis (results and track numbers) and sends to websocket clients.

A websocket client gets one message per result: by default a binary message
``[4-byte big-endian length N][N bytes of JSON meta][JPEG bytes]``, or with ``?frames=0`` a text
message with the JSON meta alone. The meta is the worker's, byte for byte (``inference_worker.protocol``).
The JPEG is the frame as captured, or with ``?picture=preview`` the worker's smaller copy of it (the
frame itself when it can have none: no wider than a preview, or previews off). A result whose worker
skipped the preview (an empty ``preview`` field: nobody was watching yet, or the stream's previews per
second were made) is not sent to preview clients, except as the latest result on connect.

Every client of a stream, whatever its picture or ``frames``, also gets each entry of the stream's
tracks (``ei:tracks:<stream>``) as a text message: the entry's JSON meta as written,
``{"v": 1, "kind": "tracks", "stream", "queue", "seq", "tracks": [...]}``, which names its result by
queue and seq. It may come before or after that result: they are separate Redis streams, and a
client's waiting tracks messages (a buffer of their own, so they never push out a result) are sent
before its waiting results. A client gets the newest tracks entry of each of the stream's queues on
connect, with the newest result.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from inference_worker import protocol

HEADER_BYTES = 4
FULL, PREVIEW = "full", "preview"
PICTURES = (FULL, PREVIEW)


@dataclass(frozen=True, slots=True)
class Result:
    id: str  # the entry ID in ei:results:<stream>
    meta: str
    jpeg: bytes
    preview: bytes | None = None

    @classmethod
    def from_entry(cls, entry_id: bytes, fields: dict[bytes, bytes]) -> Result:
        """A result read with redis-py; ``ValueError`` when it lacks the fields a worker writes."""
        try:
            return cls(id=entry_id.decode(), meta=fields[b"meta"].decode(), jpeg=fields[b"jpeg"],
                       preview=fields.get(b"preview"))
        except (KeyError, UnicodeDecodeError) as exc:
            raise ValueError(f"malformed result {entry_id!r}: {exc!r}") from None

    def shows(self, picture: str) -> bool:
        """Whether clients of ``picture`` get this result live: not a preview client, when the worker
        skipped the preview of a frame wider than previews (a full frame would cost them what the
        preview saves)."""
        return not (picture == PREVIEW and self.preview == b"")

    def showing(self, picture: str) -> Result:
        """This result with ``picture`` as its JPEG: the preview, where there is one, or the frame."""
        if picture == PREVIEW and self.preview:
            return dataclasses.replace(self, jpeg=self.preview, preview=None)
        return dataclasses.replace(self, preview=None)

    def binary_message(self) -> bytes:
        meta = self.meta.encode()
        return len(meta).to_bytes(HEADER_BYTES, "big") + meta + self.jpeg


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A result as websocket clients get it: built once, however many clients watch it."""

    order: tuple[int, int]  # its entry ID's, see :func:`inference_worker.protocol.entry_order`
    text: str  # the meta alone, for ``?frames=0``
    binary: bytes  # :meth:`Result.binary_message`

    @classmethod
    def of(cls, result: Result) -> Outgoing:
        return cls(protocol.entry_order(result.id), result.meta, result.binary_message())


@dataclass(frozen=True, slots=True)
class Tracks:
    """A tracks entry: its meta is checked once, here, and then sent to clients as written."""

    queue: str
    meta: str

    @classmethod
    def from_entry(cls, stream: str, entry_id: bytes, fields: dict[bytes, bytes]) -> Tracks:
        """An entry of ``stream``'s tracks read with redis-py; ``ValueError`` unless it is one."""
        try:
            meta = fields[b"meta"].decode()
            doc = json.loads(meta)
        except (KeyError, ValueError) as exc:  # ValueError: not UTF-8, or not JSON
            raise ValueError(f"malformed tracks {entry_id!r}: {exc!r}") from None
        if not (isinstance(doc, dict) and doc.get("v") == protocol.VERSION and doc.get("kind") == "tracks"
                and doc.get("stream") == stream and protocol.valid_name(doc.get("queue"))
                and type(doc.get("seq")) is int and isinstance(doc.get("tracks"), list)):
            raise ValueError(f"malformed tracks {entry_id!r}: {meta[:120]}")
        return cls(doc["queue"], meta)


def parse_binary_message(data: bytes) -> tuple[dict, bytes]:
    """A client's side of :meth:`Result.binary_message`: the meta, parsed, and the JPEG bytes."""
    size = int.from_bytes(data[:HEADER_BYTES], "big")
    end = HEADER_BYTES + size
    return json.loads(data[HEADER_BYTES:end]), data[end:]
