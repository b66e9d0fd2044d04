"""What every long-running process shares: one-line logs, Redis with backoff, and a clean stop on SIGTERM.

Producers import this module too; it must stay free of OpenVINO and Django.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Callable
from typing import TypeVar

import redis
import redis.asyncio

T = TypeVar("T")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)

log = logging.getLogger("ei.runtime")


def setup_logging(name: str) -> logging.Logger:
    """One line per event, with time, process name and level; ``EI_LOG_LEVEL`` sets the level."""
    logging.basicConfig(
        level=os.environ.get("EI_LOG_LEVEL", "INFO").upper(),
        format=f"%(asctime)s {name}[%(process)d] %(levelname)s %(message)s",
    )
    return logging.getLogger(name)


def env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def redis_client(url: str, *, timeout: float = 30, connect_timeout: float = 5, asyncio: bool = False):
    """The one way every process of the project makes a Redis client. The default socket timeout outlasts
    the blocking pops and reads of the long-running processes; request handlers pass a shorter one, so a
    request fails fast when Redis is away. ``asyncio`` gives a ``redis.asyncio.Redis``."""
    factory = redis.asyncio.Redis if asyncio else redis.Redis
    return factory.from_url(url, socket_timeout=timeout, socket_connect_timeout=connect_timeout, health_check_interval=15)


class StopFlag:
    """Set by SIGTERM or SIGINT; loops poll it between units of work and finish what is in flight."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def install(self) -> StopFlag:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: self.set(signal.Signals(signum).name))
        return self

    def set(self, why: str = "stop") -> None:
        if not self._event.is_set():
            log.info("stopping (%s): finishing in-flight work", why)
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)


class Backoff:
    """Exponential backoff for reconnecting, logging the outage once and the recovery once."""

    def __init__(self, what: str, logger: logging.Logger, base: float = 0.1, cap: float = 5.0):
        self.what, self.log, self.base, self.cap = what, logger, base, cap
        self.failures = 0

    def note(self, exc: Exception) -> float:
        """Count a failure, log the first of a run, and return how long to wait before the next try."""
        delay = min(self.cap, self.base * 2 ** min(self.failures, 16))
        if self.failures == 0:
            self.log.warning("%s unavailable (%s); retrying with backoff", self.what, exc)
        self.failures += 1
        return delay

    def failed(self, exc: Exception, stop: StopFlag) -> None:
        stop.wait(self.note(exc))

    def succeeded(self) -> None:
        if self.failures:
            self.log.info("%s reachable again after %d retries", self.what, self.failures)
        self.failures = 0


def with_redis_retry(call: Callable[[], T], backoff: Backoff, stop: StopFlag) -> T | None:
    """Run ``call`` until it succeeds or the process is asked to stop (then return None)."""
    while not stop.is_set():
        try:
            result = call()
        except REDIS_ERRORS as exc:
            backoff.failed(exc, stop)
            continue
        backoff.succeeded()
        return result
    return None


class SlidingWindow:
    """Timestamped samples kept for ``seconds``; rates and percentiles are computed on read.

    With ``started``, a rate read before a whole window has passed is over the time elapsed since then,
    so it does not ramp up from zero.
    """

    def __init__(self, seconds: float, started: float | None = None):
        self.seconds = seconds
        self.started = started
        self._samples: deque[tuple[float, float]] = deque()

    def add(self, value: float, now: float) -> None:
        self._samples.append((now, value))

    def _trim(self, now: float) -> None:
        while self._samples and self._samples[0][0] < now - self.seconds:
            self._samples.popleft()

    def total(self, now: float) -> float:
        self._trim(now)
        return sum(v for _, v in self._samples)

    def rate(self, now: float) -> float:
        span = self.seconds if self.started is None else min(self.seconds, now - self.started)
        return self.total(now) / span if span > 0 else 0.0

    def percentile(self, q: float, now: float) -> float:
        self._trim(now)
        values = sorted(v for _, v in self._samples)
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(q * len(values)))]
