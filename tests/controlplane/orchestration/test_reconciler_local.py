"""The reconciler with the local backend: desired units in Redis, status on the rows, idempotence."""

from __future__ import annotations

import json

import pytest
import redis
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from controlplane.inference.models import InferenceService

from controlplane.registry.models import InferenceModel
from controlplane.inference.actions import inference_service_create, inference_service_update
from controlplane.orchestration import local_store
from controlplane.orchestration.backends.local import NO_SUPERVISOR, LocalBackend
from controlplane.orchestration.reconciler import reconcile
from controlplane.orchestration.tasks import REQUESTED, reconcile_exclusively
from controlplane.orchestration.units import spec_hash, unit_from_spec
from controlplane.scaling.actions import policy_create, policy_update
from controlplane.streams.models import Stream
from controlplane.streams.actions import stream_create, stream_update
from inference_worker import protocol

pytestmark = pytest.mark.django_db


def units(r) -> dict[str, tuple[str, dict]]:
    return {key.decode(): local_store.decode_unit(raw) for key, raw in r.hgetall(local_store.UNITS).items()}


def writes(r) -> int:
    """Writing commands Redis has served so far."""
    stats = r.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("hset", "hdel", "publish", "set", "del"))


@pytest.fixture
def fleet(people_model):
    policy = policy_create(name="elastic", min_replicas=1, max_replicas=3)
    service = inference_service_create(name="people", queue="people", model=people_model, scaling_policy=policy)
    stream = stream_create(name="street", source_kind="file", source="/videos/street.avi", queue="people",
                           extra_queues=["face"], target_fps=12)
    return service, stream, policy


def test_first_pass_writes_units_and_status_second_pass_writes_nothing(fleet, local_backend, r):
    report = reconcile(backend=local_backend)
    assert sorted(report.actions) == ["created producer/street", "created worker/people"]
    stored = units(r)
    pool = unit_from_spec(stored["worker/people"][1])
    assert pool.queue == "people" and pool.model.builtin == "builtin:people" and pool.autoscale.max_replicas == 3
    producer = unit_from_spec(stored["producer/street"][1])
    assert producer.queues == ("people", "face") and producer.fps == 12
    service = InferenceService.objects.get(name="people")
    assert (service.status, service.status_message) == ("applying", NO_SUPERVISOR)
    assert service.status_changed is not None
    assert r.exists(local_store.RECONCILED), "the units are marked as the whole desired state"

    before = writes(r)
    with CaptureQueriesContext(connection) as queries:
        again = reconcile(backend=local_backend)
    assert again.lines() == []
    assert writes(r) == before
    assert not [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]


def test_a_pass_with_nothing_wanted_still_marks_the_units_complete(local_backend, r, db):
    assert reconcile(backend=local_backend).lines() == []
    assert r.exists(local_store.RECONCILED), "so the supervisor may stop whatever it still runs"


def test_a_pass_after_redis_lost_its_data_writes_the_units_and_the_mark_again(fleet, local_backend, r):
    reconcile(backend=local_backend)
    before = units(r)
    r.flushall()  # what a restart without persistence leaves
    assert sorted(reconcile(backend=local_backend).actions) == ["created producer/street", "created worker/people"]
    assert units(r) == before and r.exists(local_store.RECONCILED)


def test_a_policy_change_updates_the_unit_but_not_its_spec_hash(fleet, local_backend, r):
    _, _, policy = fleet
    reconcile(backend=local_backend)
    hash_before, _ = units(r)["worker/people"]
    policy_update(policy=policy, max_replicas=5)
    assert reconcile(backend=local_backend).actions == ["updated worker/people"]
    hash_after, spec = units(r)["worker/people"]
    assert spec["autoscale"]["max_replicas"] == 5
    assert hash_after == hash_before  # the workers keep running; only the autoscaler's bounds move


def test_disable_removes_the_unit_and_marks_the_row(fleet, local_backend, r):
    service, stream, _ = fleet
    reconcile(backend=local_backend)
    inference_service_update(service=service, enabled=False)
    stream_update(stream=stream, enabled=False)
    report = reconcile(backend=local_backend)
    assert sorted(report.actions) == ["deleted producer/street", "deleted worker/people"]
    assert units(r) == {}
    assert InferenceService.objects.get(name="people").status == "disabled"
    assert Stream.objects.get(name="street").status == "disabled"


def test_a_renamed_service_replaces_its_unit(fleet, local_backend, r):
    service, _, _ = fleet
    reconcile(backend=local_backend)
    inference_service_update(service=service, name="pedestrians")
    report = reconcile(backend=local_backend)
    assert sorted(report.actions) == ["created worker/pedestrians", "deleted worker/people"]


def test_status_follows_what_the_supervisor_reports(fleet, local_backend, r):
    reconcile(backend=local_backend)
    r.set(local_store.SUPERVISOR, json.dumps({"pid": 1}), ex=30)
    pool_hash, _ = units(r)["worker/people"]
    status = local_store.UnitStatus(hash=pool_hash, desired=2, current=2, ready=1)
    r.hset(local_store.STATUS, "worker/people", status.encode())
    reconcile(backend=local_backend)
    service = InferenceService.objects.get(name="people")
    assert (service.status, service.status_message) == ("applying", "1/2 ready")
    assert (service.replicas_desired, service.replicas_current, service.replicas_ready) == (2, 2, 1)

    crashed = local_store.UnitStatus(hash=pool_hash, desired=2, current=1, ready=1, restarts=3,
                                     error="worker/people exited with code 2: model file is corrupt")
    r.hset(local_store.STATUS, "worker/people", crashed.encode())
    reconcile(backend=local_backend)
    service.refresh_from_db()
    assert service.status == "degraded" and "corrupt" in service.status_message
    assert service.conditions[0]["message"] == "restarted 3 times"

    r.hset(local_store.STATUS, "worker/people", local_store.UnitStatus(hash=pool_hash, desired=2, current=2, ready=2).encode())
    reconcile(backend=local_backend)
    service.refresh_from_db()
    assert (service.status, service.status_message) == ("ready", "2/2 ready")


def test_a_service_waits_for_its_model_and_says_why(local_backend, r, db):
    model = InferenceModel.objects.create(name="mine", framework="onnx", status=InferenceModel.Status.VALIDATING)
    inference_service_create(name="mine", queue="mine", model=model)
    assert reconcile(backend=local_backend).actions == []
    service = InferenceService.objects.get(name="mine")
    assert service.status == "pending" and "waiting for model mine:1" in service.status_message

    InferenceModel.objects.filter(pk=model.pk).update(status="failed", status_message="not a detector")
    reconcile(backend=local_backend)
    service.refresh_from_db()
    assert service.status == "failed" and "not a detector" in service.status_message

    InferenceModel.objects.filter(pk=model.pk).update(status="ready", file="models/mine/1/mine.onnx", file_sha256="ab" * 32)
    assert reconcile(backend=local_backend).actions == ["created worker/mine"]
    pool = unit_from_spec(units(r)["worker/mine"][1])
    assert pool.model.file == "models/mine/1/mine.onnx" and pool.model.model_id == model.pk


def test_external_streams_are_ready_while_their_producer_beats(local_backend, r, db):
    stream_create(name="door", source_kind="external", queue="people")
    reconcile(backend=local_backend)
    assert Stream.objects.get(name="door").status == "pending"
    r.hset(protocol.producer_key("door"), mapping={"fps": 10})
    reconcile(backend=local_backend)
    assert Stream.objects.get(name="door").status == "ready"


def test_redis_away_marks_rows_failed_and_keeps_them(fleet, db):
    from harness.processes import free_port

    dead = LocalBackend(redis.Redis(port=free_port(), socket_connect_timeout=0.5))
    report = reconcile(backend=dead)
    assert set(report.errors) == {"worker/people", "producer/street"}
    service = InferenceService.objects.get(name="people")
    assert service.status == "failed" and "cannot reach Redis" in service.status_message
    assert service.enabled and service.scaling_policy.name == "elastic"  # the desired state is untouched


def test_spec_hash_ignores_the_policy(fleet):
    from controlplane.orchestration.desired import worker_pool

    service, _, policy = fleet
    before = spec_hash(worker_pool(service))
    policy_update(policy=policy, min_replicas=2, target_value=0.5)
    service.refresh_from_db()
    assert spec_hash(worker_pool(service)) == before
    inference_service_update(service=service, threshold=0.7)
    assert spec_hash(worker_pool(service)) != before


def test_a_label_selection_reaches_the_workers_argv_and_a_change_restarts_the_pool(fleet, local_backend, r, settings):
    from controlplane.orchestration.commands import worker_argv

    service, _, _ = fleet
    reconcile(backend=local_backend)
    default_hash, spec = units(r)["worker/people"]
    argv = worker_argv(unit_from_spec(spec), 0, python="python", media_root=settings.MEDIA_ROOT, redis_url="redis://r")
    assert "--keep-labels" not in argv  # no selection: the model's default, and no flag

    inference_service_update(service=service, labels=["person"])
    assert reconcile(backend=local_backend).actions == ["updated worker/people"]
    chosen_hash, spec = units(r)["worker/people"]
    assert chosen_hash != default_hash, "a new spec: the supervisor replaces the pool's processes"
    pool = unit_from_spec(spec)
    assert pool.keep_labels == ("person",)
    argv = worker_argv(pool, 0, python="python", media_root=settings.MEDIA_ROOT, redis_url="redis://r")
    assert argv[argv.index("--keep-labels") + 1] == "person"
    assert reconcile(backend=local_backend).actions == []

    inference_service_update(service=service, labels=[])
    assert reconcile(backend=local_backend).actions == ["updated worker/people"]
    assert units(r)["worker/people"][0] == default_hash


def test_an_empty_label_selection_keeps_the_hash_pools_had_before_labels_existed():
    """So upgrading the control plane restarts no worker that has no labels chosen."""
    from controlplane.orchestration.units import ModelRef, WorkerPool

    people = WorkerPool(service="people", queue="people", model=ModelRef(builtin="builtin:people"))
    assert spec_hash(people) == "395e9348c60da9be"  # as computed before WorkerPool had keep_labels
    assert spec_hash(WorkerPool(service="people", queue="people", model=people.model, keep_labels=("person",))) != (
        spec_hash(people))


def test_the_command_prints_what_it_did_then_nothing_to_do(fleet, r, capsys):
    call_command("reconcile")
    out = capsys.readouterr().out
    assert "created worker/people" in out and "inferenceservice people: applying" in out
    call_command("reconcile")
    assert capsys.readouterr().out.strip() == "nothing to do: the fleet matches the database"


def test_never_two_passes_at_once(fleet, r):
    from controlplane.orchestration.tasks import LOCK
    from controlplane.core.redis import get_redis

    held = get_redis().lock(LOCK, timeout=30)
    assert held.acquire(blocking=False)
    try:
        assert reconcile_exclusively() is None  # the holder serves the request
        assert r.hlen(local_store.UNITS) == 0
    finally:
        held.release()
    r.set(REQUESTED, 1)
    reports = reconcile_exclusively()
    assert len(reports) == 1 and reports[0].actions and not r.exists(REQUESTED)
