"""The supervisor's children on this machine. :class:`UnitProcesses` starts a unit's replica as the worker
or producer CLI; each is a :class:`Child`: started in its own session, its output forwarded line by line
with a prefix (the last line kept, to explain an exit), stopped with SIGTERM and, after a grace period,
SIGKILL. Linux kills it too if the supervisor dies without stopping it (PR_SET_PDEATHSIG)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from controlplane.orchestration.commands import producer_argv, worker_argv
from controlplane.orchestration.units import Unit, WorkerPool

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Child:
    def __init__(self, label: str, argv: list[str], *, env: dict[str, str], cwd: str):
        self.label = label
        self.started = time.monotonic()
        self.stop_deadline: float | None = None
        self.last_line = ""
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        self._reader = threading.Thread(target=self._forward, name=f"out-{label}", daemon=True)
        self._reader.start()

    def _forward(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            if line:
                self.last_line = line
                sys.stderr.write(f"[{self.label}] {line}\n")
        self.proc.stdout.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def exit_code(self) -> int | None:
        return self.proc.poll()

    def uptime(self) -> float:
        return time.monotonic() - self.started

    def terminate(self, grace: float) -> None:
        """Ask it to finish its in-flight work and exit; :meth:`reap` kills it after ``grace`` seconds."""
        if self.stop_deadline is None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.stop_deadline = time.monotonic() + grace

    def reap(self) -> bool:
        """True once a stopping child is gone; kills it when its grace period is over."""
        if self.proc.poll() is not None:
            self._reader.join(1)
            return True
        if self.stop_deadline is not None and time.monotonic() > self.stop_deadline:
            os.killpg(self.proc.pid, signal.SIGKILL)
        return False

    def cpu_seconds(self) -> float | None:
        """User + system CPU time so far, from /proc (None once it is gone)."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class UnitProcesses:
    """The supervisor's starter (``pools.Starter``): replica ``slot`` of ``unit`` as a child running the
    worker or producer CLI with this control plane's Redis and media folder."""

    def __init__(self, *, redis_url: str, media_root: Path, python: str = sys.executable, cwd: str | None = None):
        self.redis_url = redis_url
        self.media_root = Path(media_root)
        self.python = python
        self.cwd = cwd or os.getcwd()
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "REDIS_URL": redis_url}

    def argv(self, unit: Unit, slot: int) -> list[str]:
        if isinstance(unit, WorkerPool):
            return worker_argv(unit, slot, python=self.python, media_root=self.media_root, redis_url=self.redis_url)
        return producer_argv(unit, python=self.python, redis_url=self.redis_url)

    def __call__(self, label: str, unit: Unit, slot: int) -> Child:
        return Child(label, self.argv(unit, slot), env=self.env, cwd=self.cwd)
