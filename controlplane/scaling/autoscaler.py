"""The HorizontalPodAutoscaler's rule, for the local backend: the same decision Kubernetes would make
from the same policy and metrics, so moving to Kubernetes changes where workers run, not how many.

    desired = ceil(current * metric / target), unchanged within the tolerance, within [min, max];
    scaling up takes the lowest recommendation of the scale-up window and scaling down the highest of the
    scale-down window (Kubernetes' stabilisation), so a short spike or dip does not flap the pool.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

TOLERANCE = 0.1  # the HPA controller's default --horizontal-pod-autoscaler-tolerance


@dataclass(frozen=True)
class Decision:
    desired: int
    recommendation: int  # the rule's raw answer before stabilisation and bounds
    reason: str


def recommend(*, current: int, metric: float, target: float) -> int:
    """The HPA rule for one reading, before stabilisation and bounds."""
    ratio = metric / target
    if abs(ratio - 1.0) <= TOLERANCE:
        return current
    return math.ceil(current * ratio)


class Autoscaler:
    """One pool's recommendations over time. Feed it readings with :meth:`decide`."""

    def __init__(self) -> None:
        self._history: deque[tuple[float, int]] = deque()

    def decide(self, *, now: float, current: int, metric: float, target: float, min_replicas: int,
               max_replicas: int, up_window: float, down_window: float) -> Decision:
        raw = recommend(current=current, metric=metric, target=target)
        self._history.append((now, raw))
        horizon = now - max(up_window, down_window)
        while self._history and self._history[0][0] < horizon:
            self._history.popleft()
        up_floor = min(r for t, r in self._history if t >= now - up_window)
        down_ceiling = max(r for t, r in self._history if t >= now - down_window)
        stabilized = min(max(current, up_floor), down_ceiling)
        desired = min(max(stabilized, min_replicas), max_replicas)
        wanted = min(max(raw, min_replicas), max_replicas)  # what the rule alone would do
        why = f"{metric:.2f} per replica against a target of {target:g}"
        if desired < wanted:
            why += f" (held at {desired} by the {up_window:g} s scale-up window)"
        elif desired > wanted:
            why += f" (held at {desired} by the {down_window:g} s scale-down window)"
        elif raw > max_replicas:
            why += f"; capped at the maximum of {max_replicas}"
        elif raw < min_replicas:
            why += f"; raised to the minimum of {min_replicas}"
        return Decision(desired=desired, recommendation=raw, reason=why)
