"""The recent past of each inference service's pool, for the dashboard's charts.

Every ``INTERVAL_SECONDS`` a sample of the live figures (``selectors.service_metrics_list``) is appended
to a Redis list per service, ``ei:history:<service>``, as JSON ``{"t", "replicas", "infer_fps",
"drop_fps", "scale_ratio"}``. A list keeps 30 minutes and expires once nobody writes it, so a deleted
service leaves nothing behind. Redis connection errors propagate.
"""

from __future__ import annotations

import json
import time

from controlplane.core.redis import get_redis
from controlplane.telemetry.selectors import service_metrics_list
from inference_worker import protocol

INTERVAL_SECONDS = 5
RETENTION_SECONDS = 30 * 60
MAX_SAMPLES = RETENTION_SECONDS // INTERVAL_SECONDS
KEY_TTL_SECONDS = RETENTION_SECONDS + 5 * 60
FIGURES = ("replicas", "infer_fps", "drop_fps", "scale_ratio")

# KEYS: the service's list. ARGV: sample JSON, its time, interval, samples kept, TTL.
# At most one sample per interval slot, in time order: two beats of one slot (or a late one) write once.
APPEND_SAMPLE_LUA = """
local slot = math.floor(tonumber(ARGV[2]) / tonumber(ARGV[3]))
local newest = redis.call('LINDEX', KEYS[1], -1)
if newest and math.floor(cjson.decode(newest).t / tonumber(ARGV[3])) >= slot then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[4]), -1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1
"""


def history_key(service: str) -> str:
    return f"{protocol.KEY_PREFIX}:history:{service}"


def fleet_history_record(*, now: float | None = None) -> int:
    """Append one sample per inference service, taken ``now``; returns how many were new for their slot."""
    t = round(time.time() if now is None else now, 3)
    services = service_metrics_list()
    client = get_redis()
    script = client.register_script(APPEND_SAMPLE_LUA)
    pipe = client.pipeline(transaction=False)
    for service in services:
        sample = json.dumps({"t": t, **{figure: service[figure] for figure in FIGURES}})
        script(keys=[history_key(service["name"])],
               args=[sample, t, INTERVAL_SECONDS, MAX_SAMPLES, KEY_TTL_SECONDS], client=pipe)
    return sum(pipe.execute())


def service_history(*, service: str, minutes: int) -> list[dict]:
    """The service's samples of the last ``minutes``, oldest first (none for a service never sampled)."""
    since = time.time() - minutes * 60
    samples = (json.loads(raw) for raw in get_redis().lrange(history_key(service), 0, -1))
    return [sample for sample in samples if sample["t"] >= since]
