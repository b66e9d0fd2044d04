"""What the supervisor reads and writes in Redis (the keys are ``local_store``'s): its claim to be the
only supervisor, the desired units with the reconciled mark, the workers' and producers' beats, the
statuses it reports, and the reconciler's wake-ups. Redis errors reach the caller, except where noted.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass

import redis

from controlplane.orchestration import local_store
from controlplane.orchestration.units import Unit, unit_from_spec
from inference_worker import protocol
from inference_worker.fleet import live_workers


class AnotherSupervisor(RuntimeError):
    pass


@dataclass(frozen=True)
class Snapshot:
    """One step's view of Redis."""

    units: dict[str, tuple[str, Unit]]  # unit key -> (spec hash, unit)
    complete: bool  # the reconciled mark: the units are the whole desired state, an absent one is unwanted
    heartbeats: dict[str, dict]  # live workers by worker id


class SupervisorStore:
    def __init__(self, client: redis.Redis):
        self.client = client
        self.identity = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})

    def claim(self) -> None:
        if not self.client.set(local_store.SUPERVISOR, self.identity, nx=True, ex=local_store.SUPERVISOR_TTL):
            other = self.client.get(local_store.SUPERVISOR)
            raise AnotherSupervisor(f"another supervisor is running: {other.decode() if other else 'unknown'}")

    def read(self) -> Snapshot:
        """Refresh the claim, then read the units and their mark as one (MULTI) and the worker beats."""
        self.client.set(local_store.SUPERVISOR, self.identity, ex=local_store.SUPERVISOR_TTL)
        pipe = self.client.pipeline()
        raw_units, reconciled = pipe.hgetall(local_store.UNITS).exists(local_store.RECONCILED).execute()
        units = {}
        for key, raw in raw_units.items():
            spec_hash, spec = local_store.decode_unit(raw)
            units[key.decode()] = (spec_hash, unit_from_spec(spec))
        heartbeats = {worker["worker"]: worker for worker in live_workers(self.client)}
        return Snapshot(units=units, complete=bool(reconciled), heartbeats=heartbeats)

    def producing(self, streams: list[str]) -> set[str]:
        """Those of ``streams`` whose producer beats."""
        if not streams:
            return set()
        pipe = self.client.pipeline(transaction=False)
        for stream in streams:
            pipe.exists(protocol.producer_key(stream))
        return {stream for stream, beats in zip(streams, pipe.execute()) if beats}

    def report(self, changed: dict[str, str], gone: list[str]) -> None:
        """Write the encoded statuses that changed and remove those of units no longer run, as one."""
        pipe = self.client.pipeline()
        if changed:
            pipe.hset(local_store.STATUS, mapping=changed)
        if gone:
            pipe.hdel(local_store.STATUS, *gone)
        pipe.execute()

    def withdraw(self) -> None:
        """Remove the statuses and the claim (if still ours); a Redis away at shutdown is no error."""
        try:
            self.client.delete(local_store.STATUS)
            if self.client.get(local_store.SUPERVISOR) == self.identity.encode():
                self.client.delete(local_store.SUPERVISOR)
        except redis.RedisError:
            pass

    def wakeups(self) -> Wakeups:
        return Wakeups(self.client)


class Wakeups:
    """The reconciler's announcements on ``local_store.CHANGED``, so a change is acted on at once rather
    than at the next poll. Without a subscription (Redis away at start) the loop just polls."""

    def __init__(self, client: redis.Redis):
        self.pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            self.pubsub.subscribe(local_store.CHANGED)
        except redis.RedisError:
            self.pubsub.close()
            self.pubsub = None

    def wait(self, poll: float, *, redis_down: bool = False) -> None:
        """Until the next poll or an announcement; a burst of announcements is one wake-up."""
        if self.pubsub is None or redis_down:
            time.sleep(poll)
            return
        try:
            if self.pubsub.get_message(timeout=poll) is not None:
                while self.pubsub.get_message(timeout=0.05) is not None:
                    pass
        except redis.RedisError:
            time.sleep(poll)

    def close(self) -> None:
        if self.pubsub is not None:
            self.pubsub.close()
