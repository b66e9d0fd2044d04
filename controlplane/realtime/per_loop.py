"""Objects that belong to an event loop (their tasks and Redis clients do): a web process has one loop,
each async test its own."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """Calling it gives the running loop's instance of ``factory()``, made on first use."""

    def __init__(self, factory: Callable[[], T]):
        self._factory = factory
        self._instances: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def __call__(self) -> T:
        loop = asyncio.get_running_loop()
        instance = self._instances.get(loop)
        if instance is None:
            instance = self._instances[loop] = self._factory()
        return instance

    def clear(self) -> None:
        """Forget every instance: the next call makes a new one (a test that patched the factory's settings)."""
        self._instances.clear()
