"""The supervisor's decisions about processes, with the starting of one injected (a :data:`Starter`), so
they are tested without spawning anything: a pool of replica slots per unit, a dead process started again
after an exponential backoff, a spec change or a smaller pool stopping what it replaces, the HPA rule
applied to a reading (held back on a machine whose cores are full, see :data:`CPU_SATURATED`), and the
status a pool shows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

from controlplane.orchestration.commands import worker_id
from controlplane.orchestration.local_store import UnitStatus
from controlplane.orchestration.units import Unit, WorkerPool
from controlplane.scaling.autoscaler import Autoscaler

log = logging.getLogger("supervisor")

MAX_BACKOFF = 60.0
HEALTHY_UPTIME = 60.0  # a process that ran this long before dying starts its backoff afresh
CRASH_LOOP_UPTIME = 10.0  # a restarted process counts as failing until it has run this long

# On one machine another worker only helps if there are cores for it. When the machine's CPU is at least
# this busy (% of all its cores) and the pool's last scale-out raised its throughput by less than
# MIN_GAIN, the pool is held at its size instead of growing (the HPA rule alone would keep adding
# processes that share the same cores, and latency would rise). A first scale-out always happens: the
# rule needs that evidence. While a scale-out onto full cores is still settling, the pool waits for its
# figure (up to SETTLE_TIMEOUT) rather than adding more. On Kubernetes the HPA decides alone; the cluster
# adds nodes.
CPU_SATURATED = 90.0
MIN_GAIN = 0.10
SETTLE_TIMEOUT = 120.0
AFTER_WINDOW = 10.0  # "after" is the best reading over this long from when every replica has settled


class Process(Protocol):
    """A started process, as the pools use it (``processes.Child`` on this machine)."""

    pid: int
    last_line: str  # its last line of output, to explain an exit

    def exit_code(self) -> int | None: ...

    def uptime(self) -> float: ...

    def terminate(self, grace: float) -> None: ...

    def reap(self) -> bool: ...

    def cpu_seconds(self) -> float | None: ...


Starter = Callable[[str, Unit, int], Process]  # (label, unit, slot index) -> the process, started


@dataclass
class Slot:
    """One replica position. Its index names the worker (``<service>-<index>``) across restarts."""

    process: Process | None = None
    failures: int = 0
    next_start: float = 0.0
    last_exit: str = ""


@dataclass
class ScaleOut:
    """A pool's last scale-out, to tell whether it helped: the pool's throughput (frames inferred per
    second, the settled workers' sum) before it, and after it. "Before" is the best reading of the old
    workers from the decision until the new ones settle (a reading at the decision may come from sliding
    windows that the overload had only half filled); "after" the best reading over :data:`AFTER_WINDOW`
    from when every replica has settled (the first such reading can still be a transient)."""

    from_replicas: int
    to_replicas: int
    at: float  # when it was decided (the supervisor's clock)
    before: float
    before_workers: int  # how many settled workers ``before`` was read from
    after: float | None = None
    settled_at: float | None = None  # when every replica was first read settled
    measured: bool = False  # the after window is over: ``after`` is final
    held: bool = False  # a "cores are full" event was reported on this evidence: not again

    def gain(self) -> float | None:
        """The relative throughput gain, once measured; None without a throughput to compare with."""
        if not self.measured or self.after is None or self.before <= 0:
            return None
        return self.after / self.before - 1.0


def replica_bounds(unit: Unit) -> tuple[int, int]:
    """A worker pool's policy bounds; one process for a pool without a policy, or a producer."""
    policy = unit.autoscale if isinstance(unit, WorkerPool) else None
    return (policy.min_replicas, policy.max_replicas) if policy else (1, 1)


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
    last_scale_out: ScaleOut | None = None

    def running(self) -> list[Process]:
        return [slot.process for slot in self.slots[: self.replicas] if slot.process is not None]

    def status(self, heartbeats: Collection[str], producing: Collection[str]) -> UnitStatus:
        """``heartbeats``: the ids of the workers that beat; ``producing``: the streams whose producer
        beats. A slot that died and has not yet stayed up for a while is still failing (a crash loop)."""
        running = self.running()
        if isinstance(self.unit, WorkerPool):
            ready = sum(1 for index, slot in enumerate(self.slots)
                        if slot.process is not None and worker_id(self.unit, index) in heartbeats)
        else:
            ready = 1 if running and self.unit.stream in producing else 0
        waiting = [slot for slot in self.slots
                   if slot.last_exit and (slot.process is None or slot.process.uptime() < CRASH_LOOP_UPTIME)]
        error = ""
        if waiting:
            error = f"{self.key} {waiting[0].last_exit}"
            if len(waiting) > 1:
                error += f" (and {len(waiting) - 1} more)"
        message = "" if ready or error else "starting"
        return UnitStatus(hash=self.spec_hash, desired=self.replicas, current=len(running), ready=ready,
                          restarts=self.restarts, error=error, message=message)


def cores_full(last: ScaleOut | None, machine_cpu: float | None) -> str | None:
    """Why a scale-out would not help (the reason of the event that holds the pool), or None: the machine's
    cores are full and the pool's last scale-out, measured, raised its throughput by less than MIN_GAIN."""
    if last is None or machine_cpu is None or machine_cpu < CPU_SATURATED:
        return None
    gain = last.gain()
    if gain is None or gain >= MIN_GAIN:
        return None
    workers = "worker" if last.before_workers == 1 else "workers"
    return (f"not scaling: the cores are full (CPU at {machine_cpu:.0f} % of the machine's cores; the last "
            f"scale-out, {last.from_replicas} -> {last.to_replicas}, took the pool from {last.before:.1f} fps on "
            f"{last.before_workers} {workers} to {last.after:.1f} fps on {last.to_replicas}, {gain:+.0%}, under the "
            f"{MIN_GAIN:.0%} another worker must add)")


class Pools:
    """Every unit's pool, and the processes still stopping (SIGTERM sent, not yet gone)."""

    def __init__(self, start: Starter, *, grace: float):
        self.start = start
        self.grace = grace
        self.by_key: dict[str, Pool] = {}
        self.stopping: list[Process] = []

    def want(self, units: dict[str, tuple[str, Unit]], *, complete: bool) -> None:
        """Take ``units`` (key -> spec hash, unit) as the desired state. Only when they are ``complete``
        (the reconciled mark) does a pool missing from them stop; :meth:`converge` starts processes."""
        if complete:
            for key in list(self.by_key.keys() - units.keys()):
                log.info("supervisor: %s is no longer wanted; stopping it", key)
                self._retire(self.by_key.pop(key).slots)
        for key, (spec_hash, unit) in units.items():
            self._sync(key, spec_hash, unit)

    def converge(self, now: float) -> None:
        """Start what is missing and due, note what exited, and reap what is stopping."""
        for pool in self.by_key.values():
            self._converge(pool, now)
        self.reap()

    def autoscale(self, pool: Pool, metric: float, now: float, *, throughput: float | None = None,
                  settled: int = 0, machine_cpu: float | None = None) -> dict | None:
        """Apply the HPA rule to one reading of the pool's metric; when the replica count changes, resize
        the pool and return the scaling event's fields. ``throughput`` is the pool's frames per second,
        read from ``settled`` of its workers; ``machine_cpu`` the machine's CPU use in % of all cores (None:
        unknown). A scale-out is held when the cores are full and the last one did not help: the event
        returned then (once per such evidence) keeps the replica count and says why; while the last one is
        still settling on full cores, nothing is added (its figure is awaited, up to SETTLE_TIMEOUT)."""
        policy = pool.unit.autoscale
        self._measure(pool, throughput, settled, now)
        decision = pool.autoscaler.decide(
            now=now, current=pool.replicas, metric=metric, target=policy.target_value,
            min_replicas=policy.min_replicas, max_replicas=policy.max_replicas,
            up_window=policy.scale_up_window_seconds, down_window=policy.scale_down_window_seconds,
        )
        if decision.desired == pool.replicas:
            return None
        event = {"service_name": pool.unit.service, "from_replicas": pool.replicas, "to_replicas": decision.desired,
                 "metric": policy.metric, "metric_value": round(metric, 3), "target_value": policy.target_value,
                 "reason": decision.reason}
        last = pool.last_scale_out
        if decision.desired > pool.replicas:
            if (last is not None and not last.measured and machine_cpu is not None and machine_cpu >= CPU_SATURATED
                    and now - last.at < SETTLE_TIMEOUT):
                log.debug("supervisor: %s waits for its scale-out to %d to settle before growing onto full cores",
                          pool.key, last.to_replicas)
                return None
            if (full := cores_full(last, machine_cpu)) is not None:
                if last.held:
                    return None
                last.held = True
                reason = f"{full}; held at {pool.replicas} rather than {decision.desired}: {decision.reason}"
                log.info("supervisor: %s %s", pool.key, reason)
                return {**event, "to_replicas": pool.replicas, "reason": reason}
            pool.last_scale_out = (None if throughput is None else
                                   ScaleOut(pool.replicas, decision.desired, at=now, before=throughput,
                                            before_workers=settled))
        else:
            pool.last_scale_out = None  # a smaller pool: the next scale-out is a new trial
        log.info("supervisor: %s scales %d -> %d: %s", pool.key, pool.replicas, decision.desired, decision.reason)
        pool.replicas = decision.desired
        self._converge(pool, now)
        return event

    @staticmethod
    def _measure(pool: Pool, throughput: float | None, settled: int, now: float) -> None:
        """Note the throughput after the last scale-out: the best reading from every replica settled over
        AFTER_WINDOW; until they are, a reading from no more than the old workers may raise the one before."""
        last = pool.last_scale_out
        if last is None or last.measured or throughput is None:
            return
        if last.to_replicas != pool.replicas:  # resized since by new policy bounds: no longer the same trial
            pool.last_scale_out = None
        elif settled >= pool.replicas:
            if last.settled_at is None:
                last.settled_at = now
            last.after = max(throughput, last.after or 0.0)
            last.measured = now - last.settled_at >= AFTER_WINDOW
        elif last.settled_at is None and settled <= last.from_replicas and throughput > last.before:
            last.before, last.before_workers = throughput, settled

    def running_count(self) -> int:
        return sum(len(pool.running()) for pool in self.by_key.values())

    def stop_all(self) -> None:
        """SIGTERM to every process; :meth:`reap` until it returns True."""
        for pool in self.by_key.values():
            self._retire(pool.slots)
        self.by_key.clear()

    def reap(self) -> bool:
        """True once every stopping process is gone (one past its grace period is killed)."""
        self.stopping = [process for process in self.stopping if not process.reap()]
        return not self.stopping

    def _sync(self, key: str, spec_hash: str, unit: Unit) -> None:
        pool = self.by_key.get(key)
        if pool is None:
            low, _ = replica_bounds(unit)
            self.by_key[key] = Pool(key, unit, spec_hash, replicas=low)
            log.info("supervisor: %s wanted; starting %d", key, low)
            return
        if pool.spec_hash != spec_hash:
            log.info("supervisor: %s changed; replacing its processes", key)
            self._retire(pool.slots)
            pool.slots, pool.spec_hash = [], spec_hash
            pool.last_scale_out = None  # new processes (another model, say): what they gain is unknown
        pool.unit = unit
        low, high = replica_bounds(unit)
        if not low <= pool.replicas <= high:
            bounded = min(max(pool.replicas, low), high)
            log.info("supervisor: %s policy bounds %d-%d; %d -> %d replicas", key, low, high, pool.replicas, bounded)
            pool.replicas = bounded

    def _retire(self, slots: list[Slot]) -> None:
        for slot in slots:
            if slot.process is not None:
                slot.process.terminate(self.grace)
                self.stopping.append(slot.process)
                slot.process = None

    def _converge(self, pool: Pool, now: float) -> None:
        while len(pool.slots) < pool.replicas:
            pool.slots.append(Slot())
        self._retire(pool.slots[pool.replicas:])
        del pool.slots[pool.replicas:]
        for index, slot in enumerate(pool.slots):
            if slot.process is not None and (code := slot.process.exit_code()) is not None:
                self._exited(pool, index, slot, code, now)
            if slot.process is None and now >= slot.next_start:
                slot.process = self.start(f"{pool.key}#{index}", pool.unit, index)

    def _exited(self, pool: Pool, index: int, slot: Slot, code: int, now: float) -> None:
        process, slot.process = slot.process, None
        process.reap()
        slot.failures = 1 if process.uptime() >= HEALTHY_UPTIME else slot.failures + 1
        delay = min(MAX_BACKOFF, 2.0 ** (slot.failures - 1))
        slot.next_start = now + delay
        slot.last_exit = f"exited with code {code}" + (f": {process.last_line}" if process.last_line else "")
        pool.restarts += 1
        log.warning("supervisor: %s#%d %s; restarting in %.0f s", pool.key, index, slot.last_exit, delay)
