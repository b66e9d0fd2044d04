"""What the supervisor's autoscaler reads as a pool's load: only its own settled workers' heartbeats, or
its processes' CPU use between two readings."""

from __future__ import annotations

import time

import pytest

from controlplane.orchestration.supervisor import sampling
from controlplane.orchestration.supervisor.pools import Pools
from controlplane.orchestration.units import Autoscale, ModelRef, WorkerPool
from tests.controlplane.orchestration.fake_processes import FakeStarts

NOW = 1_000_000.0  # epoch seconds, as the heartbeats' started_at


def pool_of(metric: str, replicas: int):
    starts = FakeStarts()
    policy = Autoscale(min_replicas=replicas, max_replicas=4, metric=metric, target_value=1.0,
                       scale_up_window_seconds=0, scale_down_window_seconds=0)
    pools = Pools(starts, grace=30)
    pools.want({"worker/people": ("h1", WorkerPool(service="people", queue="people", model=ModelRef(
        builtin="builtin:people"), autoscale=policy))}, complete=True)
    pools.converge(0.0)
    return pools.by_key["worker/people"], starts


def beat(worker: str, age: float, **fields) -> dict:
    return {"worker": worker, "started_at": NOW - age, **fields}


def test_only_the_pools_own_workers_past_their_warmup_are_read():
    pool, _ = pool_of("scale_ratio", replicas=2)
    heartbeats = {name: beat(name, age, scale_ratio=ratio) for name, age, ratio in [
        ("people-0", 60, 2.0), ("people-1", sampling.WARMUP - 1, 9.0), ("people-2", 60, 9.0), ("faces-0", 60, 9.0)]}
    reporting = sampling.settled(pool, heartbeats, NOW)
    assert [worker["worker"] for worker in reporting] == ["people-0"]
    assert sampling.metric(pool, reporting, now=5.0) == 2.0


@pytest.mark.parametrize("metric", ["scale_ratio", "drop_fps", "infer_fps"])
def test_a_heartbeat_metric_is_the_mean_over_the_settled_workers(metric):
    pool, _ = pool_of(metric, replicas=2)
    reporting = [beat("people-0", 60, **{metric: 1.0}), beat("people-1", 60, **{metric: 4.0})]
    assert sampling.metric(pool, reporting, now=5.0) == 2.5


def test_cpu_is_the_mean_use_of_the_pools_processes_between_two_readings():
    pool, starts = pool_of("cpu", replicas=2)
    reporting = [beat("people-0", 60), beat("people-1", 60)]
    assert sampling.metric(pool, reporting, now=10.0) is None, "a first reading has nothing to compare with"
    first, second = starts.started
    first.cpu, second.cpu = 0.5, 1.5
    assert sampling.metric(pool, reporting, now=12.0) == pytest.approx(50.0)  # 25% and 75% of a core
    second.cpu = None  # gone since
    first.cpu = 2.5
    assert sampling.metric(pool, reporting, now=14.0) == pytest.approx(100.0)


def test_a_pools_throughput_is_what_its_settled_workers_infer_together():
    assert sampling.throughput([beat("people-0", 60, infer_fps=12.5), beat("people-1", 60, infer_fps=7.5)]) == 20.0
    assert sampling.throughput([]) == 0.0


def test_the_machines_cpu_is_its_busy_share_of_all_cores_between_two_readings():
    # /proc/stat's cpu line: user nice system idle iowait irq softirq steal guest guest_nice
    lines = iter(["cpu  1000 0 500 8000 500 0 0 0 300 0",
                  "cpu  1900 0 550 8040 510 0 0 0 600 0",  # +950 busy of +1000: 95 %
                  "cpu  1900 0 550 8540 510 0 0 0 600 0",  # idle only
                  "garbage",
                  "cpu  2000 0 550 8940 510 0 0 0 600 0"])  # +100 busy of +500 since the last good one
    cpu = sampling.MachineCpu(read=lambda: next(lines), window=0)
    assert cpu.percent() is None, "a first reading has nothing to compare with"
    assert cpu.percent() == pytest.approx(95.0), "iowait counts as idle, guest time is not counted twice"
    assert cpu.percent() == 0.0
    assert cpu.percent() is None
    assert cpu.percent() == pytest.approx(20.0)


def test_the_machines_cpu_is_a_mean_over_its_window():
    clock, busy = [0.0], [0]

    def line() -> str:
        return f"cpu  {busy[0]} 0 0 {100 * int(clock[0]) - busy[0]} 0 0 0 0 0 0"  # 100 jiffies a second

    cpu = sampling.MachineCpu(read=line, window=10.0, clock=lambda: clock[0])
    cpu.percent()
    for second in range(1, 11):  # 10 s with the cores busy all the time...
        clock[0], busy[0] = second, busy[0] + 100
        cpu.percent()
    clock[0] = 11.0  # ...and then one idle second
    assert cpu.percent() == pytest.approx(90.0), "the last 10 s, not the last second"
    clock[0] = 25.0
    assert cpu.percent() == pytest.approx(0.0), "what is older than the window is forgotten"


def test_the_machines_cpu_is_unknown_without_proc_stat():
    def missing() -> str:
        raise FileNotFoundError("/proc/stat")

    assert sampling.MachineCpu(read=missing).percent() is None
    real = sampling.MachineCpu()
    real.percent()
    time.sleep(0.05)
    share = real.percent()
    assert share is None or 0.0 <= share <= 100.0
