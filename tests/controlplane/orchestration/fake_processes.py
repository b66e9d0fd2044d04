"""A starter for the supervisor's pools that spawns nothing: each "process" is a record the test ends,
ages and reads, on a clock the test moves."""

from __future__ import annotations

import itertools

from controlplane.orchestration.units import Unit


class FakeProcess:
    def __init__(self, starts: FakeStarts, label: str, unit: Unit, slot: int, pid: int):
        self.starts, self.label, self.unit, self.slot, self.pid = starts, label, unit, slot, pid
        self.started = starts.now
        self.last_line = ""
        self.code: int | None = None
        self.grace: float | None = None  # set once asked to stop
        self.cpu: float | None = 0.0

    def exit(self, code: int, last_line: str = "") -> None:
        self.code, self.last_line = code, last_line

    def exit_code(self) -> int | None:
        return self.code

    def uptime(self) -> float:
        return self.starts.now - self.started

    def terminate(self, grace: float) -> None:
        self.grace = grace

    def reap(self) -> bool:
        return self.code is not None

    def cpu_seconds(self) -> float | None:
        return self.cpu


class FakeStarts:
    """The pools' ``Starter``: every process it started, oldest first."""

    def __init__(self) -> None:
        self.now = 0.0
        self.started: list[FakeProcess] = []
        self._pids = itertools.count(1000)

    def __call__(self, label: str, unit: Unit, slot: int) -> FakeProcess:
        process = FakeProcess(self, label, unit, slot, next(self._pids))
        self.started.append(process)
        return process

    def labels(self) -> list[str]:
        return [process.label for process in self.started]
