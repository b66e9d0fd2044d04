"""The whole control plane as real processes, for the browser tests: ``LiveSite`` (the web server)
plus a Celery worker with beat (model validation, reconciles, periodic tasks) and the supervisor, which
runs the worker fleet and the producers the database asks for.

It seeds three users (an admin, an operator who may write, a viewer who may not), a scaling policy and
an enabled ``people`` service on the built-in people model.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from controlplane.orchestration import local_store
from harness.processes import Proc, wait_until
from inference_worker.runtime import redis_client
from tests.controlplane.realtime.live import LiveSite

PASSWORDS = {"admin": "admin-browser-pass-1", "operator": "operator-browser-pass-1", "viewer": "viewer-browser-pass-1"}
POLICY = "default"
SERVICE = "people"

SEED = """
from django.contrib.auth.models import Permission, User
from rest_framework.authtoken.models import Token
from controlplane.registry.models import InferenceModel
from controlplane.inference.actions import inference_service_create
from controlplane.scaling.actions import policy_create

passwords = {passwords!r}
admin = User.objects.create_superuser("admin", password=passwords["admin"])
operator = User.objects.create_user("operator", password=passwords["operator"])
writable = ("streams", "registry", "inference", "scaling")
operator.user_permissions.set(Permission.objects.filter(content_type__app_label__in=writable))
User.objects.create_user("viewer", password=passwords["viewer"])
policy = policy_create(name={policy!r}, min_replicas=1, max_replicas=1, metric="scale_ratio", target_value=1.0)
inference_service_create(name={service!r}, queue="people", model=InferenceModel.objects.get(builtin="builtin:people"),
                         scaling_policy=policy)
print(Token.objects.create(user=admin).key)
"""


@dataclass
class System(LiveSite):
    admin_token: str = ""

    def start(self, *streams: str) -> System:
        super().start(*streams)
        seed = SEED.format(passwords=PASSWORDS, policy=POLICY, service=SERVICE)
        self.admin_token = self.manage("shell", "--no-imports", "-c", seed).split()[-1]
        celery = self.celery("-l", "info")
        supervisor = self.supervisor("--autoscale-interval", "1", "--grace", "10")
        wait_until(lambda: " ready." in celery.output() or celery.popen.poll() is not None, 90, "the Celery worker")
        client = redis_client(self.redis_url)
        wait_until(lambda: client.exists(local_store.SUPERVISOR) or supervisor.popen.poll() is not None, 60,
                   "the supervisor")
        for proc in (celery, supervisor):
            assert proc.popen.poll() is None, proc.output()[-3000:]
        # The service's reconcile was queued when its row committed; the worker it starts loads its model.
        wait_until(lambda: self.api("GET", f"/api/services/{SERVICE}/")["status"] == "ready", 180,
                   f"the {SERVICE} service to be ready")
        return self

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """A JSON API call as the admin, by token (as a script would); the decoded body, {} for none."""
        request = urllib.request.Request(
            self.base_url + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Token {self.admin_token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            content = response.read()
        return json.loads(content) if content else {}

    @contextmanager
    def web_down(self) -> Iterator[None]:
        """The web server is stopped inside the block and started again on the same port after it, even on failure."""
        index, old = next((i, p) for i, p in enumerate(self.procs) if p.name.startswith("web"))
        assert old.terminate() == 0, old.output()[-3000:]
        wait_until(lambda: not self.listening(), 30, "the web server's port to close")
        try:
            yield
        finally:
            log_path = old.log_path.with_stem(old.log_path.stem + "-again")
            self.procs[index] = Proc(list(old.popen.args), log_path, self.env)
            wait_until(self.listening, 60, "the web server to listen again")


@contextmanager
def running_system(redis_url: str, workdir: Path) -> Iterator[System]:
    """The system started on ``redis_url``; afterwards every process must stop cleanly on SIGTERM."""
    running = System(workdir, redis_url)
    try:
        yield running.start()
    finally:
        exits = running.stop()
    assert set(exits.values()) == {0}, f"every process stops cleanly on SIGTERM: {exits}"
