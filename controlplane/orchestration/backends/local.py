"""The default backend: units go into Redis for the supervisor (``manage.py supervise``) to run as
processes on this machine; their status comes back the same way. Nothing else to install."""

from __future__ import annotations

import redis

from controlplane.core.redis import get_redis
from controlplane.orchestration import local_store
from controlplane.orchestration.backends.base import BackendError, Observed
from controlplane.orchestration.units import Unit, spec_hash, spec_of, unit_key

NO_SUPERVISOR = "no supervisor is running: start `python manage.py supervise` (`make demo` starts one)"


class LocalBackend:
    name = "local"
    observes_scaling = False  # the supervisor records its own decisions

    def __init__(self, client: redis.Redis):
        self.client = client
        self._recorded = False  # whether Redis says its units are the whole desired state (observe)

    @classmethod
    def from_settings(cls) -> "LocalBackend":
        return cls(get_redis())

    def observe(self) -> dict[str, Observed]:
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.hgetall(local_store.UNITS).hgetall(local_store.STATUS).exists(local_store.SUPERVISOR)
            pipe.exists(local_store.RECONCILED)
            units, statuses, supervised, self._recorded = pipe.execute()
        except redis.RedisError as exc:
            raise self._unreachable(exc) from exc
        observed = {}
        for key, raw in units.items():
            key = key.decode()
            spec_hash_, _ = local_store.decode_unit(raw)
            seen = Observed(spec_hash=spec_hash_, detail=raw.decode())
            status = statuses.get(key.encode())
            if not supervised:
                seen.message = NO_SUPERVISOR
            elif status is None:
                seen.message = "the supervisor is starting it"
            else:
                status = local_store.UnitStatus.decode(status)
                seen.desired, seen.current, seen.ready = status.desired, status.current, status.ready
                seen.error = status.error
                seen.message = status.message if status.hash == spec_hash_ else "restarting with the new spec"
                if status.restarts:
                    seen.conditions = [{"type": "Restarted", "status": "True", "reason": "ProcessExited",
                                        "message": f"restarted {status.restarts} times"}]
            observed[key] = seen
        return observed

    def apply(self, unit: Unit, observed: Observed | None) -> list[str]:
        key = unit_key(unit)
        record = local_store.encode_unit(spec_hash(unit), spec_of(unit))
        if observed is not None and observed.detail == record:
            return []
        self._write(lambda pipe: pipe.hset(local_store.UNITS, key, record))
        return [f"{'created' if observed is None else 'updated'} {key}"]

    def delete(self, key: str, observed: Observed) -> list[str]:
        self._write(lambda pipe: pipe.hdel(local_store.UNITS, key))
        return [f"deleted {key}"]

    def finish(self) -> None:
        if not self._recorded:
            self._write(lambda pipe: pipe.set(local_store.RECONCILED, 1))
            self._recorded = True

    def _write(self, change) -> None:
        try:
            pipe = self.client.pipeline()
            change(pipe)
            pipe.publish(local_store.CHANGED, "1")
            pipe.execute()
        except redis.RedisError as exc:
            raise self._unreachable(exc) from exc

    def _unreachable(self, exc: Exception) -> BackendError:
        where = self.client.connection_pool.connection_kwargs
        return BackendError(f"cannot reach Redis at {where.get('host')}:{where.get('port')}: {exc}")
