"""Where the local backend and the supervisor meet: Redis keys, like an API server for one machine.

The reconciler writes each desired unit into ``ei:local:units`` (unit key -> JSON ``{"hash", "spec"}``);
the supervisor runs processes for them and reports into ``ei:local:status`` (unit key -> JSON of
:class:`UnitStatus`), and keeps ``ei:local:supervisor`` alive while it runs. A publish on
``ei:local:changed`` wakes the supervisor at once instead of at its next poll. JSON only.

``ei:local:reconciled`` says the units are the whole desired state: the reconciler sets it after a
pass has written them all. A Redis that restarted empty lacks it, and then an absent unit means
"not written again yet", not "no longer wanted": the supervisor stops nothing until it is back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

UNITS = "ei:local:units"
STATUS = "ei:local:status"
SUPERVISOR = "ei:local:supervisor"
CHANGED = "ei:local:changed"
RECONCILED = "ei:local:reconciled"
SUPERVISOR_TTL = 5  # seconds without a refresh after which the supervisor counts as gone


@dataclass(frozen=True)
class UnitStatus:
    hash: str  # the spec hash the processes run
    desired: int
    current: int
    ready: int
    restarts: int = 0
    error: str = ""
    message: str = ""

    def encode(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def decode(cls, raw: bytes | str) -> "UnitStatus":
        return cls(**json.loads(raw))


def encode_unit(spec_hash: str, spec: dict) -> str:
    return json.dumps({"hash": spec_hash, "spec": spec}, sort_keys=True, separators=(",", ":"))


def decode_unit(raw: bytes | str) -> tuple[str, dict]:
    value = json.loads(raw)
    return value["hash"], value["spec"]
