"""``make demo``: the whole system on one machine, as child processes of this script, started by the
harness the tests use.

Redis, the control plane (the web server, uvicorn: API, admin, websockets), the analyzer (tracked objects and
events), Celery (worker and beat: model validation and the reconciler), and the supervisor, which runs what the database asks for: a producer
looping a street video into the people, face and car queues, and a worker pool per service that grows and
shrinks with the load. Then a live line per second with each worker's figures. Ctrl-C stops everything
cleanly, clients before Redis. A Redis of the demo's own that exits is started again, with backoff, and the
rest rides the outage out as it would with an external Redis.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from harness.control_plane import ControlPlane  # noqa: E402
from harness.processes import free_port, http_ok, stop_all, wait_until  # noqa: E402
from harness.redis_server import pings, start_redis_server  # noqa: E402
from inference_worker.fleet import live_workers  # noqa: E402
from inference_worker.runtime import redis_client  # noqa: E402

RUN = Path(os.environ.get("EI_DATA_DIR") or REPO / ".run")  # the control plane's data directory too
CLIPS = (REPO / ".assets" / "vtest.avi", REPO / ".assets" / "demo-clip.avi")
ADMIN_USER = "admin"
STOP_TIMEOUT = 30  # seconds a process has to stop on SIGTERM before it is killed
REDIS_RESTART_DELAYS = (1, 2, 4, 8, 16, 30)  # seconds before each further start of a Redis that keeps dying
REDIS_STABLE = 60  # seconds up after which a Redis that exits again starts from the first delay


class OwnRedis:
    """The demo's private redis-server, started again whenever it exits, until the demo stops."""

    def __init__(self, port: int):
        self.port = port
        self.proc = start_redis_server(port, RUN, own_session=True)
        self.started = time.monotonic()
        self.restarts = 0

    def keep_up(self, stopping: Callable[[], bool]) -> None:
        """Called while the demo runs: start Redis again if it exited (one line each time)."""
        if self.proc.popen.poll() is None:
            return
        if time.monotonic() - self.started > REDIS_STABLE:
            self.restarts = 0
        delay = REDIS_RESTART_DELAYS[min(self.restarts, len(REDIS_RESTART_DELAYS) - 1)]
        self.restarts += 1
        print(f"demo: redis exited (code {self.proc.popen.returncode}); starting it again in {delay} s "
              "(the fleet keeps running and reconnects)", file=sys.stderr, flush=True)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not stopping():
            time.sleep(0.1)
        if stopping():
            return
        try:
            self.proc = start_redis_server(self.port, RUN, own_session=True)
        except TimeoutError as exc:  # e.g. its port taken meanwhile: the next round tries again
            print(f"demo: redis did not start again ({exc})", file=sys.stderr, flush=True)
            return
        self.started = time.monotonic()
        print(f"demo: redis started again on port {self.port}", file=sys.stderr, flush=True)


def demo_clip() -> Path | None:
    """The street video the demo plays: the first sample `make assets` fetched, if any."""
    return next((clip for clip in CLIPS if clip.is_file()), None)


def admin_password() -> str:
    """EI_ADMIN_PASSWORD, or one made on the first run and kept in .run/admin-password (mode 0600)."""
    if os.environ.get("EI_ADMIN_PASSWORD"):
        return os.environ["EI_ADMIN_PASSWORD"]
    path = RUN / "admin-password"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(12))
    return path.read_text().strip()


def main() -> int:
    clip = demo_clip()
    if clip is None:
        print("demo: no sample video; run `make assets`", file=sys.stderr)
        return 2
    RUN.mkdir(exist_ok=True)
    redis_port = free_port(6390)  # for a private Redis, so that without REDIS_URL the demo never touches someone's data
    redis_url = os.environ.get("REDIS_URL") or f"redis://127.0.0.1:{redis_port}/0"
    own_redis: OwnRedis | None = None
    control_plane = ControlPlane(RUN, redis_url, int(os.environ.get("EI_PORT") or free_port(8000)), terminal=True)
    stopping = crashed = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        if os.environ.get("REDIS_URL"):
            wait_until(lambda: pings(redis_url), 10, "redis")
        else:
            own_redis = OwnRedis(redis_port)
        password = admin_password()
        print("demo: preparing the database and the built-in models (first run: a few seconds)", flush=True)
        control_plane.manage("migrate", "--noinput", "-v", "0")
        control_plane.run("scripts/demo_records.py", "--admin", ADMIN_USER, "--password", password, "--clip", str(clip))
        control_plane.manage("reconcile")
        control_plane.web()
        control_plane.analyzer()
        control_plane.celery("-l", "warning")
        control_plane.supervisor()
        client = redis_client(redis_url)
        wait_until(lambda: len(live_workers(client)) >= 3, 120, "a worker for each of people, face and car")
        base = control_plane.base_url
        wait_until(lambda: http_ok(f"{base}/api/schema/"), 60, "the control plane")
        print(
            f"\ndemo: up. Started Redis ({redis_url}), the web server, the analyzer, Celery (worker + beat) and the supervisor,\n"
            f"  which runs the stream 'street' ({clip.name}) into the queues people, face and car and a worker pool per queue\n"
            f"  dashboard {base}/          log in as {ADMIN_USER} / {password}   (admin {base}/admin/)\n"
            f"  API       {base}/api/      docs {base}/api/docs/   token: POST {base}/api/auth/token/\n"
            f"  live      {control_plane.ws_url('/ws/streams/street/')}   metrics {base}/metrics\n"
            "  each line below: every worker's inference FPS, dropped FPS, scale ratio, p50 latency. Ctrl-C stops.\n",
            flush=True,
        )
        control_plane.spawn("monitor", "-m", "inference_worker.monitor")
        while not stopping:
            if own_redis:
                own_redis.keep_up(lambda: stopping)
            dead = next((proc.name for proc in control_plane.procs if proc.popen.poll() is not None), None)
            if dead:
                print(f"demo: {dead} exited; stopping", file=sys.stderr, flush=True)
                stopping = crashed = True
            time.sleep(0.5)
    except (RuntimeError, TimeoutError) as exc:
        print(f"demo: {exc}", file=sys.stderr, flush=True)
        crashed = True
    finally:
        print("demo: stopping", flush=True)
        exits = control_plane.stop(STOP_TIMEOUT)  # clients before Redis
        exits |= stop_all([own_redis.proc] if own_redis else [], STOP_TIMEOUT)
        for name, code in exits.items():
            if code == -signal.SIGKILL:
                print(f"demo: {name} did not stop in {STOP_TIMEOUT} s; killed it", file=sys.stderr, flush=True)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
