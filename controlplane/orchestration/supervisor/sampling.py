"""What an autoscaled pool's load reads as, for the HPA rule: the mean of a heartbeat field over the
pool's settled workers, or the CPU use of its processes between two readings (the policy's metric); the
pool's total throughput; and how busy the whole machine's CPU is (:class:`MachineCpu`), which on one
machine decides whether another worker can help at all."""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable

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


def throughput(reporting: list[dict]) -> float:
    """The frames per second the pool's settled workers infer together (each over its sliding window)."""
    return sum(float(worker.get("infer_fps", 0.0)) for worker in reporting)


def read_proc_stat() -> str:
    with open("/proc/stat", encoding="ascii") as stat:
        return stat.readline()


class MachineCpu:
    """The machine's CPU use over the last ``window`` seconds, in % of all its cores, from the kernel's
    counters (``/proc/stat``'s ``cpu`` line: busy jiffies over all jiffies since the newest reading at
    least ``window`` old, or the oldest one kept): a mean over several readings, so one second in which the
    workers waited on Redis does not read as cores with room.

    Chosen over ``os.getloadavg() / os.cpu_count()``: the load average is a one-minute exponential mean,
    minutes behind a decision taken every few seconds, and it counts tasks waiting (on the disk too), not
    time the cores spent working. ``psutil`` would read the same file but is not a pinned requirement.
    ``read`` returns the ``cpu`` line (injected by the tests); without ``/proc`` (not Linux) it is unknown.
    """

    def __init__(self, read: Callable[[], str] = read_proc_stat, *, window: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.read, self.window, self.clock = read, window, clock
        self._readings: deque[tuple[float, int, int]] = deque()  # (at, busy, total jiffies)

    def percent(self) -> float | None:
        """% of all cores busy over the window; None for a first reading or an unreadable counter."""
        try:
            fields = [int(value) for value in self.read().split()[1:]]
        except (OSError, ValueError):
            return None
        if len(fields) < 4:  # not the cpu line: keep the last good reading to compare with
            return None
        # user nice system idle iowait irq softirq steal (guest time is already in user and nice)
        counters = (fields + [0] * 8)[:8]
        idle = counters[3] + counters[4]
        total = sum(counters)
        now = self.clock()
        readings = self._readings
        readings.append((now, total - idle, total))
        while len(readings) >= 3 and readings[1][0] <= now - self.window:
            readings.popleft()
        if len(readings) < 2:
            return None
        _, busy_then, total_then = readings[0]
        if total <= total_then:
            return None
        return 100.0 * (total - idle - busy_then) / (total - total_then)
