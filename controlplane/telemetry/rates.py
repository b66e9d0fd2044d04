"""Rates of ever-growing counters, from successive reads in this process."""

from __future__ import annotations

import threading
import time


class CounterRates:
    """Per key, the rate between two reads at least ``min_span`` seconds apart.

    Reads closer together reuse the last rate, so a dashboard polling fast gets a steady figure
    instead of the noise of a few milliseconds. A counter that went down (Redis flushed) starts over.
    """

    def __init__(self, min_span: float = 1.0):
        self.min_span = min_span
        self._lock = threading.Lock()
        self._anchors: dict[str, tuple[float, int, float | None]] = {}

    def update(self, values: dict[str, int]) -> dict[str, float | None]:
        """Record one reading of every counter; return each one's rate, None until two reads span enough.

        Keys missing from ``values`` are forgotten, so vanished counters do not pile up.
        """
        now = time.monotonic()
        with self._lock:
            anchors: dict[str, tuple[float, int, float | None]] = {}
            for key, value in values.items():
                since, base, rate = self._anchors.get(key, (now, value, None))
                if value < base:
                    since, base, rate = now, value, None
                elif now - since >= self.min_span:
                    since, base, rate = now, value, (value - base) / (now - since)
                anchors[key] = (since, base, rate)
            self._anchors = anchors
        return {key: rate for key, (_, _, rate) in anchors.items()}
