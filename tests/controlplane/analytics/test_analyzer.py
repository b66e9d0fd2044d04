"""The analytics stage on a generated clip whose faces move along known paths, through real OpenVINO
detections, a real Redis and the test database: track numbers, events, snapshots and counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage

from controlplane.analytics.models import Checkpoint, Event, EventCount
from harness.processes import wait_until
from inference_worker.engine import Engine
from inference_worker.model_store import load_model, shared_core
from tests.controlplane.analytics import clip
from tests.controlplane.analytics.results import analyzer_running, publish, tracks_published

# A minute boundary falls 1.5 s into the clip: both faces are seen in two minutes.
T0 = datetime(2026, 12, 3, 10, 30, tzinfo=UTC).timestamp() - 1.5


def ts(frame: int) -> float:
    return T0 + frame / clip.FPS


@pytest.fixture(scope="module")
def detected():
    """The clip's frames and what the face model finds in each."""
    frames = clip.frames()
    found = {}
    core = shared_core()
    with Engine(load_model(core, "builtin:face"), core=core, requests=2,
                on_result=lambda index, detections, _: found.__setitem__(index, detections or [])) as engine:
        for index, jpeg in enumerate(frames):
            engine.submit(engine.prepare(jpeg, clip.WIDTH, clip.HEIGHT), index)
    return frames, [found[index] for index in range(len(frames))]


def walker_of(detection: dict) -> int:
    """Which walker a detection is: they move along different rows."""
    return 0 if detection["box"][1] < 0.5 else 1


@pytest.mark.django_db(transaction=True)
def test_each_face_keeps_one_track_number_and_becomes_one_event(r, detected, media):
    frames, detections = detected
    assert all(detections[i] for i in range(40)), "the face model found a face in every frame it is in"
    with analyzer_running(r, window=0.2, lifespan=1.0) as analyzer:
        for seq, (jpeg, found) in enumerate(zip(frames, detections)):
            publish(r, "gate", seq, ts(seq), found, jpeg)
        wait_until(lambda: Event.objects.count() == 2, 30, "two events")
    assert analyzer.writer.written == 2

    numbers = {}  # walker -> the track numbers its detections got
    for message, found in zip(tracks_published(r, "gate"), detections):
        assert (message["kind"], message["queue"], len(message["tracks"])) == ("tracks", "face", len(found))
        for detection, number in zip(found, message["tracks"]):
            numbers.setdefault(walker_of(detection), set()).add(number)
    assert numbers == {0: {1}, 1: {2}}, "each face kept its number from the frame it came in to the one it left"

    first, second = Event.objects.order_by("track")
    for index, (event, walker) in enumerate(((first, clip.WALKERS[0]), (second, clip.WALKERS[1]))):
        assert (event.stream, event.queue, event.label) == ("gate", "face", "face")
        assert (event.first_seq, event.last_seq, event.frames) == (walker.first, walker.last, walker.last - walker.first + 1)
        assert event.first_seen.timestamp() == pytest.approx(ts(walker.first), abs=1e-3)
        assert event.last_seen.timestamp() == pytest.approx(ts(walker.last), abs=1e-3)
        seen = [(d["score"], seq) for seq in range(walker.first, walker.last + 1) for d in detections[seq] if walker_of(d) == index]
        best_score, best_seq = max(seen)
        assert (event.best_score, walker_of({"box": event.best_box})) == (pytest.approx(best_score), index)
        assert default_storage.open(event.snapshot.name).read() == frames[best_seq], "the snapshot is its best frame, as received"
        # the path runs along the walker's row, in its direction, from where it came in to where it left
        xs = [x for _, x, _ in event.path]
        assert (xs[0] < xs[-1]) is (not walker.mirrored) and len(event.path) >= 5
        assert event.path[-1][0] == pytest.approx((walker.last - walker.first) / clip.FPS, abs=1e-3)

    minute = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    counts = {(c.bucket, c.start): c.count for c in EventCount.objects.filter(stream="gate", label="face")}
    assert counts == {("minute", minute - timedelta(minutes=1)): 2, ("minute", minute): 2,
                      ("hour", minute.replace(minute=0)): 2, ("day", minute.replace(hour=0, minute=0)): 2}
    checkpoint = Checkpoint.objects.get(stream="gate")
    assert (checkpoint.next_track, checkpoint.late, checkpoint.malformed) == ({"face": 3}, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_results_out_of_order_from_two_workers_are_tracked_in_order_and_bad_ones_are_counted(r, detected, media):
    frames, detections = detected
    order = []
    for start in range(0, len(frames), 4):  # worker b's results come two frames behind worker a's
        block = list(range(start, min(start + 4, len(frames))))
        order += [s for s in block if s % 2 == 0] + [s for s in block if s % 2]
    with analyzer_running(r, window=0.5, lifespan=1.0) as analyzer:
        for seq in order:
            publish(r, "gate", seq, ts(seq), detections[seq], frames[seq], worker="a" if seq % 2 == 0 else "b")
            if seq == 20:
                r.xadd("ei:results:gate", {"meta": b"{not json", "jpeg": b""})
                publish(r, "gate", 21, ts(21), [{"label": "face", "score": 0.9, "box": [0.1, 0.2]}], b"")
                publish(r, "gate", 21, ts(21), [{"label": "f" * 65, "score": 0.9, "box": [0.1, 0.2, 0.3, 0.4]}], b"")
        wait_until(lambda: Event.objects.count() == 2, 30, "two events")
        wait_until(lambda: Checkpoint.objects.filter(stream="gate", malformed=3).exists(), 10, "the malformed results counted")
    assert [m["seq"] for m in tracks_published(r, "gate")] == list(range(len(frames)))
    assert sorted(Event.objects.values_list("first_seq", "last_seq", "frames")) == [(0, 29, 30), (10, 39, 30)]
    assert analyzer.analysed == len(frames)
