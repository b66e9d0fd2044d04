"""The data plane end to end, as the README runs it: producer -> Redis queues -> workers -> result stream."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest

from harness.processes import REPO, Proc, wait_until
from inference_worker import protocol
from inference_worker.fleet import live_workers
from scripts.demo import demo_clip
from tests.support import VTEST, results, sample_image, worker_command


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The street video when it was fetched, else a short clip of the astronaut (a face and a person)."""
    if VTEST.is_file():
        return VTEST
    path = tmp_path_factory.mktemp("clip") / "astronaut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (512, 512))
    for _ in range(30):
        writer.write(sample_image("astronaut"))
    writer.release()
    return path


def test_one_stream_feeds_two_inference_types(r, redis_url, tmp_path, clip):
    procs = [
        Proc(worker_command(redis_url, "people", "builtin:people", "--worker-id", "wp"), tmp_path / "people.log"),
        Proc(worker_command(redis_url, "face", "builtin:face", "--worker-id", "wf"), tmp_path / "face.log"),
    ]
    wait_until(lambda: len(live_workers(r)) == 2, 60, "both workers")
    producer = Proc(
        [sys.executable, "-m", "producers", "file", str(clip), "--stream", "street", "--queue", "people",
         "--queue", "face", "--redis", redis_url, "--fps", "10"],
        tmp_path / "producer.log",
    )
    procs.append(producer)
    try:
        wait_until(lambda: {m["queue"] for m, _ in results(r, "street")} == {"people", "face"}, 60, "results from both")
        wait_until(lambda: sum(m["queue"] == "people" and bool(m["detections"]) for m, _ in results(r, "street")) >= 3, 60, "people")
        found = results(r, "street")
        people = [m for m, _ in found if m["queue"] == "people"]
        assert all(d["label"] == "person" for m in people for d in m["detections"])
        assert all(m["worker"] == "wp" and m["model"] == "builtin:people" for m in people)
        seqs = [m["seq"] for m in people]
        assert seqs == sorted(seqs), "one worker publishes a stream's frames in order"
        for meta, jpeg in found[:5]:
            image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            assert image.shape[1] == meta["width"] <= 640 and image.shape[0] == meta["height"]
            assert 0 <= meta["ts_done"] - meta["ts_capture"] < 30
        assert all(p.popen.poll() is None for p in procs)
    finally:
        for proc in reversed(procs):
            assert proc.terminate() == 0, proc.output()
    stats = {k.decode(): int(v) for k, v in r.hgetall(protocol.stream_stats_key("street")).items()}
    accounted = stats.get("inferred", 0) + stats.get("expired", 0) + stats.get("rejected", 0)
    queued = r.llen(protocol.frames_key("people")) + r.llen(protocol.frames_key("face"))
    assert stats["produced"] == accounted + queued, stats  # nothing overflowed at 10 fps, so nothing is unaccounted


def test_the_demo_runs_and_stops_cleanly_on_ctrl_c():
    """`make demo`'s script: a line per second with both workers, then Ctrl-C stops everything."""
    if demo_clip() is None:
        pytest.skip("no demo clip: `make assets` fetches one")
    demo = subprocess.Popen([sys.executable, "scripts/demo.py"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in demo.stdout:
            lines.append(line)
            people = re.search(r"people/\S+ infer\s+([\d.]+) fps", line)
            if people and float(people.group(1)) > 0 and "face/" in line:
                break
            assert len(lines) < 400, "".join(lines)
    finally:
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, "".join(lines) + rest
    assert "Traceback" not in "".join(lines) + rest
    assert "stopped:" in rest and "demo: stopping" in rest
