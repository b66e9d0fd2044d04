"""Test session setup: a private Redis on a free port, and Django pointed at it.

The Redis server starts in ``pytest_configure`` (before pytest-django sets Django up), so settings
that read ``REDIS_URL`` at import time see the test server, never someone's data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import redis

from harness.processes import free_port
from harness.redis_server import start_redis_server
from inference_worker.runtime import redis_client

_server: dict = {}


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    binary = shutil.which("redis-server")
    if binary is None:
        raise pytest.UsageError("redis-server is not installed: run `make setup`")
    workdir = Path(tempfile.mkdtemp(prefix="ei-test-"))
    port = free_port()
    proc = start_redis_server(port, workdir)
    url = f"redis://127.0.0.1:{port}/0"
    _server.update(url=url, port=port, proc=proc, workdir=workdir)
    os.environ["REDIS_URL"] = url
    os.environ["EI_DATA_DIR"] = str(workdir / "data")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.config.settings")
    # pytest-django sets Django up only if it was configured before this hook; it was not, so do it
    # here, before test modules that import models are collected.
    import django

    django.setup()


def pytest_unconfigure(config):
    if _server:
        _server["proc"].terminate(10)
        shutil.rmtree(_server["workdir"], ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server():
    """The session's private redis-server: ``url``, ``port`` and ``proc``."""
    return _server


@pytest.fixture
def redis_url(redis_server) -> str:
    """The test Redis, emptied before each test."""
    redis_client(redis_server["url"]).flushall()
    return redis_server["url"]


@pytest.fixture
def r(redis_url) -> redis.Redis:
    return redis_client(redis_url)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """On SQLite the test database is a file in the session's workdir, not Django's in-memory default, so
    processes a test starts (a Celery worker) see its rows; such a test needs ``transaction=True``."""
    from django.db import connections

    settings_dict = connections["default"].settings_dict
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        settings_dict["TEST"]["NAME"] = os.path.join(os.environ["EI_DATA_DIR"], "test-db.sqlite3")
