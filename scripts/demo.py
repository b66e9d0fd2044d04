"""``make demo``: the whole system on one machine, as child processes of this script.

Redis, the control plane (Daphne: API, admin, websockets), the relay, Celery (worker and beat: model
validation and the reconciler), and the supervisor, which runs what the database asks for: a producer
looping a street video into the people and face queues, and a worker pool per service that grows and
shrinks with the load. Then a live line per second with each worker's figures. Ctrl-C stops everything
cleanly, clients before Redis.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from inference_worker.fleet import live_workers  # noqa: E402

RUN = Path(os.environ.get("EI_DATA_DIR") or REPO / ".run")  # the control plane's data directory too
CLIPS = (REPO / ".assets" / "vtest.avi", REPO / ".assets" / "demo-clip.avi")
ADMIN_USER = "admin"


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


def wait_for(what: str, ready, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up in {timeout:.0f} s")
        time.sleep(0.2)


def redis_pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.ConnectionError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def admin_password() -> str:
    """EI_ADMIN_PASSWORD, or one made on the first run and kept in .run/admin-password (mode 0600)."""
    if os.environ.get("EI_ADMIN_PASSWORD"):
        return os.environ["EI_ADMIN_PASSWORD"]
    path = RUN / "admin-password"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(12))
    return path.read_text().strip()


class Fleet:
    """The demo's child processes, each in its own session so Ctrl-C reaches only this script."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, cmd: list[str]) -> None:
        self.procs.append((name, subprocess.Popen(cmd, cwd=REPO, env=self.env, start_new_session=True)))

    def run(self, cmd: list[str]) -> None:
        subprocess.run(cmd, cwd=REPO, env=self.env, check=True)

    def dead(self) -> str | None:
        return next((name for name, proc in self.procs if proc.poll() is not None), None)

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(self.procs):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                print(f"demo: {name} did not stop in 30 s; killing it", file=sys.stderr, flush=True)
                proc.kill()


def main() -> int:
    clip = next((c for c in CLIPS if c.is_file()), None)
    if clip is None:
        print("demo: no sample video; run `make assets`", file=sys.stderr)
        return 2
    RUN.mkdir(exist_ok=True)
    redis_url = os.environ.get("REDIS_URL")
    http_port = int(os.environ.get("EI_PORT") or free_port(8000))
    env = {
        **os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "controlplane.config.settings",
        # Celery warns at length when run as root, which a demo on a fresh machine often is.
        "PYTHONWARNINGS": "ignore:You're running the worker with superuser privileges",
    }
    py = sys.executable
    redis_fleet = Fleet(env)
    if not redis_url:  # a private Redis, so the demo never touches someone's data
        port = free_port(6390)
        redis_url = f"redis://127.0.0.1:{port}/0"
        redis_fleet.start("redis", [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                    "--save", "", "--appendonly", "no", "--dir", str(RUN), "--logfile", str(RUN / "redis.log")])
    env["REDIS_URL"] = redis_url
    fleet = Fleet(env)
    stopping = crashed = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        wait_for("redis", lambda: redis_pings(redis_url), 10)
        password = admin_password()
        print("demo: preparing the database and the built-in models (first run: a few seconds)", flush=True)
        fleet.run([py, "manage.py", "migrate", "--noinput", "-v", "0"])
        fleet.run([py, "scripts/demo_records.py", "--admin", ADMIN_USER, "--password", password, "--clip", str(clip)])
        fleet.run([py, "manage.py", "reconcile"])
        fleet.start("control plane", [py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(http_port), "--access-log", str(RUN / "access.log"),
                                      "controlplane.config.asgi:application"])
        fleet.start("relay", [py, "manage.py", "relay"])
        fleet.start("celery", [py, "-m", "celery", "-A", "controlplane", "--quiet", "worker", "--beat", "--pool", "solo",
                               "-l", "warning", "--schedule", str(RUN / "celerybeat-schedule")])
        fleet.start("supervisor", [py, "manage.py", "supervise"])
        wait_for("the workers", lambda: len(live_workers(redis.Redis.from_url(redis_url))) >= 2)
        base = f"http://127.0.0.1:{http_port}"
        wait_for("the control plane", lambda: http_ok(f"{base}/api/schema/"), 60)
        print(
            f"\ndemo: up. Started Redis ({redis_url}), Daphne, the relay, Celery (worker + beat) and the supervisor,\n"
            f"  which runs the stream 'street' ({clip.name}) into the queues people and face and a worker pool per queue\n"
            f"  dashboard {base}/          log in as {ADMIN_USER} / {password}   (admin {base}/admin/)\n"
            f"  API       {base}/api/      docs {base}/api/docs/   token: POST {base}/api/auth/token/\n"
            f"  live      ws://127.0.0.1:{http_port}/ws/streams/street/   metrics {base}/metrics\n"
            "  each line below: every worker's inference FPS, dropped FPS, scale ratio, p50 latency. Ctrl-C stops.\n",
            flush=True,
        )
        fleet.start("monitor", [py, "-m", "inference_worker.monitor"])
        while not stopping:
            dead = fleet.dead() or redis_fleet.dead()
            if dead:
                print(f"demo: {dead} exited; stopping", file=sys.stderr, flush=True)
                stopping = crashed = True
            time.sleep(0.5)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"demo: {exc}", file=sys.stderr, flush=True)
        crashed = True
    finally:
        print("demo: stopping", flush=True)
        fleet.stop()
        redis_fleet.stop()
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
