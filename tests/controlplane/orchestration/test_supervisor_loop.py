"""The supervisor's loop, one step at a time, on the test Redis with a starter that spawns nothing: what
it does when the desired state changes, goes missing or comes back, and what it reports."""

from __future__ import annotations

import time

import pytest

from controlplane.orchestration import local_store
from controlplane.orchestration.supervisor.loop import Supervisor
from controlplane.orchestration.units import Autoscale, ModelRef, WorkerPool, spec_hash, spec_of, unit_key
from inference_worker import heartbeat, protocol
from tests.controlplane.orchestration.fake_processes import FakeStarts

PEOPLE = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people"),
                    autoscale=Autoscale(1, 3, "scale_ratio", 1.0, 0, 0))


def desire(r, *units, reconciled: bool = True) -> None:
    """What a reconcile pass of the local backend leaves in Redis."""
    for unit in units:
        r.hset(local_store.UNITS, unit_key(unit), local_store.encode_unit(spec_hash(unit), spec_of(unit)))
    if reconciled:
        r.set(local_store.RECONCILED, 1)


def beat(r, worker: str, *, scale_ratio: float, age: float = 60.0, infer_fps: float = 10.0) -> None:
    now = time.time()
    pipe = r.pipeline()
    heartbeat.write(pipe, protocol.Heartbeat(
        worker=worker, queue="people", model="builtin:people", device="CPU", pid=1, host="here", namespace="",
        started_at=now - age, updated_at=now, window_seconds=5.0, infer_fps=infer_fps, drop_fps=0.0, scale_ratio=scale_ratio, latency_p50_ms=1.0,
        latency_p99_ms=2.0, inferred=100, dropped=0, rejected=0))
    pipe.execute()


class Recorder:
    def __init__(self) -> None:
        self.nudges = 0
        self.events: list[dict] = []

    def nudge(self) -> None:
        self.nudges += 1

    def on_scale(self, **event) -> None:
        self.events.append(event)


class FakeCpu:
    """The machine's CPU use, as the test sets it."""

    def __init__(self, percent: float | None = 50.0) -> None:
        self.share = percent
        self.reads = 0

    def percent(self) -> float | None:
        self.reads += 1
        return self.share


@pytest.fixture
def cpu():
    return FakeCpu()


@pytest.fixture
def loop(r, cpu):
    starts, recorder = FakeStarts(), Recorder()
    supervisor = Supervisor(r, start=starts, autoscale_interval=0, grace=10, on_scale=recorder.on_scale,
                            nudge=recorder.nudge, machine_cpu=cpu)
    return supervisor, starts, recorder


def status(r, key: str) -> local_store.UnitStatus | None:
    raw = r.hget(local_store.STATUS, key)
    return None if raw is None else local_store.UnitStatus.decode(raw)


def test_a_desired_unit_is_started_and_its_status_reported_once_per_change(r, loop):
    supervisor, starts, recorder = loop
    desire(r, PEOPLE)
    supervisor.step()
    assert starts.labels() == ["worker/people#0"]
    assert status(r, "worker/people") == local_store.UnitStatus(hash=spec_hash(PEOPLE), desired=1, current=1, ready=0,
                                                                message="starting")
    assert recorder.nudges == 1
    supervisor.step()
    assert recorder.nudges == 1, "nothing changed: nothing written, no pass asked for"


def test_a_redis_that_lost_its_units_stops_nothing_and_asks_for_a_pass(r, loop):
    supervisor, starts, recorder = loop
    desire(r, PEOPLE)
    supervisor.step()
    r.flushall()  # a Redis restarted without persistence
    supervisor.step()
    supervisor.step()
    assert starts.started[0].grace is None and len(starts.started) == 1
    assert status(r, "worker/people") is not None, "the lost status is written again"
    assert recorder.nudges == 3  # the first report, the missing state, the status written again

    desire(r, reconciled=True)  # a pass that finds the unit no longer wanted
    supervisor.step()
    assert starts.started[0].grace == 10
    assert r.hlen(local_store.STATUS) == 0


def test_a_loaded_pool_is_scaled_and_the_event_recorded(r, loop):
    supervisor, starts, recorder = loop
    desire(r, PEOPLE)
    supervisor.step()
    beat(r, "people-0", scale_ratio=2.0, age=0)
    supervisor.step()
    assert recorder.events == [], "a worker still warming up is not read"
    beat(r, "people-0", scale_ratio=2.0)
    supervisor.step()
    assert [(e["from_replicas"], e["to_replicas"], e["metric_value"]) for e in recorder.events] == [(1, 2, 2.0)]
    assert starts.labels() == ["worker/people#0", "worker/people#1"]
    assert status(r, "worker/people").desired == 2


def test_on_full_cores_a_scale_out_that_did_not_help_is_not_repeated_and_the_hold_recorded_once(r, loop, cpu,
                                                                                              monkeypatch):
    from controlplane.orchestration.supervisor import pools

    monkeypatch.setattr(pools, "AFTER_WINDOW", 0.0)  # "after" final at the first settled reading
    supervisor, starts, recorder = loop
    cpu.share = 97.0
    desire(r, PEOPLE)
    supervisor.step()
    beat(r, "people-0", scale_ratio=2.0, infer_fps=10.0)
    supervisor.step()
    assert [(e["from_replicas"], e["to_replicas"]) for e in recorder.events] == [(1, 2)], "the first one happens"
    for worker in ("people-0", "people-1"):  # both settled, together no faster than one was
        beat(r, worker, scale_ratio=1.6, infer_fps=5.1)
    supervisor.step()
    supervisor.step()
    assert [(e["from_replicas"], e["to_replicas"]) for e in recorder.events] == [(1, 2), (2, 2)]
    assert recorder.events[-1]["reason"].startswith("not scaling: the cores are full (CPU at 97 %")
    assert "from 10.0 fps on 1 worker to 10.2 fps on 2, +2%" in recorder.events[-1]["reason"]
    assert starts.labels() == ["worker/people#0", "worker/people#1"] and status(r, "worker/people").desired == 2
    assert cpu.reads == 4, "the machine is read once a step that has pools due"


def test_shutdown_stops_every_process_and_withdraws(r, loop):
    supervisor, starts, _ = loop
    desire(r, PEOPLE)
    supervisor.store.claim()
    supervisor.step()
    starts.started[0].exit(-15)  # it stops when asked
    supervisor.shutdown()
    assert starts.started[0].grace == 10
    assert not r.exists(local_store.STATUS) and not r.exists(local_store.SUPERVISOR)


def test_redis_lost_between_the_read_and_the_report_stops_nothing_and_the_status_goes_out_later(r, loop, monkeypatch):
    import redis

    supervisor, starts, recorder = loop
    desire(r, PEOPLE)
    real_report = supervisor.store.report

    def lost(*_args):
        raise redis.ConnectionError("Connection closed by server.")

    monkeypatch.setattr(supervisor.store, "report", lost)
    supervisor.step()  # must not raise: run() would shut the fleet down
    assert starts.labels() == ["worker/people#0"] and status(r, "worker/people") is None
    monkeypatch.setattr(supervisor.store, "report", real_report)
    supervisor.step()
    assert starts.labels() == ["worker/people#0"], "the same process, not a new one"
    assert status(r, "worker/people").desired == 1
