"""How close the whole worker path comes to raw OpenVINO throughput, and capture-to-result latency.

In one run, on the same frames and the same compiled-model settings:

(a) raw:    OpenVINO alone, asynchronous requests fed with frames decoded beforehand (the limit),
            measured before and after (b) and averaged, since a shared machine drifts;
(b) worker: a real worker process draining a Redis queue filled beforehand, alone on the cores as
            raw OpenVINO is (Redis pop, msgpack, JPEG decode, infer, post-process, publish), its streams unwatched
            as by default (no previews: a worker makes them only for streams whose previews a
            dashboard watches; ``--watched`` marks them watched, so previews at up to
            ``protocol.PREVIEW_MAX_FPS`` per stream are made too);
(c) latency: the same worker fed at a fixed 10 fps per stream; capture-to-result p50/p99;
(d) ceiling: the worker's own decoding pool feeding the same engine in this process, with no Redis,
            msgpack or publishing: what any worker that decodes the JPEG on these cores can reach.

It also prints the host-side cost per frame of each step, single-threaded ("preview" is what a watched
stream's preview costs, when one is made), and where the cores' time went in (a), (b) and (d): CPU
milliseconds per frame of each process (the worker, redis-server, this process), the
machine's idle time and the rest of the machine, summing to 2 cores x wall time / frames.
The last line is ``worker_fps=<x> raw_fps=<y> ratio=<x/y> ceiling=<(d)/y>``.

    .venv/bin/python bench/worker_throughput.py --model builtin:people
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import openvino as ov
import redis
import simplejpeg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from inference_worker import protocol  # noqa: E402
from inference_worker.decode import DecodePool  # noqa: E402
from inference_worker.engine import Engine  # noqa: E402
from inference_worker.model_store import load_model  # noqa: E402
from inference_worker.preview import make_preview  # noqa: E402
from inference_worker.worker import POP_BATCH  # noqa: E402
from harness.processes import free_port, wait_until  # noqa: E402
from harness.redis_server import pings, redis_server_command  # noqa: E402
from producers.producer import encode  # noqa: E402
from tests.support import sample_image  # noqa: E402

VTEST = REPO / ".assets" / "vtest.avi"


def sample_jpegs(count: int, width: int) -> list[bytes]:
    """Frames of the street video (or a still, when the video is absent) as a producer with ``--max-width``
    ``width`` sends them (its JPEG quality 80 and 4:2:0 chroma)."""
    images = []
    if VTEST.is_file():
        capture = cv2.VideoCapture(str(VTEST))
        while len(images) < count:
            ok, image = capture.read()
            if not ok:
                break
            images.append(image)
    return [encode(image, width, 80)[0] for image in images or [sample_image("astronaut")]]


class CpuMeter:
    """Where the cores' time goes between :meth:`start` and :meth:`stop`: CPU seconds of each named process
    (Linux ``/proc``), the machine's idle time, and what the rest of the machine used."""

    def __init__(self, **pids: int):
        self.pids = pids

    @staticmethod
    def _process(pid: int) -> float:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    @staticmethod
    def _machine() -> list[float]:
        with open("/proc/stat") as f:
            return [float(v) for v in f.readline().split()[1:]]

    def _read(self) -> tuple[float, dict[str, float], list[float]]:
        return time.perf_counter(), {name: self._process(pid) for name, pid in self.pids.items()}, self._machine()

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> None:
        self._stop = self._read()

    def per_frame_ms(self, frames: int) -> str:
        (t0, p0, m0), (t1, p1, m1) = self._start, self._stop
        cores = (t1 - t0) * (os.cpu_count() or 1)
        jiffies = [b - a for a, b in zip(m0, m1)]
        used = {name: p1[name] - p0[name] for name in self.pids}
        used["idle"] = (jiffies[3] + jiffies[4]) / sum(jiffies) * cores
        used["rest of machine"] = cores - sum(used.values())
        parts = ", ".join(f"{name} {seconds / frames * 1000:.2f}" for name, seconds in used.items())
        return f"{parts} = {cores / frames * 1000:.2f} core-ms per frame"


def measure_raw(model_spec: str, jpegs: list[bytes], seconds: float, requests: int) -> tuple[float, int, str]:
    core = ov.Core()
    done = [0]
    with Engine(load_model(core, model_spec), core=core, requests=requests,
                on_result=lambda *_: done.__setitem__(0, done[0] + 1)) as engine:
        prepared = []
        for jpeg in jpegs:
            height, width, _, _ = simplejpeg.decode_jpeg_header(jpeg)
            prepared.append(engine.prepare(jpeg, width, height))
        for item in prepared[:20]:
            engine.submit(item, None)
        engine.wait_all()
        done[0] = 0
        meter = CpuMeter(openvino=os.getpid())
        meter.start()
        started = time.perf_counter()
        i = 0
        while time.perf_counter() - started < seconds:
            engine.submit(prepared[i % len(prepared)], None)
            i += 1
        engine.wait_all()
        meter.stop()
        return done[0] / (time.perf_counter() - started), engine.requests, meter.per_frame_ms(done[0])


def measure_pipeline(model_spec: str, jpegs: list[bytes], seconds: float, requests: int) -> tuple[float, str]:
    """Decode and infer only, as the worker does both (:class:`DecodePool` on one thread per core, frames
    handed to the engine in order), with the frames already in memory."""
    core = ov.Core()
    done = [0]
    with Engine(load_model(core, model_spec), core=core, requests=requests,
                on_result=lambda *_: done.__setitem__(0, done[0] + 1)) as engine:
        pool = DecodePool(engine.prepare, threads=os.cpu_count() or 1, preview_width=0)
        frames = [protocol.decode_frame(_frame(jpeg, "ceiling", i)) for i, jpeg in enumerate(jpegs)]
        meter = CpuMeter(pipeline=os.getpid())
        started = None
        i = 0
        while started is None or time.perf_counter() - started < seconds:
            if started is None and i == 20:  # warmed up
                engine.wait_all()
                done[0] = 0
                meter.start()
                started = time.perf_counter()
            pool.add(frames[i % len(frames)])
            for decoded in pool.ready():
                engine.submit(decoded.prepared, None)
            i += 1
        while pool:
            engine.submit(pool.oldest().prepared, None)
        engine.wait_all()
        meter.stop()
        pool.shutdown()
        return done[0] / (time.perf_counter() - started), meter.per_frame_ms(done[0])


def host_costs(model_spec: str, jpegs: list[bytes]) -> dict[str, float]:
    """Milliseconds per frame of each host-side step, one thread, no inference."""
    core = ov.Core()
    engine = Engine(load_model(core, model_spec), core=core, requests=1, on_result=lambda *_: None)
    frames = [_frame(jpeg, "s", i) for i, jpeg in enumerate(jpegs)]
    n = max(200, len(frames))

    def per_frame(step) -> float:
        started = time.perf_counter()
        for i in range(n):
            step(i % len(frames))
        return (time.perf_counter() - started) / n * 1000

    decoded = [protocol.decode_frame(f) for f in frames]
    prepared = [engine.prepare(d.data, d.width, d.height) for d in decoded]
    meta = {"detections": [{"label": "person", "score": 0.9, "box": [0.1, 0.1, 0.2, 0.3]}] * 3}
    return {
        "msgpack+checks": per_frame(lambda i: protocol.decode_frame(frames[i])),
        "jpeg header": per_frame(lambda i: simplejpeg.decode_jpeg_header(decoded[i].data)),
        "jpeg decode (+pad)": per_frame(lambda i: engine.prepare(decoded[i].data, decoded[i].width, decoded[i].height)),
        "preview": per_frame(lambda i: make_preview(decoded[i].data, decoded[i].width, decoded[i].height,
                                                    prepared[i].picture, protocol.PREVIEW_WIDTH)),
        "result encode": per_frame(lambda i: protocol.encode_result(meta, decoded[i].data)),
    }


def _frame(jpeg: bytes, stream: str, seq: int, ts: float | None = None) -> bytes:
    height, width, _, _ = simplejpeg.decode_jpeg_header(jpeg)
    return protocol.encode_frame(protocol.Frame(stream, seq, ts or time.time(), width, height, jpeg))


def results_added(client: redis.Redis, stream: str) -> int:
    try:
        return client.xinfo_stream(protocol.results_key(stream))["entries-added"]
    except redis.ResponseError:
        return 0


def keep_watched(client: redis.Redis, streams: list[str], stop: threading.Event) -> None:
    """What a dashboard's web process does while its grid shows ``streams``: their watched keys, kept alive."""
    while not stop.is_set():
        for stream in streams:
            client.set(protocol.watched_key(stream), 1, ex=protocol.WATCHED_TTL)
        stop.wait(1.0)


def previews_kept(client: redis.Redis, stream: str) -> tuple[int, int]:
    """Of the results still in ``stream``'s Redis stream: how many carry a preview, out of how many."""
    fields = [f for _, f in client.xrange(protocol.results_key(stream))]
    return sum(1 for f in fields if f.get(b"preview")), len(fields)


def measure_worker(
    client: redis.Redis, url: str, server_pid: int, args, jpegs: list[bytes]
) -> tuple[float, str, list[float], tuple[int, int]]:
    watching = threading.Event()
    if args.watched:
        streams = ["sat", *(f"lat{s}" for s in range(args.streams))]
        threading.Thread(target=keep_watched, args=(client, streams, watching), daemon=True).start()
    worker = subprocess.Popen(
        [sys.executable, "-m", "inference_worker", "--redis", url, "--queue", "bench", "--model", args.model,
         "--metrics-port", "-1", "--max-age", "3600", "--requests", str(args.requests), "--worker-id", "bench"],
        cwd=REPO, stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: client.exists(protocol.worker_key("bench")), 120, "the worker to start")
        meter = CpuMeter(worker=worker.pid, **{"redis-server": server_pid}, bench=os.getpid())
        throughput, cpu = _saturated(client, jpegs, args.seconds, meter)
        previews = previews_kept(client, "sat")
        latencies = _paced(client, jpegs, args.seconds, args.streams)
    finally:
        watching.set()
        worker.terminate()
        worker.wait(60)
    return throughput, cpu, latencies, previews


def _saturated(client: redis.Redis, jpegs: list[bytes], seconds: float, meter: CpuMeter) -> tuple[float, str]:
    """Count what the worker publishes from a queue filled beforehand, with nothing else running.

    Raw OpenVINO runs alone, so the worker does too: a feeder running alongside took 0.1 ms of CPU per
    face frame from the same two cores (a producer's CPU is not the worker's). A warm-up fed on the fly
    tells the worker's rate; then the queue gets twice the frames that rate would take in ``seconds``,
    and the measurement ends early if it runs dry all the same.
    """
    key = protocol.frames_key("bench")
    frames = [_frame(j, "sat", i) for i, j in enumerate(jpegs)]

    def push(count: int) -> None:
        for start in range(0, count, 256):
            client.rpush(key, *(frames[(start + k) % len(frames)] for k in range(min(256, count - start))))

    push(256)
    wait_until(lambda: results_added(client, "sat") > 20, 60, "warm-up results")
    first, started = results_added(client, "sat"), time.perf_counter()
    while time.perf_counter() - started < 2.0:
        if client.llen(key) < 256:
            push(256)
        time.sleep(0.05)
    warm_fps = (results_added(client, "sat") - first) / (time.perf_counter() - started)
    push(int(warm_fps * seconds * 2))
    meter.start()
    first, started = results_added(client, "sat"), time.perf_counter()
    while time.perf_counter() - started < seconds and client.llen(key) > POP_BATCH:
        time.sleep(0.1)
    published = results_added(client, "sat") - first
    fps = published / (time.perf_counter() - started)
    meter.stop()
    client.delete(key)
    return fps, meter.per_frame_ms(published)


def _paced(client: redis.Redis, jpegs: list[bytes], seconds: float, streams: int) -> list[float]:
    """Push each stream at 10 fps with the capture time set at push; read capture-to-result latency."""
    key, period = protocol.frames_key("bench"), 0.1
    latencies: list[float] = []
    cursors = {protocol.results_key(f"lat{s}"): "$" for s in range(streams)}
    started = time.monotonic()
    seq = 0
    while time.monotonic() - started < seconds:
        tick = started + seq * period
        time.sleep(max(0.0, tick - time.monotonic()))
        client.rpush(key, *[_frame(jpegs[seq % len(jpegs)], f"lat{s}", seq) for s in range(streams)])
        seq += 1
        for stream_key, entries in client.xread(cursors, block=1) or []:
            for entry_id, fields in entries:
                meta = json.loads(fields[b"meta"])
                cursors[stream_key.decode()] = entry_id
                if time.monotonic() - started > 1:  # skip the first second
                    latencies.append(meta["ts_done"] - meta["ts_capture"])
    return latencies


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="builtin:people")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--width", type=int, default=640, help="frame width, as the producer's --max-width")
    p.add_argument("--requests", type=int, default=0, help="infer requests; 0 = the worker's default")
    p.add_argument("--streams", type=int, default=1, help="streams at 10 fps each for the latency part")
    p.add_argument("--watched", action="store_true",
                   help="mark the streams watched, as a dashboard grid does, so the worker makes previews")
    args = p.parse_args()

    jpegs = sample_jpegs(50, args.width)
    print(f"model {args.model}, {len(jpegs)} frames of {args.width} px, {len(jpegs[0]) // 1024} KB each, {args.seconds:.0f} s per part", flush=True)
    costs = host_costs(args.model, jpegs)
    print("host cost per frame, one thread: " + ", ".join(f"{k} {v:.3f} ms" for k, v in costs.items()), flush=True)
    raw_before, requests, raw_cpu = measure_raw(args.model, jpegs, args.seconds, args.requests)
    print(f"raw OpenVINO: {raw_before:.1f} fps with {requests} infer requests; {raw_cpu}", flush=True)

    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        server = subprocess.Popen(redis_server_command(port, Path(workdir)), stdout=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            wait_until(lambda: pings(url), 10, "redis")
            worker_fps, worker_cpu, latencies, (with_preview, kept) = measure_worker(
                redis.Redis.from_url(url), url, server.pid, args, jpegs
            )
        finally:
            server.terminate()
            server.wait()
    print(f"worker path ({'watched' if args.watched else 'unwatched'}): {worker_fps:.1f} fps; "
          f"{with_preview} of its last {kept} results carry a preview; {worker_cpu}", flush=True)
    raw_after, _, raw_cpu = measure_raw(args.model, jpegs, args.seconds, args.requests)
    raw_fps = (raw_before + raw_after) / 2
    print(f"raw OpenVINO again: {raw_after:.1f} fps; {raw_cpu}; the baseline is the mean of both, {raw_fps:.1f} fps", flush=True)
    ceiling_fps, ceiling_cpu = measure_pipeline(args.model, jpegs, args.seconds, args.requests)
    print(f"ceiling (decode + infer in one process, no Redis): {ceiling_fps:.1f} fps; {ceiling_cpu}", flush=True)
    if latencies:
        q = statistics.quantiles(latencies, n=100)
        print(f"latency at 10 fps x {args.streams} stream(s): p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms ({len(latencies)} results)")
    print(f"worker_fps={worker_fps:.1f} raw_fps={raw_fps:.1f} ratio={worker_fps / raw_fps:.3f} ceiling={ceiling_fps / raw_fps:.3f}")


if __name__ == "__main__":
    main()
