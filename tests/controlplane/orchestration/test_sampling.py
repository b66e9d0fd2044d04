"""What the supervisor's autoscaler reads as a pool's load: only its own settled workers' heartbeats, or
its processes' CPU use between two readings."""

from __future__ import annotations

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
