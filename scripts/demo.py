"""``make demo``: Redis, a looping street video, a people worker and a face worker, and a live line per second.

Everything runs as child processes of this script; Ctrl-C stops them all cleanly.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from inference_worker.fleet import live_workers  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / ".run"
CLIPS = (REPO / ".assets" / "vtest.avi", REPO / ".assets" / "demo-clip.avi")


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


def start_redis() -> tuple[subprocess.Popen | None, str]:
    """Use REDIS_URL when given; otherwise a private Redis, so the demo never touches someone's data."""
    if os.environ.get("REDIS_URL"):
        return None, os.environ["REDIS_URL"]
    port = free_port(6390)
    RUN.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(RUN), "--logfile", str(RUN / "redis.log")],
        start_new_session=True,  # Ctrl-C reaches only this script, which stops Redis after its clients
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not start; see {RUN / 'redis.log'}")


def wait_for_workers(client: redis.Redis, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(live_workers(client)) < count and time.monotonic() < deadline:
        time.sleep(0.2)


def main() -> int:
    clip = next((c for c in CLIPS if c.is_file()), None)
    if clip is None:
        print("demo: no sample video; run `make assets`", file=sys.stderr)
        return 2
    redis_proc, url = start_redis()
    env = {**os.environ, "REDIS_URL": url, "PYTHONUNBUFFERED": "1"}
    py = sys.executable
    children = [
        ("worker people", [py, "-m", "inference_worker", "--queue", "people", "--model", "builtin:people", "--metrics-port", str(free_port(8001))]),
        ("worker face", [py, "-m", "inference_worker", "--queue", "face", "--model", "builtin:face", "--metrics-port", str(free_port(8002))]),
        ("producer", [py, "-m", "producers", "file", str(clip), "--stream", "street", "--queue", "people", "--queue", "face", "--loop"]),
        ("monitor", [py, "-m", "inference_worker.monitor"]),
    ]
    print(f"demo: redis at {url}; playing {clip.name} as stream 'street' into queues people and face", flush=True)
    print("demo: each line below shows every worker's inference FPS, dropped FPS, scale ratio and p50 latency; Ctrl-C stops", flush=True)
    procs = []
    for name, cmd in children:
        procs.append((name, subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True)))
        if name == "worker face":  # let both workers load their models before frames start to age
            wait_for_workers(redis.Redis.from_url(url), 2)
    stopping = False
    crashed = None

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, proc in procs:
                if proc.poll() is not None and not stopping:
                    print(f"demo: {name} exited with {proc.returncode}; stopping", file=sys.stderr, flush=True)
                    stopping, crashed = True, name
            time.sleep(0.5)
    finally:
        print("demo: stopping", flush=True)
        for _, proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                print(f"demo: {name} did not stop in 20 s; killing it", file=sys.stderr)
                proc.kill()
        if redis_proc:
            redis_proc.terminate()
            redis_proc.wait(10)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
