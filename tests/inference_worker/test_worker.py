"""The worker as a real process against a real Redis, with the real built-in models."""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request

import cv2
import msgpack
import pytest
import redis
import simplejpeg

from inference_worker import protocol
from inference_worker.fleet import live_workers
from harness.processes import Proc, free_port, wait_until
from harness.redis_server import pings, redis_server_command
from tests.support import VTEST, frame_bytes, jpeg_of, mean_difference, results, sample_image, worker_command


@pytest.fixture
def start_worker(redis_url, tmp_path):
    """Start workers with a known id and wait until each has sent its first heartbeat."""
    procs: list[Proc] = []

    def start(queue: str, model: str, *extra: str, url: str | None = None, wait: bool = True) -> Proc:
        worker_id = f"w{len(procs)}-{queue}"
        proc = Proc(worker_command(url or redis_url, queue, model, "--worker-id", worker_id, *extra), tmp_path / f"{worker_id}.log")
        procs.append(proc)
        if wait:
            client = redis.Redis.from_url(url or redis_url)
            wait_until(lambda: client.exists(protocol.worker_key(worker_id)) or proc.popen.poll() is not None, 60, "worker heartbeat")
            assert proc.popen.poll() is None, proc.output()
        proc.worker_id = worker_id
        return proc

    yield start
    for proc in procs:
        proc.kill()


def stream_stats(r: redis.Redis, stream: str) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in r.hgetall(protocol.stream_stats_key(stream)).items()}


@pytest.mark.parametrize("model, queue", [("builtin:face", "face"), ("builtin:people", "people")])
def test_default_thresholds_find_nothing_in_negative_images(r, start_worker, model, queue):
    start_worker(queue, model)
    for name in ("coffee", "chelsea"):
        r.rpush(protocol.frames_key(queue), frame_bytes(name, 0, jpeg_of(sample_image(name))))
    wait_until(lambda: results(r, "coffee") and results(r, "chelsea"), 30, "both results")
    assert [results(r, name)[0][0]["detections"] for name in ("coffee", "chelsea")] == [[], []]


def test_finds_the_face_in_astronaut(r, start_worker):
    start_worker("face", "builtin:face")
    r.rpush(protocol.frames_key("face"), frame_bytes("astro", 0, jpeg_of(sample_image("astronaut"))))
    wait_until(lambda: results(r, "astro"), 30, "the result")

    (meta, jpeg), = results(r, "astro")
    assert meta["queue"] == "face" and meta["model"] == "builtin:face" and meta["seq"] == 0
    assert meta["width"] == 512 and meta["ts_done"] >= meta["ts_capture"]
    (face,) = meta["detections"]
    x0, y0, x1, y1 = face["box"]
    assert face["label"] == "face" and face["score"] > 0.75
    assert 0.25 < x0 < x1 < 0.65 and 0.05 < y0 < y1 < 0.45  # her face, not the suit or the flag
    assert jpeg == jpeg_of(sample_image("astronaut")), "the result carries the bytes that came in"


def test_results_of_wide_frames_carry_a_preview_of_the_same_picture(r, start_worker):
    for stream in ("wide", "narrow", "off"):  # watched: as a dashboard grid's websocket marks them
        r.set(protocol.watched_key(stream), 1, ex=60)
    start_worker("face", "builtin:face")
    start_worker("people", "builtin:people", "--preview-width", "0")
    wide, narrow = jpeg_of(sample_image("astronaut")), jpeg_of(cv2.resize(sample_image("astronaut"), (256, 256)))
    r.rpush(protocol.frames_key("face"), frame_bytes("wide", 0, wide), frame_bytes("narrow", 0, narrow))
    r.rpush(protocol.frames_key("people"), frame_bytes("off", 0, wide))
    wait_until(lambda: all(r.xlen(protocol.results_key(s)) for s in ("wide", "narrow", "off")), 30, "three results")

    (_, fields), = r.xrange(protocol.results_key("wide"))
    assert fields[b"jpeg"] == wide, "the frame as it came in"
    assert simplejpeg.decode_jpeg_header(fields[b"preview"])[:2] == (320, 320), "512 -> the default 320"
    expected = cv2.resize(sample_image("astronaut"), (320, 320), interpolation=cv2.INTER_AREA)
    assert mean_difference(simplejpeg.decode_jpeg(fields[b"preview"], "BGR"), expected) < 8, "the same picture"
    for stream in ("narrow", "off"):  # no wider than the preview, or previews off
        (_, fields), = r.xrange(protocol.results_key(stream))
        assert set(fields) == {b"meta", b"jpeg"}, stream


def preview_fields(r: redis.Redis, stream: str) -> list[bytes | None]:
    return [fields.get(b"preview") for _, fields in r.xrange(protocol.results_key(stream))]


def test_previews_only_while_the_stream_is_watched_and_at_most_max_fps_per_second(r, start_worker):
    start_worker("face", "builtin:face", "--max-age", "60", "--result-maxlen", "500")
    wide = jpeg_of(sample_image("astronaut"))  # 512 px: wider than the 320 px previews
    key = protocol.frames_key("face")
    r.rpush(key, *(frame_bytes("cam", seq, wide) for seq in range(10)))
    wait_until(lambda: r.xlen(protocol.results_key("cam")) == 10, 30, "the unwatched results")
    assert preview_fields(r, "cam") == [b""] * 10, "nobody watches: no previews, and the results say so"

    r.set(protocol.watched_key("cam"), 1, ex=60)
    seq = 10
    deadline = time.monotonic() + 10  # the worker looks at the key about once a second
    while not any(preview_fields(r, "cam")) and time.monotonic() < deadline:
        r.rpush(key, frame_bytes("cam", seq, wide))
        seq += 1
        time.sleep(0.2)
    assert any(preview_fields(r, "cam")), "previews once the stream is watched"
    assert simplejpeg.decode_jpeg_header(next(p for p in preview_fields(r, "cam") if p))[:2] == (320, 320)

    # A burst far faster than the cap: at most PREVIEW_MAX_FPS previews per second of it (and one or
    # two at its start), counted over the span the worker took to publish it.
    r.delete(protocol.results_key("burst"))
    r.set(protocol.watched_key("burst"), 1, ex=60)
    r.rpush(key, *(frame_bytes("burst", n, wide) for n in range(200)))
    wait_until(lambda: r.xlen(protocol.results_key("burst")) == 200, 60, "the burst's results")
    metas = [m for m, _ in results(r, "burst")]
    span = metas[-1]["ts_done"] - metas[0]["ts_done"]
    made = sum(1 for p in preview_fields(r, "burst") if p)
    assert 1 <= made <= protocol.PREVIEW_MAX_FPS * (span + 0.5) + 2, (made, span)
    assert made < 200, "not every frame"
    assert all(p is not None for p in preview_fields(r, "burst")), "the others are marked skipped"


def test_finds_people_in_the_street_video(r, start_worker):
    if VTEST.is_file():
        capture = cv2.VideoCapture(str(VTEST))
        frames = [capture.read()[1] for _ in range(30)][::10]
    else:  # the demo's fallback when the sample video could not be fetched
        frames = [sample_image("astronaut")]
    start_worker("people", "builtin:people")
    for seq, image in enumerate(frames):
        r.rpush(protocol.frames_key("people"), frame_bytes("street", seq, jpeg_of(image)))
    found = wait_until(lambda: len(results(r, "street")) == len(frames) and results(r, "street"), 60, "people results")
    for meta, _ in found:
        people = [d for d in meta["detections"] if d["label"] == "person"]
        assert people, meta
        assert all(d["score"] >= 0.5 and 0 <= d["box"][0] < d["box"][2] <= 1 for d in people)


def test_old_frames_are_dropped_and_counted_per_stream(r, start_worker):
    worker = start_worker("face", "builtin:face", "--max-age", "0.5")
    jpeg = jpeg_of(sample_image("astronaut"))
    for seq in range(5):
        r.rpush(protocol.frames_key("face"), frame_bytes("late", seq, jpeg, ts=time.time() - 3))
    r.rpush(protocol.frames_key("face"), frame_bytes("fresh", 0, jpeg))
    wait_until(lambda: results(r, "fresh"), 30, "fresh result")
    wait_until(lambda: stream_stats(r, "late").get("expired") == 5, 10, "expired counted for the late stream")
    assert results(r, "late") == []
    assert stream_stats(r, "fresh") == {"inferred": 1}
    beat = wait_until(lambda: [w for w in live_workers(r) if w["worker"] == worker.worker_id and w["dropped"] == 5], 10, "heartbeat")
    assert beat[0]["drop_fps"] > 0 and beat[0]["inferred"] == 1


def test_queue_overflow_is_claimed_as_drops_and_raises_the_scale_ratio(r, start_worker):
    worker = start_worker("face", "builtin:face")
    r.set(protocol.overflow_key("face"), 40)  # as a producer's push script does when it evicts frames
    jpeg = jpeg_of(sample_image("astronaut"))
    for seq in range(10):
        r.rpush(protocol.frames_key("face"), frame_bytes("cam", seq, jpeg))
    wait_until(lambda: len(results(r, "cam")) == 10, 30, "results")
    beat = wait_until(
        lambda: [w for w in live_workers(r) if w["worker"] == worker.worker_id and w["dropped"] == 40], 10, "heartbeat"
    )[0]
    assert beat["scale_ratio"] > 1, beat
    assert r.get(protocol.overflow_key("face")) is None, "claimed exactly once"


def test_malformed_frames_are_rejected_and_the_worker_keeps_going(r, start_worker):
    worker = start_worker("face", "builtin:face")
    good = jpeg_of(sample_image("astronaut"))
    valid = msgpack.unpackb(frame_bytes("bad", 0, good))
    garbage = [
        b"\x00not msgpack at all\xff",
        b"\x00not msgpack at all\xff",  # the same kind twice: logged once
        msgpack.packb([1, 2, 3]),
        msgpack.packb({**valid, "v": 99}),
        msgpack.packb({k: v for k, v in valid.items() if k != "ts"}),
        msgpack.packb({**valid, "data": good[: len(good) // 3]}),  # truncated JPEG
        msgpack.packb({**valid, "data": b"\xff\xd8" + b"\x00" * 500}),  # corrupt JPEG
        msgpack.packb({**valid, "w": 100000}),  # absurd size
        msgpack.packb({**valid, "w": 640}),  # header disagrees with the JPEG
        msgpack.packb({**valid, "stream": "../../etc"}),
    ]
    r.rpush(protocol.frames_key("face"), *garbage)
    r.rpush(protocol.frames_key("face"), frame_bytes("good", 0, good))
    wait_until(lambda: results(r, "good"), 30, "the good frame's result")
    beat = wait_until(
        lambda: [w for w in live_workers(r) if w["worker"] == worker.worker_id and w["rejected"] == len(garbage)], 10,
        "rejections in the heartbeat",
    )
    assert beat and worker.popen.poll() is None
    log = worker.output()
    assert log.count("rejected frame (not-msgpack") == 1
    for kind in ("not-a-map", "bad-version", "missing-fields", "corrupt-jpeg", "bad-size", "size-mismatch", "bad-stream"):
        assert f"rejected frame ({kind}" in log, kind
    assert "Traceback" not in log
    assert results(r, "bad") == []


def test_sigterm_finishes_in_flight_frames_and_loses_none(r, start_worker):
    worker = start_worker("people", "builtin:people", "--max-age", "600")
    jpeg = jpeg_of(sample_image("astronaut"))
    total = 60
    r.rpush(protocol.frames_key("people"), *[frame_bytes("s", seq, jpeg) for seq in range(total)])
    wait_until(lambda: results(r, "s"), 30, "first result")
    assert worker.terminate() == 0
    published = len(results(r, "s"))
    assert published + r.llen(protocol.frames_key("people")) == total, "every frame is either published or still queued"
    assert published == stream_stats(r, "s")["inferred"]
    assert live_workers(r) == [] and not r.exists(protocol.worker_key(worker.worker_id))
    assert "stopped:" in worker.output()


def test_metrics_endpoint_and_gauges_fall_back_to_zero_when_idle(r, start_worker):
    worker = start_worker("face", "builtin:face", "--metrics-window", "2")
    port = int(wait_until(lambda: _metrics_port(worker.output()), 10, "metrics port"))
    jpeg = jpeg_of(sample_image("astronaut"))
    r.rpush(protocol.frames_key("face"), *[frame_bytes("m", seq, jpeg) for seq in range(20)])
    wait_until(lambda: len(results(r, "m")) == 20, 30, "results")
    busy = wait_until(lambda: _gauge(port, "ei_infer_fps") > 0 and _scrape(port), 5, "a positive infer fps")
    assert 'ei_frames_total{outcome="inferred",queue="face",stream="m"} 20.0' in busy
    assert "ei_inference_seconds_bucket" in busy and "ei_latency_seconds_count" in busy
    wait_until(lambda: _gauge(port, "ei_infer_fps") == 0, 10, "the gauge to fall back to 0 with no frames")
    assert _gauge(port, "ei_scale_ratio") == 0


def test_the_metrics_endpoint_listens_where_it_is_told(start_worker):
    worker = start_worker("face", "builtin:face", "--metrics-host", "127.0.0.2", "--metrics-port", "0")
    port = int(wait_until(lambda: _metrics_port(worker.output()), 10, "metrics port"))
    with urllib.request.urlopen(f"http://127.0.0.2:{port}/metrics", timeout=5) as response:
        assert "ei_infer_fps" in response.read().decode()
    with pytest.raises(OSError):
        _scrape(port)  # 127.0.0.1: nothing listens there


def test_redis_going_away_and_coming_back(tmp_path, start_worker):
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = subprocess.Popen(redis_server_command(port, tmp_path), stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: pings(url), 10, "private redis")
        worker = start_worker("face", "builtin:face", url=url)
        server.send_signal(signal.SIGKILL)
        server.wait()
        wait_until(lambda: "redis unavailable" in worker.output(), 20, "the outage to be logged")
        server = subprocess.Popen(redis_server_command(port, tmp_path), stdout=subprocess.DEVNULL)
        wait_until(lambda: pings(url), 10, "redis back")
        client = redis.Redis.from_url(url)
        client.rpush(protocol.frames_key("face"), frame_bytes("after", 0, jpeg_of(sample_image("astronaut"))))
        wait_until(lambda: results(client, "after"), 30, "a result after the outage")
        assert worker.popen.poll() is None and "reachable again" in worker.output()
    finally:
        server.kill()
        server.wait()


@pytest.mark.parametrize(
    "model, message",
    [("builtin:nope", "unknown built-in model"), ("{tmp}/broken.xml", "cannot read model"), ("{tmp}/model.txt", "unsupported format"),
     ("{tmp}/absent.onnx", "does not exist")],
)
def test_a_bad_model_is_one_clear_line_and_exit_2(redis_url, tmp_path, model, message):
    (tmp_path / "broken.xml").write_text("<net><layers>")
    (tmp_path / "model.txt").write_text("hello")
    done = subprocess.run(worker_command(redis_url, "q", model.format(tmp=tmp_path)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def _metrics_port(log: str) -> str | None:
    for line in log.splitlines():
        if "metrics on http://" in line:
            return line.rsplit(":", 1)[1].split("/")[0]
    return None


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def _gauge(port: int, name: str) -> float:
    for line in _scrape(port).splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exported")
