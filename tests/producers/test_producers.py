"""The producer CLI as a user runs it: real subprocesses publishing a real video into a real Redis."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
import redis
import simplejpeg

from inference_worker.protocol import Frame, decode_frame, frames_key, overflow_key, producer_key, stream_stats_key
from harness.processes import REPO, Proc, free_port, wait_until
from harness.redis_server import pings, redis_server_command
from tests.support import sample_image

FRAMES, FPS, WIDTH, HEIGHT = 20, 10, 512, 384


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """A 2 s MJPG clip: the astronaut, numbered, 512x384 so that resizing must keep a 4:3 aspect."""
    path = tmp_path_factory.mktemp("video") / "astronaut.avi"
    image = sample_image("astronaut")[:HEIGHT]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    for i in range(FRAMES):
        writer.write(cv2.putText(image.copy(), str(i), (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 3, (0, 255, 0), 4))
    writer.release()
    return path


def producer(*args: str) -> list[str]:
    return [sys.executable, "-m", "producers", *args]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(producer(*args), cwd=REPO, capture_output=True, text=True, timeout=30)


def start(tmp_path: Path, *args: str) -> Proc:
    return Proc(producer(*args), tmp_path / f"producer-{time.monotonic_ns()}.log")


def queued(r: redis.Redis, queue: str) -> list[Frame]:
    return [decode_frame(raw) for raw in r.lrange(frames_key(queue), 0, -1)]


def produced(r: redis.Redis, stream: str) -> int:
    return int(r.hget(stream_stats_key(stream), "produced") or 0)


def test_file_frames_are_valid_numbered_and_resized(r, redis_url, video):
    done = run("file", str(video), "--stream", "cam1", "--queue", "people", "--max-width", "256",
               "--max-queue", "100", "--redis", redis_url)
    assert done.returncode == 0, done.stderr
    frames = queued(r, "people")
    assert [f.seq for f in frames] == list(range(FRAMES))  # played at the file's own rate, nothing skipped
    for frame in frames:
        assert frame.stream == "cam1"
        assert abs(frame.ts - time.time()) < 60
        assert (frame.width, frame.height) == (256, 192)
        height, width, _, _ = simplejpeg.decode_jpeg_header(frame.data)
        assert (width, height) == (256, 192)
    assert [f.ts for f in frames] == sorted(f.ts for f in frames)
    assert produced(r, "cam1") == FRAMES
    assert f"sent {FRAMES} frames" in done.stderr.splitlines()[-1]


def test_queue_stays_bounded_and_evictions_are_counted(r, redis_url, video, tmp_path):
    proc = start(tmp_path, "file", str(video), "--loop", "--fps", "500", "--stream", "cam1",
                 "--queue", "people", "--max-queue", "5", "--redis", redis_url)
    try:
        wait_until(lambda: produced(r, "cam1") >= 60, 15, "60 frames produced")
    finally:
        assert proc.terminate() == 0
    total = produced(r, "cam1")
    assert r.llen(frames_key("people")) == 5
    assert int(r.get(overflow_key("people"))) == total - 5
    assert [f.seq for f in queued(r, "people")] == list(range(total - 5, total))  # the newest are kept


def test_every_queue_receives_the_same_frames(r, redis_url, video):
    done = run("file", str(video), "--fps", "100", "--stream", "cam1", "--queue", "people",
               "--queue", "face", "--max-queue", "100", "--redis", redis_url)
    assert done.returncode == 0, done.stderr
    people = r.lrange(frames_key("people"), 0, -1)
    assert people and people == r.lrange(frames_key("face"), 0, -1)
    assert produced(r, "cam1") == 2 * len(people)  # one count per queue push, as workers count per queue


def test_heartbeat_while_running_and_removed_on_sigterm(r, redis_url, video, tmp_path):
    proc = start(tmp_path, "file", str(video), "--loop", "--stream", "cam1", "--queue", "people",
                 "--queue", "face", "--redis", redis_url)
    key = producer_key("cam1")
    try:
        wait_until(lambda: int(r.hget(key, "sent") or 0) > 0, 15, "a heartbeat with frames sent")
        beat = {k.decode(): v.decode() for k, v in r.hgetall(key).items()}
        assert 0 < r.ttl(key) <= 5
    finally:
        assert proc.terminate() == 0
    assert beat["stream"] == "cam1"
    assert beat["queues"] == "people,face"
    assert beat["source"] == f"file:{video}"
    assert int(beat["pid"]) == proc.popen.pid
    assert not r.exists(key)
    assert "stopped: sent" in proc.output().splitlines()[-1]


def one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_missing_file_is_one_clear_error(redis_url, tmp_path):
    missing = tmp_path / "nope.avi"
    done = run("file", str(missing), "--stream", "cam1", "--queue", "people", "--redis", redis_url)
    assert done.returncode == 2
    assert one_error_line(done) == f"producer: cannot open video file '{missing}': no such file"


def test_file_that_is_not_a_video_is_refused(redis_url, tmp_path):
    bogus = tmp_path / "notes.avi"
    bogus.write_text("these are not moving pictures\n" * 100)
    done = run("file", str(bogus), "--stream", "cam1", "--queue", "people", "--redis", redis_url)
    assert done.returncode == 2
    assert "not a video" in one_error_line(done)


def test_camera_and_url_that_do_not_open_are_one_clear_error(redis_url):
    for device in ("63", "/dev/video63"):
        camera = run("camera", "--device", device, "--stream", "cam1", "--queue", "people", "--redis", redis_url)
        assert camera.returncode == 2
        assert one_error_line(camera).startswith("producer: cannot open camera 63")
    for device in ("64", "/dev/sda"):
        camera = run("camera", "--device", device, "--stream", "cam1", "--queue", "people", "--redis", redis_url)
        assert camera.returncode == 2 and "A camera is a device index 0-63 or /dev/videoN." in camera.stderr
    url = run("url", f"http://127.0.0.1:{free_port()}/feed.mjpg", "--stream", "cam1", "--queue", "people",
              "--redis", redis_url)
    assert url.returncode == 2
    assert one_error_line(url).startswith("producer: cannot open URL")


def test_bad_stream_name_is_an_argument_error(redis_url, video):
    done = run("file", str(video), "--stream", "cam 1/x", "--queue", "people", "--redis", redis_url)
    assert done.returncode == 2
    assert "argument --stream: 'cam 1/x' is not a valid name" in done.stderr


def start_redis(port: int, workdir: Path) -> subprocess.Popen:
    server = subprocess.Popen(redis_server_command(port, workdir), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    wait_until(lambda: pings(f"redis://127.0.0.1:{port}/0"), 10, "redis-server to start")
    return server


def test_producer_rides_out_a_redis_restart(video, tmp_path):
    port = free_port()
    server = start_redis(port, tmp_path)
    client = redis.Redis(port=port)
    proc = start(tmp_path, "file", str(video), "--loop", "--fps", "20", "--stream", "cam1",
                 "--queue", "people", "--redis", f"redis://127.0.0.1:{port}/0")
    try:
        wait_until(lambda: client.llen(frames_key("people")), 15, "frames before the outage")
        server.terminate()
        server.wait(10)
        wait_until(lambda: "redis unavailable" in proc.output(), 15, "the outage to be logged")
        assert proc.popen.poll() is None
        server = start_redis(port, tmp_path)  # a new, empty Redis: nothing was saved
        wait_until(lambda: client.llen(frames_key("people")), 20, "frames after the restart")
        assert queued(client, "people")[0].seq > 0  # the same run carried on
        assert proc.terminate() == 0
    finally:
        proc.kill()
        server.terminate()
        server.wait(10)
    skipped = re.search(r"skipped (\d+) captured frames meanwhile", proc.output())
    assert skipped and int(skipped[1]) > 0  # the file kept playing while Redis was away
