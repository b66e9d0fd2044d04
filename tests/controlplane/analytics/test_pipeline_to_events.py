"""From a video file to the history API, every part a real process: the producer, a face worker, the
analyzer, then ``/api/events/`` and the counts, as a user would read them."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np
import pytest

from harness.processes import Proc, wait_until
from inference_worker.fleet import live_workers
from tests.controlplane.analytics import clip
from tests.support import database_url, worker_command


@pytest.fixture
def clip_file(tmp_path):
    path = tmp_path / "walkers.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), clip.FPS, (clip.WIDTH, clip.HEIGHT))
    for jpeg in clip.frames():
        writer.write(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
    writer.release()
    return path


@pytest.mark.django_db(transaction=True)
def test_a_video_becomes_one_event_per_face_in_the_history(r, redis_url, tmp_path, media, clip_file, api):
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": database_url(), "EI_MEDIA_ROOT": str(media)}
    procs = [Proc(worker_command(redis_url, "face", "builtin:face", "--worker-id", "wf"), tmp_path / "worker.log"),
             Proc([sys.executable, "manage.py", "analyze", "--lifespan", "1"], tmp_path / "analyzer.log", env)]
    try:
        wait_until(lambda: live_workers(r), 60, "the face worker")
        procs.append(Proc([sys.executable, "-m", "producers", "file", str(clip_file), "--stream", "gate", "--queue", "face",
                           "--redis", redis_url, "--fps", "10"], tmp_path / "producer.log"))
        page = wait_until(lambda: (p := api.get("/api/events/?stream=gate").json())["results"] and len(p["results"]) == 2 and p,
                          90, "two events in the history")
        assert all(proc.popen.poll() is None for proc in procs[:2])
    finally:
        for proc in reversed(procs):
            proc.terminate()
    first, second = sorted(page["results"], key=lambda e: e["first_seen"])
    # each face is one track from the frame it came in to the one it left (the worker may skip a frame)
    assert {first["track"], second["track"]} == {1, 2} and first["label"] == second["label"] == "face"
    assert [(e["first_seq"], e["last_seq"]) for e in (first, second)] == [(w.first, w.last) for w in clip.WALKERS]
    assert all(e["frames"] >= 25 for e in (first, second)), page
    assert api.get(first["snapshot_url"]).headers["Content-Type"] == "image/jpeg"
    counts = api.get("/api/streams/gate/counts/?bucket=day&label=face").json()
    assert sum(c["count"] for c in counts) == 2
