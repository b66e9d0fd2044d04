"""The supervisor's loop. Each step it reads the desired units from Redis, lets the pools start what is
missing, restart what died and stop what is no longer wanted or was replaced by a new spec, applies the
HPA rule to each worker pool with a policy (with the machine's CPU use, read once for the pools due, so a
pool is not grown onto cores that are already full), and reports every unit's status back.

Losing Redis for a while leaves the running processes alone, and so does a Redis that comes back empty:
until the reconciler has written the desired state again, nothing is stopped (``local_store.RECONCILED``).
"""

from __future__ import annotations

import logging
import os
import time

import redis

from controlplane.orchestration.supervisor import sampling
from controlplane.orchestration.supervisor.pools import Pool, Pools, Starter
from controlplane.orchestration.supervisor.store import SupervisorStore
from controlplane.orchestration.units import Producer, Unit, WorkerPool
from inference_worker.runtime import StopFlag

log = logging.getLogger("supervisor")


class Supervisor:
    """``start`` makes a unit's process (``processes.UnitProcesses`` on this machine); ``on_scale`` is
    called with a scaling event's fields; ``nudge`` asks the reconciler for a pass (a status changed, or
    Redis lost the units); ``machine_cpu`` reads the machine's CPU use (``/proc/stat`` by default)."""

    def __init__(self, client: redis.Redis, *, start: Starter, autoscale_interval: float = 5.0,
                 grace: float = 30.0, on_scale=None, nudge=None, machine_cpu: sampling.MachineCpu | None = None):
        self.store = SupervisorStore(client)
        self.pools = Pools(start, grace=grace)
        self.machine_cpu = machine_cpu or sampling.MachineCpu()
        self.autoscale_interval = autoscale_interval
        self.on_scale = on_scale
        self.nudge = nudge
        self.reported: dict[str, str] = {}  # unit key -> the encoded status last written
        self._redis_down = False
        self._unreconciled = False  # Redis holds no mark that its units are the whole desired state

    def run(self, stop: StopFlag, poll: float = 1.0) -> None:
        self.store.claim()
        wakeups = self.store.wakeups()
        log.info("supervisor: running (pid %d)", os.getpid())
        try:
            while not stop.is_set():
                self.step()
                wakeups.wait(poll, redis_down=self._redis_down)
        finally:
            self.shutdown()
            wakeups.close()

    def step(self) -> None:
        now = time.monotonic()
        try:
            seen = self.store.read()
        except redis.RedisError as exc:
            self._lost_redis(exc)
            self.pools.converge(now)
            return
        if self._redis_down:
            log.info("supervisor: Redis is back")
            self._redis_down = False
        if seen.complete:
            self._unreconciled = False
        elif not self._unreconciled:
            self._desired_state_missing(seen.units)
        self.pools.want(seen.units, complete=seen.complete)
        self.pools.converge(now)
        due = [pool for pool in self.pools.by_key.values() if isinstance(pool.unit, WorkerPool) and pool.unit.autoscale
               and now - pool.last_scaled >= self.autoscale_interval]
        if due:
            machine_cpu = self.machine_cpu.percent()  # a mean over its last 10 s
            for pool in due:
                self._autoscale(pool, seen.heartbeats, now, machine_cpu)
        try:
            self._report(seen.heartbeats)
        except redis.RedisError as exc:  # gone since the read: the statuses not written go out next time
            self._lost_redis(exc)

    def _lost_redis(self, exc: redis.RedisError) -> None:
        """Losing Redis leaves every process as it is; said once per outage."""
        if not self._redis_down:
            log.warning("supervisor: Redis unreachable (%s); keeping %d processes as they are", exc,
                        self.pools.running_count())
        self._redis_down = True

    def _desired_state_missing(self, units: dict[str, tuple[str, Unit]]) -> None:
        """A new Redis, or one that restarted empty: keep every process, report every status again (they
        were lost too) and ask for a pass, which writes the units and the mark back."""
        self._unreconciled = True
        self.reported = {}
        if kept := self.pools.by_key.keys() - units.keys():
            log.warning("supervisor: Redis holds no desired state (restarted empty?); keeping %s until the "
                        "reconciler writes it again", ", ".join(sorted(kept)))
        if self.nudge is not None:
            self.nudge()

    def _autoscale(self, pool: Pool, heartbeats: dict[str, dict], now: float, machine_cpu: float | None) -> None:
        reporting = sampling.settled(pool, heartbeats, time.time())
        if not reporting:  # still starting: no reading to act on
            return
        pool.last_scaled = now
        metric = sampling.metric(pool, reporting, now)
        if metric is None:
            return
        event = self.pools.autoscale(pool, metric, now, throughput=sampling.throughput(reporting),
                                     settled=len(reporting), machine_cpu=machine_cpu)
        if event is not None and self.on_scale is not None:
            self.on_scale(**event)

    def _report(self, heartbeats: dict[str, dict]) -> None:
        """Write the statuses that changed since the last report, and nudge the reconciler if any did."""
        streams = [pool.unit.stream for pool in self.pools.by_key.values() if isinstance(pool.unit, Producer)]
        producing = self.store.producing(streams)
        statuses = {key: pool.status(heartbeats, producing).encode() for key, pool in self.pools.by_key.items()}
        changed = {key: value for key, value in statuses.items() if self.reported.get(key) != value}
        gone = [key for key in self.reported if key not in statuses]
        if not changed and not gone:
            return
        self.store.report(changed, gone)
        self.reported = statuses
        if self.nudge is not None:
            self.nudge()

    def shutdown(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL after the grace period) and withdraw from Redis."""
        self.pools.stop_all()
        if self.pools.stopping:
            log.info("supervisor: stopping %d processes", len(self.pools.stopping))
        while not self.pools.reap():
            time.sleep(0.1)
        self.store.withdraw()
        log.info("supervisor: stopped")
