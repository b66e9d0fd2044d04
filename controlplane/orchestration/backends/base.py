"""What the reconciler needs from a backend, and what a backend tells it about the units it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from controlplane.orchestration.units import Unit


class BackendError(Exception):
    """The backend refused or could not be reached; the message is shown to the user as the status."""


@dataclass
class Observed:
    """One unit as the backend runs it now. Replica counts are None where the backend cannot tell yet."""

    spec_hash: str
    desired: int | None = None  # what the autoscaler or HPA wants
    current: int | None = None  # processes or pods that exist
    ready: int | None = None  # of those, the ones doing work
    error: str = ""  # why the unit is failing now, "" when it is not
    message: str = ""  # what it waits for while not failing, e.g. "no supervisor is running"
    conditions: list[dict] = field(default_factory=list)  # e.g. HPA conditions: type, status, reason, message
    scaling: dict | None = None  # the last scaling the backend did: metric_value, reason, time (for events)
    detail: Any = None  # the backend's own data (live objects), handed back to apply() and delete()


class Backend(Protocol):
    name: str
    #: True where the backend scales on its own (an HPA) and the reconciler records what it observes;
    #: the local supervisor records its own decisions.
    observes_scaling: bool

    def observe(self) -> dict[str, Observed]:
        """Every unit this backend owns now, by ``unit_key``. Raises BackendError when unreachable."""

    def apply(self, unit: Unit, observed: Observed | None) -> list[str]:
        """Create or update what differs from ``unit``; return one line per write (none when equal)."""

    def delete(self, key: str, observed: Observed) -> list[str]:
        """Remove an owned unit no longer desired; return one line per write."""

    def finish(self) -> None:
        """After a pass whose writes all succeeded: record, where the backend's store can lose it, that
        what it holds is the whole desired state. Writes nothing when that is recorded already."""
