"""The control plane's processes on one Redis and one data directory: the web server (API, admin, and the
websockets, which read the result streams they serve from Redis), the analyzer (tracked objects and
events), Celery (worker and beat) and the supervisor, which runs the worker fleet and the producers the
database asks for. ``make demo`` runs them in a terminal; the tests and benchmarks with a log each."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from harness.processes import REPO, Proc, accepts, free_port, stop_all


@dataclass
class ControlPlane:
    """``workdir`` is the data directory (``EI_DATA_DIR``): the SQLite database by default, media, Celery's
    schedule and each process's log. ``terminal``: the processes write to our
    terminal instead, in sessions of their own, so that Ctrl-C reaches only us and we stop them in order."""

    workdir: Path
    redis_url: str
    port: int = 0  # the web server's; 0 picks a free one
    terminal: bool = False
    procs: list[Proc] = field(default_factory=list)

    def __post_init__(self):
        self.port = self.port or free_port()

    @property
    def env(self) -> dict[str, str]:
        return {
            "DJANGO_SETTINGS_MODULE": "controlplane.config.settings", "REDIS_URL": self.redis_url,
            "EI_DATA_DIR": str(self.workdir), "PYTHONUNBUFFERED": "1",
            # Celery warns at length when run as root, which a demo on a fresh machine often is.
            "PYTHONWARNINGS": "ignore:You're running the worker with superuser privileges",
        }

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def run(self, *args: str) -> str:
        """``python <args>`` to its end; RuntimeError if it fails. Its output, which in a terminal is shown there."""
        done = subprocess.run(
            [sys.executable, *args], cwd=REPO, env={**os.environ, **self.env}, capture_output=not self.terminal, text=True, check=False,
        )
        if done.returncode:
            raise RuntimeError(f"{' '.join(args)} exited with {done.returncode}\n{done.stderr or ''}".rstrip())
        return done.stdout or ""

    def manage(self, *args: str) -> str:
        return self.run("manage.py", *args)

    def spawn(self, name: str, *args: str) -> Proc:
        """``python <args>`` as one of the control plane's processes, logging to ``<workdir>/<name>.log``."""
        log_path = None if self.terminal else self.workdir / f"{name}.log"
        proc = Proc([sys.executable, *args], log_path, self.env, name=name, own_session=self.terminal)
        self.procs.append(proc)
        return proc

    def web(self) -> Proc:
        """HTTP and websockets (``controlplane.config.web``)."""
        return self.spawn("web", "-m", "controlplane.config.web", "--host", "127.0.0.1", "--port", str(self.port))

    def listening(self) -> bool:
        return accepts(self.port)

    def analyzer(self, *options: str) -> Proc:
        return self.spawn("analyzer", "manage.py", "analyze", *options)

    def celery(self, *options: str) -> Proc:
        """A Celery worker with beat in one process: model validation, reconciles and the periodic tasks."""
        return self.spawn(
            "celery", "-m", "celery", "-A", "controlplane", "--quiet", "worker", "--beat", "--pool", "solo",
            "--schedule", str(self.workdir / "celerybeat-schedule"), *options,
        )

    def supervisor(self, *options: str) -> Proc:
        return self.spawn("supervisor", "manage.py", "supervise", *options)

    def stop(self, timeout: float = 60) -> dict[str, int]:
        """SIGTERM to every process; their exit codes by name (see ``stop_all``)."""
        return stop_all(reversed(self.procs), timeout)
