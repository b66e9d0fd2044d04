"""What an autoscaled pool's load reads as, for the HPA rule: the mean of a heartbeat field over the
pool's settled workers, or the CPU use of its processes between two readings (the policy's metric)."""

from __future__ import annotations

import statistics

from controlplane.orchestration.commands import worker_id
from controlplane.orchestration.supervisor.pools import Pool
from controlplane.scaling.metrics import METRICS_BY_NAME

# A worker's first seconds say little about the load: it drops the frames that aged in the queue while its
# model loaded. Like the HPA's initial readiness delay, its readings count only after this many seconds.
WARMUP = 10.0


def settled(pool: Pool, heartbeats: dict[str, dict], wall_now: float) -> list[dict]:
    """The heartbeats of the pool's workers that started at least :data:`WARMUP` seconds before
    ``wall_now`` (epoch seconds, as the heartbeats' ``started_at``)."""
    ids = {worker_id(pool.unit, index) for index in range(pool.replicas)}
    return [heartbeats[i] for i in ids if i in heartbeats and heartbeats[i].get("started_at", 0) <= wall_now - WARMUP]


def metric(pool: Pool, reporting: list[dict], now: float) -> float | None:
    """The policy's metric now; None for a first CPU reading, which has nothing to compare with."""
    field = METRICS_BY_NAME[pool.unit.autoscale.metric].heartbeat_field
    if field is None:
        return cpu_percent(pool, now)
    return statistics.fmean(float(worker.get(field, 0.0)) for worker in reporting)


def cpu_percent(pool: Pool, now: float) -> float | None:
    """Mean CPU use of the pool's processes since the last reading, in % of one core."""
    readings, seen = [], {}
    for process in pool.running():
        cpu = process.cpu_seconds()
        if cpu is None:
            continue
        seen[process.pid] = (cpu, now)
        if process.pid in pool.cpu_seen:
            before, at = pool.cpu_seen[process.pid]
            if now > at:
                readings.append(100.0 * (cpu - before) / (now - at))
    pool.cpu_seen = seen
    return statistics.fmean(readings) if readings else None
