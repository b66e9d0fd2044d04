"""Reading the fleet from worker heartbeats, for the terminal monitor and the control plane."""

from __future__ import annotations

import time
from dataclasses import asdict

import redis

from inference_worker import protocol


def live_workers(client: redis.Redis, max_age: float = protocol.HEARTBEAT_TTL) -> list[dict]:
    """Heartbeats younger than ``max_age`` seconds, as dicts of :class:`protocol.Heartbeat`'s typed fields,
    sorted by queue then id.

    Index entries of workers that died without deregistering are pruned on the way; a hash that is no
    heartbeat of this protocol is left out, so one odd worker cannot hide the rest of the fleet.
    """
    now = time.time()
    client.zremrangebyscore(protocol.WORKERS_INDEX, "-inf", now - max_age)
    ids = [i.decode() for i in client.zrange(protocol.WORKERS_INDEX, 0, -1)]
    pipe = client.pipeline(transaction=False)
    for worker_id in ids:
        pipe.hgetall(protocol.worker_key(worker_id))
    beats = [beat for beat in map(_parsed, pipe.execute()) if beat]
    return [asdict(beat) for beat in sorted(beats, key=lambda beat: (beat.queue, beat.worker))]


def _parsed(raw: dict[bytes, bytes]) -> protocol.Heartbeat | None:
    """None for a hash that expired since the index was read (empty) or that does not parse."""
    try:
        return protocol.Heartbeat.from_hash(raw)
    except ValueError:
        return None
