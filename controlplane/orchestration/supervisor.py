"""The local backend's process runner (``python manage.py supervise``): the units the reconciler put in
Redis become worker and producer processes on this machine.

Each step it starts what is missing, restarts what died (with exponential backoff), stops what is no
longer wanted or was replaced by a new spec, applies the HPA rule to each worker pool with a policy, and
reports every unit's status back. Losing Redis for a while leaves the running processes alone, and so
does a Redis that comes back empty: until the reconciler has written the desired state again, nothing
is stopped (see ``local_store.RECONCILED``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from controlplane.orchestration import local_store
from controlplane.orchestration.commands import producer_argv, worker_argv, worker_id
from controlplane.orchestration.processes import Child
from controlplane.orchestration.units import Producer, Unit, WorkerPool, unit_from_spec
from controlplane.scaling.autoscaler import Autoscaler
from inference_worker import protocol
from inference_worker.fleet import live_workers
from inference_worker.runtime import StopFlag

log = logging.getLogger("supervisor")

MAX_BACKOFF = 60.0
HEALTHY_UPTIME = 60.0  # a process that ran this long before dying starts its backoff afresh
CRASH_LOOP_UPTIME = 10.0  # a restarted process counts as failing until it has run this long
# A worker's first seconds say little about the load: it drops the frames that aged in the queue while its
# model loaded. Like the HPA's initial readiness delay, its readings count only after this many seconds.
WARMUP = 10.0
HEARTBEAT_FIELD = {"scale_ratio": "scale_ratio", "drop_fps": "drop_fps", "infer_fps": "infer_fps"}


class AnotherSupervisor(RuntimeError):
    pass


@dataclass
class Slot:
    """One replica position. Its index names the worker (``<service>-<index>``) across restarts."""

    child: Child | None = None
    failures: int = 0
    next_start: float = 0.0
    last_exit: str = ""


@dataclass
class Pool:
    key: str
    unit: Unit
    spec_hash: str
    replicas: int
    slots: list[Slot] = field(default_factory=list)
    restarts: int = 0
    autoscaler: Autoscaler = field(default_factory=Autoscaler)
    last_scaled: float = 0.0
    cpu_seen: dict[int, tuple[float, float]] = field(default_factory=dict)  # pid -> (cpu seconds, at)

    def running(self) -> list[Child]:
        return [slot.child for slot in self.slots[: self.replicas] if slot.child is not None]

    def bounds(self) -> tuple[int, int]:
        return replica_bounds(self.unit)


def replica_bounds(unit: Unit) -> tuple[int, int]:
    """A worker pool's policy bounds; one process for a pool without a policy, or a producer."""
    policy = unit.autoscale if isinstance(unit, WorkerPool) else None
    return (policy.min_replicas, policy.max_replicas) if policy else (1, 1)


class Supervisor:
    def __init__(self, client: redis.Redis, *, redis_url: str, media_root: Path, python: str = sys.executable,
                 cwd: str | None = None, autoscale_interval: float = 5.0, grace: float = 30.0,
                 on_scale=None, nudge=None):
        self.client = client
        self.redis_url = redis_url
        self.media_root = Path(media_root)
        self.python = python
        self.cwd = cwd or os.getcwd()
        self.autoscale_interval = autoscale_interval
        self.grace = grace
        self.on_scale = on_scale  # called with the scaling event's fields
        self.nudge = nudge  # asks the reconciler for a pass: a status changed, or Redis lost the units
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "REDIS_URL": redis_url}
        self.identity = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
        self.pools: dict[str, Pool] = {}
        self.stopping: list[Child] = []
        self.reported: dict[str, str] = {}
        self._redis_down = False
        self._unreconciled = False  # Redis holds no mark that its units are the whole desired state

    # -- the loop -------------------------------------------------------------------------------------------

    def run(self, stop: StopFlag, poll: float = 1.0) -> None:
        self._claim()
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(local_store.CHANGED)
        except redis.RedisError:
            pubsub = None
        log.info("supervisor: running (pid %d)", os.getpid())
        try:
            while not stop.is_set():
                self.step()
                self._wait(pubsub, poll)
        finally:
            self.shutdown()
            if pubsub is not None:
                pubsub.close()

    def _wait(self, pubsub, poll: float) -> None:
        """Sleep until the next poll, or until the reconciler announces a change."""
        if pubsub is None or self._redis_down:
            time.sleep(poll)
            return
        try:
            if pubsub.get_message(timeout=poll) is not None:
                while pubsub.get_message(timeout=0.05) is not None:  # a burst of changes is one wake-up
                    pass
        except redis.RedisError:
            time.sleep(poll)

    def _claim(self) -> None:
        if not self.client.set(local_store.SUPERVISOR, self.identity, nx=True, ex=local_store.SUPERVISOR_TTL):
            other = self.client.get(local_store.SUPERVISOR)
            raise AnotherSupervisor(f"another supervisor is running: {other.decode() if other else 'unknown'}")

    def step(self) -> None:
        now = time.monotonic()
        try:
            self.client.set(local_store.SUPERVISOR, self.identity, ex=local_store.SUPERVISOR_TTL)
            pipe = self.client.pipeline()  # MULTI: the units and their mark read as one
            raw_units, reconciled = pipe.hgetall(local_store.UNITS).exists(local_store.RECONCILED).execute()
            units = {key.decode(): local_store.decode_unit(raw) for key, raw in raw_units.items()}
            live = live_workers(self.client)
        except redis.RedisError as exc:
            if not self._redis_down:
                log.warning("supervisor: Redis unreachable (%s); keeping %d processes as they are", exc, self._count())
            self._redis_down = True
            self._converge_all(now)
            return
        if self._redis_down:
            log.info("supervisor: Redis is back")
            self._redis_down = False
        if reconciled:
            self._unreconciled = False
            for key in list(self.pools.keys() - units.keys()):
                log.info("supervisor: %s is no longer wanted; stopping it", key)
                self._retire(self.pools.pop(key).slots)
        elif not self._unreconciled:
            self._desired_state_missing(units)
        for key, (spec_hash, spec) in units.items():
            self._sync(key, spec_hash, unit_from_spec(spec))
        self._converge_all(now)
        heartbeats = {worker["worker"]: worker for worker in live}
        for pool in self.pools.values():
            if isinstance(pool.unit, WorkerPool) and pool.unit.autoscale and now - pool.last_scaled >= self.autoscale_interval:
                self._autoscale(pool, heartbeats, now)
        self._report(heartbeats)

    def _desired_state_missing(self, units: dict) -> None:
        """A new Redis, or one that restarted empty: keep every process, report every status again (they
        were lost too) and ask for a pass, which writes the units and the mark back."""
        self._unreconciled = True
        self.reported = {}
        if kept := self.pools.keys() - units.keys():
            log.warning("supervisor: Redis holds no desired state (restarted empty?); keeping %s until the "
                        "reconciler writes it again", ", ".join(sorted(kept)))
        if self.nudge is not None:
            self.nudge()

    def _count(self) -> int:
        return sum(len(pool.running()) for pool in self.pools.values())

    # -- processes ------------------------------------------------------------------------------------------

    def _sync(self, key: str, spec_hash: str, unit: Unit) -> None:
        pool = self.pools.get(key)
        if pool is None:
            low, _ = replica_bounds(unit)
            self.pools[key] = Pool(key, unit, spec_hash, replicas=low)
            log.info("supervisor: %s wanted; starting %d", key, low)
            return
        if pool.spec_hash != spec_hash:
            log.info("supervisor: %s changed; replacing its processes", key)
            self._retire(pool.slots)
            pool.slots, pool.spec_hash = [], spec_hash
        pool.unit = unit
        low, high = pool.bounds()
        if not low <= pool.replicas <= high:
            log.info("supervisor: %s policy bounds %d-%d; %d -> %d replicas", key, low, high, pool.replicas,
                     min(max(pool.replicas, low), high))
            pool.replicas = min(max(pool.replicas, low), high)

    def _retire(self, slots: list[Slot]) -> None:
        for slot in slots:
            if slot.child is not None:
                slot.child.terminate(self.grace)
                self.stopping.append(slot.child)
                slot.child = None

    def _converge_all(self, now: float) -> None:
        for pool in self.pools.values():
            self._converge(pool, now)
        self.stopping = [child for child in self.stopping if not child.reap()]

    def _converge(self, pool: Pool, now: float) -> None:
        while len(pool.slots) < pool.replicas:
            pool.slots.append(Slot())
        self._retire(pool.slots[pool.replicas:])
        del pool.slots[pool.replicas:]
        for index, slot in enumerate(pool.slots):
            if slot.child is not None and (code := slot.child.exit_code()) is not None:
                self._exited(pool, index, slot, code, now)
            if slot.child is None and now >= slot.next_start:
                slot.child = Child(f"{pool.key}#{index}", self._argv(pool.unit, index), env=self.env, cwd=self.cwd)

    def _exited(self, pool: Pool, index: int, slot: Slot, code: int, now: float) -> None:
        child, slot.child = slot.child, None
        child.reap()
        slot.failures = 1 if child.uptime() >= HEALTHY_UPTIME else slot.failures + 1
        delay = min(MAX_BACKOFF, 2.0 ** (slot.failures - 1))
        slot.next_start = now + delay
        slot.last_exit = f"exited with code {code}" + (f": {child.last_line}" if child.last_line else "")
        pool.restarts += 1
        log.warning("supervisor: %s#%d %s; restarting in %.0f s", pool.key, index, slot.last_exit, delay)

    def _argv(self, unit: Unit, slot: int) -> list[str]:
        if isinstance(unit, WorkerPool):
            return worker_argv(unit, slot, python=self.python, media_root=self.media_root, redis_url=self.redis_url)
        return producer_argv(unit, python=self.python, redis_url=self.redis_url)

    # -- autoscaling ----------------------------------------------------------------------------------------

    def _autoscale(self, pool: Pool, heartbeats: dict[str, dict], now: float) -> None:
        policy = pool.unit.autoscale
        ids = {worker_id(pool.unit, index) for index in range(pool.replicas)}
        settled = time.time() - WARMUP
        reporting = [heartbeats[i] for i in ids if i in heartbeats and heartbeats[i].get("started_at", 0) <= settled]
        if not reporting:  # still starting: no reading to act on
            return
        pool.last_scaled = now
        if policy.metric == "cpu":
            metric = self._cpu_percent(pool, now)
            if metric is None:
                return
        else:
            metric = statistics.fmean(float(w.get(HEARTBEAT_FIELD[policy.metric], 0.0)) for w in reporting)
        decision = pool.autoscaler.decide(
            now=now, current=pool.replicas, metric=metric, target=policy.target_value,
            min_replicas=policy.min_replicas, max_replicas=policy.max_replicas,
            up_window=policy.scale_up_window_seconds, down_window=policy.scale_down_window_seconds,
        )
        if decision.desired == pool.replicas:
            return
        log.info("supervisor: %s scales %d -> %d: %s", pool.key, pool.replicas, decision.desired, decision.reason)
        event = dict(service_name=pool.unit.service, from_replicas=pool.replicas, to_replicas=decision.desired,
                     metric=policy.metric, metric_value=round(metric, 3), target_value=policy.target_value,
                     reason=decision.reason)
        pool.replicas = decision.desired
        self._converge(pool, now)
        if self.on_scale is not None:
            self.on_scale(**event)

    def _cpu_percent(self, pool: Pool, now: float) -> float | None:
        """Mean CPU use of the pool's processes since the last reading, in % of one core."""
        readings, seen = [], {}
        for child in pool.running():
            cpu = child.cpu_seconds()
            if cpu is None:
                continue
            seen[child.pid] = (cpu, now)
            if child.pid in pool.cpu_seen:
                before, at = pool.cpu_seen[child.pid]
                if now > at:
                    readings.append(100.0 * (cpu - before) / (now - at))
        pool.cpu_seen = seen
        return statistics.fmean(readings) if readings else None

    # -- status ---------------------------------------------------------------------------------------------

    def _report(self, heartbeats: dict[str, dict]) -> None:
        producers = [pool for pool in self.pools.values() if isinstance(pool.unit, Producer)]
        pipe = self.client.pipeline(transaction=False)
        for pool in producers:
            pipe.exists(protocol.producer_key(pool.unit.stream))
        producing = dict(zip((pool.key for pool in producers), pipe.execute())) if producers else {}
        statuses = {key: self._status(pool, heartbeats, producing.get(key, 0)).encode() for key, pool in self.pools.items()}
        changed = {key: value for key, value in statuses.items() if self.reported.get(key) != value}
        gone = [key for key in self.reported if key not in statuses]
        if not changed and not gone:
            return
        pipe = self.client.pipeline()
        if changed:
            pipe.hset(local_store.STATUS, mapping=changed)
        if gone:
            pipe.hdel(local_store.STATUS, *gone)
        pipe.execute()
        self.reported = statuses
        if self.nudge is not None:
            self.nudge()

    def _status(self, pool: Pool, heartbeats: dict[str, dict], producing: int) -> local_store.UnitStatus:
        running = pool.running()
        if isinstance(pool.unit, WorkerPool):
            ready = sum(1 for index, slot in enumerate(pool.slots)
                        if slot.child is not None and worker_id(pool.unit, index) in heartbeats)
        else:
            ready = 1 if running and producing else 0
        # A slot that died and has not yet stayed up for a while is still failing (a crash loop).
        waiting = [slot for slot in pool.slots if slot.last_exit and (slot.child is None or slot.child.uptime() < CRASH_LOOP_UPTIME)]
        error = ""
        if waiting:
            error = f"{pool.key} {waiting[0].last_exit}"
            if len(waiting) > 1:
                error += f" (and {len(waiting) - 1} more)"
        message = "" if ready or error else "starting"
        return local_store.UnitStatus(hash=pool.spec_hash, desired=pool.replicas, current=len(running), ready=ready,
                                      restarts=pool.restarts, error=error, message=message)

    # -- shutdown -------------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL after the grace period) and withdraw from Redis."""
        for pool in self.pools.values():
            self._retire(pool.slots)
        self.pools.clear()
        if self.stopping:
            log.info("supervisor: stopping %d processes", len(self.stopping))
        while self.stopping:
            self.stopping = [child for child in self.stopping if not child.reap()]
            time.sleep(0.1)
        try:
            self.client.delete(local_store.STATUS)
            if self.client.get(local_store.SUPERVISOR) == self.identity.encode():
                self.client.delete(local_store.SUPERVISOR)
        except redis.RedisError:
            pass
        log.info("supervisor: stopped")
