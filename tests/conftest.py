"""Shared fixtures: a real Redis server on a free port, started once per test session."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import redis

from tests.support import free_port, pings, redis_server_command, wait_until


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A private redis-server, so tests never touch anyone's data."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run `make setup`")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(redis_server_command(port, workdir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: pings(url), 10, "redis-server to start")
    yield {"url": url, "port": port, "proc": proc}
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def redis_url(redis_server) -> str:
    """The test Redis, emptied before each test."""
    redis.Redis.from_url(redis_server["url"]).flushall()
    return redis_server["url"]


@pytest.fixture
def r(redis_url) -> redis.Redis:
    return redis.Redis.from_url(redis_url)
