"""The control plane's shared Redis client, and what an API view answers when Redis is away.

Any app may use these: ``get_redis()`` for a client, ``RedisOutageAs503`` on a DRF view so that an
unreachable Redis is a 503 in the project's error shape rather than a 500.
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings
from rest_framework.exceptions import APIException

from inference_worker.runtime import REDIS_ERRORS, redis_client


@functools.lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # A request must fail fast when Redis is away, so connecting gets less time than redis-py's default.
    return redis_client(url, timeout=5, connect_timeout=2)


def get_redis() -> redis.Redis:
    """A client (with its connection pool) shared per ``settings.REDIS_URL``; a changed URL gets its own."""
    return _client(settings.REDIS_URL)


class RedisUnavailable(APIException):
    status_code = 503
    default_code = "redis_unavailable"
    default_detail = "Redis is unreachable, so live fleet data is unavailable; try again shortly."


class RedisOutageAs503:
    """DRF view mixin: Redis connection errors and timeouts become :class:`RedisUnavailable`."""

    def handle_exception(self, exc):
        if isinstance(exc, REDIS_ERRORS):
            exc = RedisUnavailable()
        return super().handle_exception(exc)
