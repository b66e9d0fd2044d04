"""Calibration frames from a stream's results in a real Redis: what is there first, then what comes; each
frame once however many queues the stream feeds; a stream that stays silent is named."""

from __future__ import annotations

import threading
import time

import pytest

from controlplane.quantization.collect import NoResults, collect_frames
from inference_worker import protocol
from tests.controlplane.quantization.frames import push_results
from tests.support import vtest_jpegs


@pytest.fixture(scope="module")
def street() -> list[bytes]:
    return vtest_jpegs(12, every=2)


def test_frames_already_there_are_taken_once_each_however_many_queues_the_stream_feeds(r, street):
    push_results(r, "street", street[:10], queues=("people", "face", "car"))
    assert r.xlen(protocol.results_key("street")) == 30
    seen = []
    frames = collect_frames(r, "street", 10, idle_seconds=5, on_progress=seen.append)
    assert frames == street[:10], "each frame once, oldest first, the bytes as the worker published them"
    assert seen[-1] == 10


def test_it_waits_for_results_that_come_later(r, street):
    push_results(r, "street", street[:3], queues=("people", "face"))

    def late():
        time.sleep(0.8)
        push_results(r, "street", street[3:8], queues=("people", "face"), first_seq=3)

    writer = threading.Thread(target=late)
    writer.start()
    started = time.monotonic()
    seen: list[int] = []
    try:
        frames = collect_frames(r, "street", 8, idle_seconds=10, on_progress=seen.append, block_ms=200)
    finally:
        writer.join()
    assert frames == street[:8]
    assert time.monotonic() - started >= 0.7, "it blocked for the late ones"
    assert 3 in seen and seen[-1] == 8, "progress while it waited"


def test_a_producer_that_restarts_counts_again_and_its_frames_are_new(r, street):
    push_results(r, "street", street[:4], ts=1000.0)
    push_results(r, "street", street[4:8], ts=2000.0)  # seq 0..3 again, later capture times
    assert collect_frames(r, "street", 8, idle_seconds=5) == street[:8]


def test_entries_that_are_no_results_are_skipped(r, street):
    key = protocol.results_key("street")
    r.xadd(key, {"meta": b"not json"})
    r.xadd(key, {"other": b"x"})
    push_results(r, "street", street[:2])
    assert collect_frames(r, "street", 2, idle_seconds=5) == street[:2]


def test_a_silent_stream_fails_naming_it_and_what_to_check(r, street):
    push_results(r, "quiet", street[:2])
    started = time.monotonic()
    with pytest.raises(NoResults) as failed:
        collect_frames(r, "quiet", 5, idle_seconds=0.6, block_ms=100)
    assert str(failed.value) == (
        "stream quiet produced no results for 0.6 s: is a service running on it? (2 of 5 frames collected)"
    )
    assert 0.6 <= time.monotonic() - started < 3


def test_the_progress_callback_may_stop_it(r, street):
    push_results(r, "street", street[:2])

    class Stop(Exception):
        pass

    def progress(collected):
        if collected >= 2:
            raise Stop

    with pytest.raises(Stop):
        collect_frames(r, "street", 5, idle_seconds=30, on_progress=progress, block_ms=100)
