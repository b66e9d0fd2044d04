"""Fixtures for the orchestration tests: the local backend on the session's Redis, and the supervisor as
a real process that sees the test database."""

from __future__ import annotations

import sys

import pytest

from harness.processes import Proc, wait_until
from tests.controlplane.orchestration.fixtures import people_model  # noqa: F401 (fixture)
from tests.support import database_url


@pytest.fixture
def local_backend(redis_url):
    from controlplane.orchestration.backends.local import LocalBackend
    from controlplane.core.redis import get_redis

    return LocalBackend(get_redis())


@pytest.fixture
def supervisor(redis_url, tmp_path):
    """``manage.py supervise`` running against the test Redis and database; stopped (and checked to stop
    cleanly, leaving no child behind) after the test."""
    from controlplane.orchestration import local_store
    from controlplane.core.redis import get_redis

    env = {"REDIS_URL": redis_url, "DATABASE_URL": database_url(), "EI_DATA_DIR": str(tmp_path)}
    proc = Proc([sys.executable, "manage.py", "supervise", "--autoscale-interval", "1", "--grace", "10"],
                tmp_path / "supervisor.log", env)
    wait_until(lambda: get_redis().exists(local_store.SUPERVISOR) or proc.popen.poll() is not None, 60, "the supervisor")
    assert proc.popen.poll() is None, proc.output()
    yield proc
    code = proc.terminate(60)
    assert code == 0, proc.output()[-3000:]
    assert "supervisor: stopped" in proc.output()
