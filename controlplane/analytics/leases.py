"""Which analyzer owns which stream: a lease per stream in Redis, taken with SET NX, kept by renewing it.

An analyzer that dies stops renewing, so its streams are free again within ``ttl`` seconds. Renewal and
release check the owner in one script: a lease that expired and was taken by another is never touched.
"""

from __future__ import annotations

from inference_worker.protocol import KEY_PREFIX

_RENEW = """
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    held[#held + 1] = key
  end
end
return held
"""
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def lease_key(stream: str) -> str:
    return f"{KEY_PREFIX}:analytics:lease:{stream}"


class Leases:
    def __init__(self, client, owner: str, ttl: float):
        self.client, self.owner, self.ttl_ms = client, owner, int(ttl * 1000)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def acquire(self, stream: str) -> bool:
        return bool(self.client.set(lease_key(stream), self.owner, nx=True, px=self.ttl_ms))

    def renew(self, streams) -> set[str]:
        """The streams of ``streams`` still ours, their leases extended."""
        streams = list(streams)
        if not streams:
            return set()
        held = self._renew(keys=[lease_key(s) for s in streams], args=[self.owner, self.ttl_ms])
        prefix = len(lease_key(""))
        return {key.decode()[prefix:] for key in held}

    def release(self, stream: str) -> None:
        self._release(keys=[lease_key(stream)], args=[self.owner])

    def owner_of(self, stream: str) -> str | None:
        value = self.client.get(lease_key(stream))
        return value.decode() if value else None
