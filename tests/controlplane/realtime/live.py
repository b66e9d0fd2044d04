"""A real control plane on a free port, for tests and benchmarks: the web server as a process.

They cannot see pytest-django's test database, so they share a migrated SQLite file of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.control_plane import ControlPlane
from harness.processes import wait_until

SETUP = """
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from controlplane.streams.models import Stream
for name in {streams!r}:
    Stream.objects.get_or_create(name=name, defaults={{"source_kind": "external", "queue": "people"}})
user, _ = User.objects.get_or_create(username="watcher")
print(Token.objects.get_or_create(user=user)[0].key)
"""


@dataclass
class LiveSite(ControlPlane):
    token: str = ""

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, "DATABASE_URL": f"sqlite:///{self.workdir / 'db.sqlite3'}"}

    def add_streams(self, *names: str) -> str:
        """Create stream rows (and the token user); returns the token key."""
        return self.manage("shell", "--no-imports", "-c", SETUP.format(streams=list(names))).split()[-1]

    def start(self, *streams: str) -> LiveSite:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput")
        self.token = self.add_streams(*streams)
        self.web()
        wait_until(self.listening, 60, "the web server to listen")
        return self
