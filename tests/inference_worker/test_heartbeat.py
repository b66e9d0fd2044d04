"""The heartbeat writer and the fleet reader on a real Redis, with the worker's real metrics and no worker process."""

from __future__ import annotations

import logging
import os
import time

import pytest

from harness.processes import free_port
from harness.redis_server import start_redis_server
from inference_worker import protocol
from inference_worker.fleet import live_workers
from inference_worker.heartbeat import HeartbeatWriter
from inference_worker.metrics import WorkerMetrics
from inference_worker.runtime import REDIS_ERRORS, StopFlag, redis_client


def writer(client, worker_id: str = "w1", queue: str = "face") -> HeartbeatWriter:
    return HeartbeatWriter(client, WorkerMetrics(queue=queue), worker_id=worker_id, model="builtin:face", device="CPU")


def stream_stats(client, stream: str) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in client.hgetall(protocol.stream_stats_key(stream)).items()}


def test_the_fleet_reads_back_exactly_the_heartbeat_written(r):
    heartbeats = writer(r)
    heartbeats.metrics.started()
    heartbeats.metrics.inferred("cam", 0.01, 0.04)
    beat = heartbeats.beat()

    assert live_workers(r) == [beat.to_hash()]
    assert (beat.worker, beat.queue, beat.pid, beat.inferred, beat.latency_p50_ms) == ("w1", "face", os.getpid(), 1, 40.0)
    assert 0 < r.ttl(protocol.worker_key("w1")) <= protocol.HEARTBEAT_TTL
    assert r.zscore(protocol.WORKERS_INDEX, "w1") == pytest.approx(beat.updated_at, abs=0.001)


def test_a_pod_says_its_namespace_and_every_worker_its_window(r, monkeypatch):
    """The metrics API serves a pod's figures only for the namespace the heartbeat names, with its window."""
    monkeypatch.setenv("EI_POD_NAMESPACE", "edge")
    in_pod = HeartbeatWriter(r, WorkerMetrics(queue="face", window=3.0), worker_id="pod-1", model="builtin:face",
                             device="CPU").beat()
    monkeypatch.delenv("EI_POD_NAMESPACE")
    off_cluster = writer(r, "w2").beat()

    assert (in_pod.namespace, in_pod.window_seconds) == ("edge", 3.0)
    assert (off_cluster.namespace, off_cluster.window_seconds) == ("", 5.0)
    assert [(w["worker"], w["namespace"]) for w in live_workers(r)] == [("pod-1", "edge"), ("w2", "")]


def test_the_queue_overflow_is_claimed_once_as_drops(r):
    r.set(protocol.overflow_key("face"), 40)  # as a producer's push script does when it evicts frames
    heartbeats = writer(r)
    first = heartbeats.beat()
    assert (first.dropped, first.scale_ratio) == (40, 10.0), "drops with nothing inferred: the most workers"
    assert r.get(protocol.overflow_key("face")) is None
    assert heartbeats.beat().dropped == 40, "claimed exactly once"


def test_per_stream_counts_are_flushed_once_and_kept_across_an_outage(r, tmp_path):
    heartbeats = writer(r)
    heartbeats.metrics.dropped("late", 2)
    heartbeats.beat()
    heartbeats.beat()
    assert stream_stats(r, "late") == {"expired": 2}, "flushed once, not on every beat"

    port = free_port()
    away = writer(redis_client(f"redis://127.0.0.1:{port}/0", connect_timeout=1))
    away.metrics.rejected("cam")
    with pytest.raises(REDIS_ERRORS):
        away.beat()
    away.metrics.rejected("cam")
    server = start_redis_server(port, tmp_path)
    try:
        away.beat()
        assert stream_stats(away.redis, "cam") == {"rejected": 2}, "the count of the failed beat is not lost"
    finally:
        server.terminate()


def test_start_discards_stale_overflow_and_close_leaves_the_fleet_with_the_last_counts(r, caplog):
    r.set(protocol.overflow_key("face"), 7)
    heartbeats = writer(r)
    with caplog.at_level(logging.INFO, logger="ei.worker"):
        heartbeats.start(StopFlag())
    assert "7 frames overflowed queue 'face' before this worker started" in caplog.text
    heartbeats.metrics.dropped("late")
    heartbeats.close()
    assert live_workers(r) == [] and not r.exists(protocol.worker_key("w1"))
    assert r.zscore(protocol.WORKERS_INDEX, "w1") is None
    assert stream_stats(r, "late") == {"expired": 1}


def test_the_fleet_lists_live_heartbeats_by_queue_and_leaves_out_what_is_none(r):
    for worker_id, queue in (("w-b", "people"), ("w-c", "face"), ("w-a", "face")):
        writer(r, worker_id, queue).beat()
    r.hset(protocol.worker_key("odd"), mapping={"worker": "odd", "queue": "face"})  # not this protocol's heartbeat
    r.zadd(protocol.WORKERS_INDEX, {"odd": time.time(), "gone": time.time(), "stale": time.time() - 60})

    assert [(w["queue"], w["worker"]) for w in live_workers(r)] == [("face", "w-a"), ("face", "w-c"), ("people", "w-b")]
    assert r.zscore(protocol.WORKERS_INDEX, "stale") is None, "the entry of a worker that died is pruned"


def test_a_hash_missing_a_field_or_with_a_bad_number_is_no_heartbeat():
    raw = {name.encode(): b"1" for name in protocol.HEARTBEAT_TYPES}
    assert protocol.Heartbeat.from_hash(raw).pid == 1
    with pytest.raises(ValueError, match="'pid'"):
        protocol.Heartbeat.from_hash({k: v for k, v in raw.items() if k != b"pid"})
    with pytest.raises(ValueError):
        protocol.Heartbeat.from_hash({**raw, b"inferred": b"many"})
