"""The supervisor's decisions, with a starter that spawns nothing: which processes a unit gets, when a
dead one comes back, what a spec change, a policy or the autoscaler replaces, and the status it shows."""

from __future__ import annotations

from dataclasses import replace

from controlplane.orchestration.supervisor.pools import HEALTHY_UPTIME, SETTLE_TIMEOUT, Pools
from controlplane.orchestration.units import Autoscale, ModelRef, Producer, WorkerPool, spec_hash
from tests.controlplane.orchestration.fake_processes import FakeStarts

PEOPLE = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people"))
STREET = Producer(stream="street", source_kind="file", source="/videos/street.mp4", queues=("people",), fps=10)


def elastic(low: int, high: int, **policy) -> WorkerPool:
    autoscale = Autoscale(**{"min_replicas": low, "max_replicas": high, "metric": "scale_ratio", "target_value": 1.0,
                             "scale_up_window_seconds": 0, "scale_down_window_seconds": 0, **policy})
    return WorkerPool(service="people", queue="people", model=PEOPLE.model, autoscale=autoscale)


def running(starts: FakeStarts, pools: Pools, units: dict, now: float = 0.0) -> Pools:
    starts.now = now
    pools.want(units, complete=True)
    pools.converge(now)
    return pools


def restart_delay(starts: FakeStarts, pools: Pools, uptime: float) -> float:
    """End the newest process after ``uptime`` seconds; how long until the pool starts its replacement."""
    dying = starts.started[-1]
    starts.now = dying.started + uptime
    died = starts.now
    dying.exit(1)
    while starts.started[-1] is dying:
        pools.converge(starts.now)
        starts.now += 0.5
    return starts.started[-1].started - died


def test_a_unit_gets_its_processes_named_by_slot():
    starts = FakeStarts()
    running(starts, Pools(starts, grace=30), {"worker/people": ("h1", elastic(2, 4)), "producer/street": ("h2", STREET)})
    assert sorted(starts.labels()) == ["producer/street#0", "worker/people#0", "worker/people#1"]
    assert sorted((p.unit.kind, p.slot) for p in starts.started) == [("producer", 0), ("worker", 0), ("worker", 1)]


def test_a_dead_worker_is_restarted_with_backoff_doubling_to_a_minute():
    starts = FakeStarts()
    pools = running(starts, Pools(starts, grace=30), {"worker/people": ("h1", PEOPLE)})
    delays = [restart_delay(starts, pools, uptime=1.0) for _ in range(9)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert pools.by_key["worker/people"].restarts == 9


def test_a_worker_that_ran_a_while_before_dying_starts_its_backoff_afresh():
    starts = FakeStarts()
    pools = running(starts, Pools(starts, grace=30), {"worker/people": ("h1", PEOPLE)})
    assert [restart_delay(starts, pools, uptime=1.0) for _ in range(3)] == [1, 2, 4]
    assert restart_delay(starts, pools, uptime=HEALTHY_UPTIME) == 1


def test_a_crash_loop_is_an_error_with_the_last_line_until_the_process_stays_up():
    starts = FakeStarts()
    pools = running(starts, Pools(starts, grace=30), {"worker/people": ("h1", PEOPLE)})
    pool = pools.by_key["worker/people"]
    assert pool.status(set(), set()).message == "starting"
    starts.started[-1].exit(2, "cannot read model broken.onnx")
    pools.converge(starts.now)
    status = pool.status(set(), set())
    assert status.error == "worker/people exited with code 2: cannot read model broken.onnx"
    assert (status.desired, status.current, status.ready, status.restarts) == (1, 0, 0, 1)

    starts.now += 1
    pools.converge(starts.now)  # the backoff is over: started again
    assert pool.status({"people-0"}, set()).error, "failing until it has stayed up a while"
    starts.now += 10
    status = pool.status({"people-0"}, set())
    assert (status.error, status.ready, status.current, status.restarts) == ("", 1, 1, 1)


def test_a_spec_change_replaces_the_processes():
    starts = FakeStarts()
    pools = running(starts, Pools(starts, grace=30), {"worker/people": ("h1", elastic(2, 2))})
    old = list(starts.started)
    running(starts, pools, {"worker/people": ("h2", elastic(2, 2))}, now=5.0)
    assert [process.grace for process in old] == [30, 30], "asked to stop, with the grace period"
    assert len(starts.started) == 4 and pools.by_key["worker/people"].spec_hash == "h2"
    assert pools.stopping == old
    for process in old:
        process.exit(-15)
    assert pools.reap() and pools.stopping == []


def test_a_new_label_selection_replaces_the_processes_and_the_new_ones_get_it():
    starts = FakeStarts()
    pools = running(starts, Pools(starts, grace=30), {"worker/people": (spec_hash(PEOPLE), PEOPLE)})
    (old,) = starts.started
    cars = replace(PEOPLE, keep_labels=("person", "bicycle"))
    running(starts, pools, {"worker/people": (spec_hash(cars), cars)}, now=5.0)
    assert old.grace == 30 and [process.unit.keep_labels for process in starts.started] == [(), ("person", "bicycle")]


def test_without_the_reconciled_mark_nothing_is_stopped():
    starts = FakeStarts()
    pools = running(starts, Pools(starts, grace=30), {"worker/people": ("h1", PEOPLE), "producer/street": ("h2", STREET)})
    pools.want({}, complete=False)  # a Redis that restarted empty
    pools.converge(1.0)
    assert [process.grace for process in starts.started] == [None, None]
    assert set(pools.by_key) == {"worker/people", "producer/street"}

    pools.want({"worker/people": ("h1", PEOPLE)}, complete=True)
    pools.converge(2.0)
    assert {process.label: process.grace for process in starts.started} == {"worker/people#0": None,
                                                                            "producer/street#0": 30}
    assert set(pools.by_key) == {"worker/people"} and len(starts.started) == 2


def test_new_policy_bounds_resize_the_pool_without_restarting_what_stays():
    starts = FakeStarts()
    pools = running(starts, Pools(starts, grace=30), {"worker/people": ("h1", elastic(1, 4))})
    running(starts, pools, {"worker/people": ("h1", elastic(3, 4))})
    assert starts.labels() == ["worker/people#0", "worker/people#1", "worker/people#2"]
    running(starts, pools, {"worker/people": ("h1", elastic(1, 1))})
    assert [process.grace for process in starts.started] == [None, 30, 30]
    assert pools.by_key["worker/people"].replicas == 1 and len(starts.started) == 3


def test_the_autoscaler_grows_the_pool_within_its_policy_and_returns_the_event():
    starts = FakeStarts()
    pools = running(starts, Pools(starts, grace=30), {"worker/people": ("h1", elastic(1, 3))})
    pool = pools.by_key["worker/people"]
    event = pools.autoscale(pool, 2.5, now=10.0)
    assert event["from_replicas"] == 1 and event["to_replicas"] == 3
    assert (event["service_name"], event["metric"], event["metric_value"], event["target_value"]) == (
        "people", "scale_ratio", 2.5, 1.0)
    assert "per replica against a target of 1" in event["reason"]
    assert starts.labels() == ["worker/people#0", "worker/people#1", "worker/people#2"]
    assert pools.autoscale(pool, 1.05, now=11.0) is None, "within the tolerance: no change"

    assert pools.autoscale(pool, 0.3, now=12.0)["to_replicas"] == 1
    assert [process.grace for process in starts.started] == [None, 30, 30]


def test_a_producer_is_ready_while_its_stream_beats():
    starts = FakeStarts()
    pools = running(starts, Pools(starts, grace=30), {"producer/street": ("h2", STREET)})
    pool = pools.by_key["producer/street"]
    assert pool.status(set(), set()).ready == 0
    assert pool.status(set(), {"street"}).ready == 1
    starts.started[-1].exit(0)
    pools.converge(starts.now)
    assert pool.status(set(), {"street"}).ready == 0, "a beat left by a process that is gone counts for nothing"


def grown_once(*, cpu: float, before: float = 20.0, settle: bool = True):
    """A pool of 1-4 that a first overload grew to 2 while the machine's CPU was at ``cpu`` %; with
    ``settle``, both replicas are then read settled at 20 s (a transient 5 fps: "after" is the best reading
    over AFTER_WINDOW, so final from 30 s on)."""
    starts = FakeStarts()
    pools = running(starts, Pools(starts, grace=30), {"worker/people": ("h1", elastic(1, 4))})
    pool = pools.by_key["worker/people"]
    event = pools.autoscale(pool, 2.0, now=10.0, throughput=before, settled=1, machine_cpu=cpu)
    assert (event["from_replicas"], event["to_replicas"]) == (1, 2), "a first scale-out always happens"
    if settle:
        assert pools.autoscale(pool, 1.0, now=20.0, throughput=5.0, settled=2, machine_cpu=cpu) is None
    return pools, pool, starts


def test_full_cores_and_a_scale_out_that_did_not_help_hold_the_pool_and_say_why_once():
    pools, pool, starts = grown_once(cpu=97.0)
    held = pools.autoscale(pool, 1.6, now=30.0, throughput=20.4, settled=2, machine_cpu=96.4)
    assert (held["from_replicas"], held["to_replicas"], held["metric_value"]) == (2, 2, 1.6)
    assert held["reason"].startswith("not scaling: the cores are full (CPU at 96 % of the machine's cores; ")
    assert "the last scale-out, 1 -> 2, took the pool from 20.0 fps on 1 worker to 20.4 fps on 2, +2%" in held["reason"]
    assert "held at 2 rather than 4: 1.60 per replica against a target of 1" in held["reason"]
    assert pool.replicas == 2 and len(starts.started) == 2
    assert pools.autoscale(pool, 1.7, now=35.0, throughput=20.3, settled=2, machine_cpu=99.0) is None, "said once"
    assert pool.replicas == 2 and len(starts.started) == 2

    down = pools.autoscale(pool, 0.3, now=40.0, throughput=6.0, settled=2, machine_cpu=99.0)
    assert (down["from_replicas"], down["to_replicas"]) == (2, 1), "scaling in is unaffected"


def test_full_cores_after_a_scale_out_that_helped_grow_the_pool():
    pools, pool, starts = grown_once(cpu=97.0)
    event = pools.autoscale(pool, 1.6, now=30.0, throughput=30.0, settled=2, machine_cpu=97.0)  # +50 %
    assert (event["from_replicas"], event["to_replicas"]) == (2, 4)
    assert len(starts.started) == 4 and "cores are full" not in event["reason"]


def test_cores_with_room_grow_the_pool_whatever_the_last_scale_out_gained():
    pools, pool, starts = grown_once(cpu=50.0)
    event = pools.autoscale(pool, 1.6, now=30.0, throughput=20.0, settled=2, machine_cpu=80.0)
    assert (event["from_replicas"], event["to_replicas"]) == (2, 4) and len(starts.started) == 4
    unknown = grown_once(cpu=97.0)
    assert unknown[0].autoscale(unknown[1], 1.6, now=30.0, throughput=20.0, settled=2, machine_cpu=None)[
        "to_replicas"] == 4, "a machine whose CPU use is unknown grows as before"


def test_on_full_cores_the_pool_waits_for_its_scale_out_to_settle_but_not_forever():
    pools, pool, _ = grown_once(cpu=97.0, settle=False)
    # people-1 still warming up: only people-0 is read, and the rule still asks for more
    assert pools.autoscale(pool, 2.0, now=15.0, throughput=20.0, settled=1, machine_cpu=98.0) is None
    assert pool.replicas == 2 and pool.last_scale_out.after is None
    assert pools.autoscale(pool, 1.6, now=20.0, throughput=20.0, settled=2, machine_cpu=98.0) is None
    assert pools.autoscale(pool, 1.6, now=29.0, throughput=20.0, settled=2, machine_cpu=98.0) is None, (
        "settled, but its after window is not over")
    pool.last_scale_out.settled_at = None  # as if people-1 had died since and never settled again
    pool.last_scale_out.after = None
    late = pools.autoscale(pool, 2.0, now=10.0 + SETTLE_TIMEOUT, throughput=20.0, settled=1, machine_cpu=98.0)
    assert late["to_replicas"] == 4, "a scale-out whose workers never all settled is no evidence"


def test_the_hold_is_said_again_once_the_situation_changes():
    pools, pool, _ = grown_once(cpu=97.0)
    assert pools.autoscale(pool, 1.6, now=30.0, throughput=20.4, settled=2, machine_cpu=97.0)["to_replicas"] == 2
    assert pools.autoscale(pool, 0.3, now=40.0, throughput=6.0, settled=2, machine_cpu=97.0)["to_replicas"] == 1
    again = pools.autoscale(pool, 2.0, now=50.0, throughput=20.0, settled=1, machine_cpu=97.0)
    assert again["to_replicas"] == 2, "after scaling in, a scale-out is a new trial"
    assert pools.autoscale(pool, 1.6, now=60.0, throughput=20.0, settled=2, machine_cpu=97.0) is None
    held = pools.autoscale(pool, 1.6, now=70.0, throughput=20.0, settled=2, machine_cpu=97.0)
    assert (held["to_replicas"], held["reason"][:38]) == (2, "not scaling: the cores are full (CPU a")


def test_a_spec_change_forgets_what_the_last_scale_out_gained():
    pools, pool, starts = grown_once(cpu=97.0)
    pools.autoscale(pool, 1.0, now=30.0, throughput=20.4, settled=2, machine_cpu=97.0)  # measured, no change
    assert pool.last_scale_out.after == 20.4
    running(starts, pools, {"worker/people": ("h2", elastic(1, 4))}, now=31.0)  # e.g. an INT8 model now
    assert pool.last_scale_out is None


def test_the_throughput_before_a_scale_out_is_the_old_workers_best_until_the_new_ones_settle():
    pools, pool, _ = grown_once(cpu=97.0, before=12.0, settle=False)  # decided on a sliding window the overload half filled
    assert pools.autoscale(pool, 2.0, now=15.0, throughput=20.0, settled=1, machine_cpu=98.0) is None
    assert pools.autoscale(pool, 1.6, now=20.0, throughput=20.4, settled=2, machine_cpu=98.0) is None
    held = pools.autoscale(pool, 1.6, now=30.0, throughput=6.0, settled=2, machine_cpu=98.0)
    assert "took the pool from 20.0 fps on 1 worker to 20.4 fps on 2, +2%" in held["reason"]
