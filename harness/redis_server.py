"""A private redis-server: the tests start one on a free port, so does the demo when given no ``REDIS_URL``."""

from __future__ import annotations

from pathlib import Path

from harness.processes import Proc, wait_until
from inference_worker.runtime import REDIS_ERRORS, redis_client


def redis_server_command(port: int, workdir: Path) -> list[str]:
    """On loopback, without persistence: started again, it is empty."""
    return [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(workdir),
    ]


def pings(url: str) -> bool:
    try:
        with redis_client(url, connect_timeout=1) as client:
            return bool(client.ping())
    except REDIS_ERRORS:
        return False


def start_redis_server(port: int, workdir: Path, *, own_session: bool = False) -> Proc:
    """A redis-server of the caller's own, logging to ``<workdir>/redis.log``, once it answers."""
    proc = Proc(redis_server_command(port, workdir), workdir / "redis.log", name="redis", own_session=own_session)
    wait_until(lambda: pings(f"redis://127.0.0.1:{port}/0"), 10, "redis-server")
    return proc
