"""A real control plane on a free port, for tests and benchmarks: daphne and the relay as processes.

They cannot see pytest-django's test database, so they share a migrated SQLite file of their own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import REPO, Proc, free_port, wait_until

SETUP = """
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from controlplane.streams.models import Stream
for name in {streams!r}:
    Stream.objects.get_or_create(name=name, defaults={{"source_kind": "external", "queue": "people"}})
user, _ = User.objects.get_or_create(username="watcher")
print(Token.objects.get_or_create(user=user)[0].key)
"""


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@dataclass
class LiveSite:
    workdir: Path
    redis_url: str
    port: int = 0
    token: str = ""
    procs: list[Proc] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {
            "DJANGO_SETTINGS_MODULE": "controlplane.config.settings", "REDIS_URL": self.redis_url,
            "EI_DATA_DIR": str(self.workdir), "DATABASE_URL": f"sqlite:///{self.workdir / 'db.sqlite3'}",
        }

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO, env={**os.environ, **self.env},
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def add_streams(self, *names: str) -> str:
        """Create stream rows (and the token user); returns the token key."""
        return self.manage("shell", "--no-imports", "-c", SETUP.format(streams=list(names))).split()[-1]

    def start(self, *streams: str) -> LiveSite:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput")
        self.token = self.add_streams(*streams)
        self.port = free_port()
        daphne = Path(sys.executable).with_name("daphne")
        self.procs.append(Proc(
            [str(daphne), "-b", "127.0.0.1", "-p", str(self.port), "controlplane.config.asgi:application"],
            self.workdir / "daphne.log", self.env,
        ))
        wait_until(lambda: _accepts(self.port), 60, "daphne to listen")
        relay = Proc([sys.executable, "manage.py", "relay", "--refresh", "0.2"], self.workdir / "relay.log", self.env)
        self.procs.append(relay)
        # Streams it finds at start-up start at "now": results written before that are not relayed.
        wait_until(lambda: all(f"relaying stream {name} " in relay.output() for name in streams), 60, "the relay")
        return self

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def stop(self) -> dict[str, int]:
        """SIGTERM to each process; their exit codes by log name."""
        return {proc.log_path.stem: proc.terminate() for proc in reversed(self.procs)}

