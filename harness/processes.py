"""Child processes of ours: starting them from the repository, waiting until they are ready, stopping them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition", interval: float = 0.05) -> T:
    """Poll until ``predicate`` returns something truthy, and return that; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def free_port(preferred: int = 0) -> int:
    """A loopback TCP port nothing is bound to: ``preferred`` if it is free, else one the system picks."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accepts(port: int) -> bool:
    """Whether something listens on the loopback ``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


class Proc:
    """A child process of ours, run from the repository, known by ``name`` (by default its log's stem).

    Its output goes to ``log_path``, kept for assertions and post-mortems; without one, it goes where ours
    goes. ``own_session``: a Ctrl-C in our terminal reaches only us, and we stop it in our own order.
    """

    def __init__(self, args: list[str], log_path: Path | None, env: dict[str, str] | None = None, *,
                 name: str = "", own_session: bool = False):
        self.log_path = log_path
        self.name = name or log_path.stem
        self._log = log_path.open("wb") if log_path else None
        self.popen = subprocess.Popen(
            args, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT if self._log else None,
            env={**os.environ, **(env or {})}, start_new_session=own_session,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal_stop(self) -> None:
        """SIGTERM, unless it has exited already."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        """Its exit code once it has exited (TimeoutExpired if it has not in ``timeout`` seconds)."""
        try:
            return self.popen.wait(timeout)
        finally:
            self._close_log()

    def terminate(self, timeout: float = 30.0) -> int:
        self.signal_stop()
        return self.wait(timeout)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log:
            self._log.close()


def stop_all(procs: Iterable[Proc], timeout: float) -> dict[str, int]:
    """SIGTERM to each at once, so that they stop side by side; their exit codes by name once they have
    stopped. One still running after ``timeout`` seconds is killed (its code is then ``-SIGKILL``)."""
    procs = list(procs)
    for proc in procs:
        proc.signal_stop()
    codes = {}
    for proc in procs:
        try:
            codes[proc.name] = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            codes[proc.name] = proc.popen.returncode
    return codes
