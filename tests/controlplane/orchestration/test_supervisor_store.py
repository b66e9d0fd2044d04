"""What the supervisor reads and writes in Redis, on the test Redis: its claim, the units as the local
backend wrote them, the reconciled mark, producer beats and the statuses it reports."""

from __future__ import annotations

import json

import pytest

from controlplane.orchestration import local_store
from controlplane.orchestration.supervisor.store import AnotherSupervisor, SupervisorStore
from controlplane.orchestration.units import Autoscale, ModelRef, Producer, WorkerPool, spec_hash, spec_of
from inference_worker import protocol

POOL = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people", labels=("person",)),
                  keep_labels=("person",), autoscale=Autoscale(1, 3, "scale_ratio", 1.0, 0, 60))
STREET = Producer(stream="street", source_kind="file", source="/videos/street.mp4", queues=("people", "faces"), fps=10)


def test_a_second_supervisor_cannot_claim_redis_and_is_told_who_holds_it(r):
    first = SupervisorStore(r)
    first.claim()
    with pytest.raises(AnotherSupervisor, match="another supervisor is running: .*\"pid\""):
        SupervisorStore(r).claim()
    assert 0 < r.ttl(local_store.SUPERVISOR) <= local_store.SUPERVISOR_TTL


def test_units_read_back_as_the_local_backend_wrote_them_and_the_mark_says_if_they_are_all(r):
    for unit in (POOL, STREET):
        r.hset(local_store.UNITS, f"{unit.kind}/{unit.name}", local_store.encode_unit(spec_hash(unit), spec_of(unit)))
    store = SupervisorStore(r)
    seen = store.read()
    assert seen.units == {"worker/people": (spec_hash(POOL), POOL), "producer/street": (spec_hash(STREET), STREET)}
    assert not seen.complete and seen.heartbeats == {}
    assert json.loads(r.get(local_store.SUPERVISOR)) == json.loads(store.identity), "each read refreshes the claim"
    r.set(local_store.RECONCILED, 1)
    assert store.read().complete


def test_a_unit_written_before_label_selections_existed_reads_as_the_models_default_selection(r):
    spec = spec_of(POOL)
    del spec["keep_labels"]  # what an older control plane wrote
    r.hset(local_store.UNITS, "worker/people", local_store.encode_unit("old", spec))
    assert SupervisorStore(r).read().units["worker/people"][1].keep_labels == ()


def test_producing_lists_the_streams_whose_producer_beats(r):
    r.set(protocol.producer_key("street"), "1")
    store = SupervisorStore(r)
    assert store.producing(["street", "lobby"]) == {"street"}
    assert store.producing([]) == set()


def test_statuses_are_written_and_removed_and_withdrawing_leaves_another_claim_alone(r):
    store = SupervisorStore(r)
    store.claim()
    store.report({"worker/people": "a", "producer/street": "b"}, [])
    store.report({"worker/people": "c"}, ["producer/street"])
    assert r.hgetall(local_store.STATUS) == {b"worker/people": b"c"}
    store.withdraw()
    assert not r.exists(local_store.STATUS) and not r.exists(local_store.SUPERVISOR)

    r.set(local_store.SUPERVISOR, json.dumps({"pid": 1, "host": "elsewhere"}))
    store.withdraw()
    assert r.exists(local_store.SUPERVISOR), "a claim that is not ours is kept"
