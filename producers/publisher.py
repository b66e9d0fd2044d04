"""Pushes frames into bounded Redis queues and refreshes the producer heartbeat, in one round trip.

Each queue push is one Lua script, so appending, trimming to the newest ``max_queue`` frames and
counting the evicted ones can never interleave with another producer or a worker.
"""

from __future__ import annotations

import redis
from redis.exceptions import NoScriptError

from inference_worker.protocol import frames_key, overflow_key, producer_key, stream_stats_key

HEARTBEAT_TTL = 5

# KEYS: frame list, overflow counter, stream stats hash. ARGV: encoded frame, max queue length.
# Returns how many old frames were evicted. "produced" counts queue pushes, so a frame sent to two
# queues counts twice, as workers count it once per queue.
PUSH_LUA = """
local length = redis.call('RPUSH', KEYS[1], ARGV[1])
local evicted = length - tonumber(ARGV[2])
if evicted > 0 then
  redis.call('LTRIM', KEYS[1], evicted, -1)
  redis.call('INCRBY', KEYS[2], evicted)
else
  evicted = 0
end
redis.call('HINCRBY', KEYS[3], 'produced', 1)
return evicted
"""


class Publisher:
    def __init__(self, client: redis.Redis, stream: str, queues: list[str], max_queue: int) -> None:
        self.client, self.stream, self.queues, self.max_queue = client, stream, queues, max_queue
        self._push = client.register_script(PUSH_LUA)

    def send(self, frame: bytes | None, heartbeat: dict[str, str | int | float] | None) -> int:
        """Push ``frame`` to every queue and/or refresh the heartbeat; returns the frames evicted."""
        try:
            return self._execute(frame, heartbeat)
        except NoScriptError:
            # Redis restarted and lost its script cache: every push failed, so sending again is safe.
            self.client.script_load(PUSH_LUA)
            return self._execute(frame, heartbeat)

    def _execute(self, frame: bytes | None, heartbeat: dict[str, str | int | float] | None) -> int:
        # EVALSHA on a plain pipeline, not Script(client=pipe), which adds a SCRIPT EXISTS round trip.
        pipe = self.client.pipeline(transaction=False)
        if frame is not None:
            stats = stream_stats_key(self.stream)
            for queue in self.queues:
                pipe.evalsha(self._push.sha, 3, frames_key(queue), overflow_key(queue), stats, frame, self.max_queue)
        if heartbeat is not None:
            key = producer_key(self.stream)
            pipe.hset(key, mapping=heartbeat)
            pipe.expire(key, HEARTBEAT_TTL)
        replies = pipe.execute()
        return sum(replies[: len(self.queues)]) if frame is not None else 0

    def clear_heartbeat(self) -> None:
        self.client.delete(producer_key(self.stream))
