"""The live fleet as the data plane reports it in Redis, joined with the desired state in the database.

Everything is computed on read from the keys of the wire protocol (see README, "Wire protocol"):
worker heartbeats, per-stream counters, producer heartbeats, queued frames and recent results.
Redis connection errors propagate; views turn them into a 503.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict

import msgpack
import redis

from controlplane.inference.models import InferenceService
from controlplane.streams.models import Stream
from controlplane.telemetry.rates import CounterRates
from controlplane.core.redis import get_redis
from inference_worker import protocol
from inference_worker.fleet import live_workers

RESULTS_SAMPLE = 50
# protocol.encode_frame writes ``v`` and ``stream`` (at most 64 characters) before the JPEG, so the
# head of a frame names its stream without moving the picture out of Redis.
FRAME_HEAD_BYTES = 128

# KEYS: frame lists. ARGV: bytes to keep. The head of every queued frame, list by list.
QUEUED_HEADS_LUA = """
local heads = {}
for i, key in ipairs(KEYS) do
  local list = {}
  for _, frame in ipairs(redis.call('LRANGE', key, 0, -1)) do
    list[#list + 1] = string.sub(frame, 1, tonumber(ARGV[1]))
  end
  heads[i] = list
end
return heads
"""

# KEYS: result streams. ARGV: how many. The ``meta`` of the newest results, stream by stream,
# leaving their JPEGs in Redis.
RECENT_METAS_LUA = """
local metas = {}
for i, key in ipairs(KEYS) do
  local list = {}
  for _, entry in ipairs(redis.call('XREVRANGE', key, '+', '-', 'COUNT', tonumber(ARGV[1]))) do
    local fields = entry[2]
    for j = 1, #fields, 2 do
      if fields[j] == 'meta' then list[#list + 1] = fields[j + 1] end
    end
  end
  metas[i] = list
end
return metas
"""

_input_rates = CounterRates()


def worker_list(*, queue: str | None = None) -> list[dict]:
    """Live workers (``protocol.Heartbeat``'s fields, sorted by queue then id), each with the ``service``
    serving its queue."""
    services = dict(InferenceService.objects.values_list("queue", "name"))
    workers = live_workers(get_redis())
    return [
        {**worker, "service": services.get(worker["queue"])}
        for worker in workers
        if queue is None or worker["queue"] == queue
    ]


def service_metrics_list() -> list[dict]:
    """Every inference service with its live pool, including services with no worker.

    Rates add up over the pool; the scale ratio is the pool's mean (0 with no worker: no load), as the
    HPA averages it per replica; latencies are the worst worker's, since a mean of medians is no median.
    """
    pools: dict[str, list[dict]] = defaultdict(list)
    for worker in live_workers(get_redis()):
        pools[worker["queue"]].append(worker)
    return [
        {"name": name, "queue": queue, **_pool_figures(pools.get(queue, []))}
        for name, queue in InferenceService.objects.values_list("name", "queue")
    ]


def _pool_figures(pool: list[dict]) -> dict:
    def values(field: str) -> list[float]:
        return [worker[field] for worker in pool]

    return {
        "replicas": len(pool),
        "infer_fps": round(sum(values("infer_fps")), 2),
        "drop_fps": round(sum(values("drop_fps")), 2),
        "scale_ratio": round(statistics.fmean(values("scale_ratio")), 3) if pool else 0.0,
        "latency_p50_ms": max(values("latency_p50_ms")) if pool else None,
        "latency_p99_ms": max(values("latency_p99_ms")) if pool else None,
    }


def stream_metrics_list() -> list[dict]:
    """Every stream on record or seen in Redis: input rate, frame accounting and capture-to-result latency."""
    client = get_redis()
    seen = _protocol_keys(client)
    on_record = dict(Stream.objects.values_list("name", "queue"))
    queued = _queued_by_stream(client, sorted(seen["frames"]))
    names = sorted(set(on_record) | seen["stats"] | seen["results"] | seen["producers"] | set(queued))

    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(protocol.stream_stats_key(name))
        pipe.hgetall(protocol.producer_key(name))
    replies = pipe.execute()
    metas = _recent_metas(client, names)
    stats = {name: _decoded(raw) for name, raw in zip(names, replies[::2])}
    producers = {name: _decoded(raw) for name, raw in zip(names, replies[1::2])}
    rates = _input_rates.update({name: int(stats[name].get("produced", 0)) for name in names})

    return [
        _stream_row(name, stats=stats[name], producer=producers[name], metas=metas[name], queued=queued[name],
                    counted_rate=rates[name], record_queue=on_record.get(name))
        for name in names
    ]


def _stream_row(name: str, *, stats: dict, producer: dict, metas: list[dict], queued: int,
                counted_rate: float | None, record_queue: str | None) -> dict:
    counts = {field: int(stats.get(field, 0)) for field in ("produced", "inferred", "expired", "rejected")}
    if producer:
        queues = set(filter(None, producer.get("queues", "").split(",")))
    else:
        queues = {record_queue} if record_queue else set()
        queues |= {meta["queue"] for meta in metas if isinstance(meta.get("queue"), str)}
    if producer.get("fps"):
        input_fps, source = float(producer["fps"]), "producer"
    elif counted_rate is not None:
        # "produced" counts one per queue a frame went to; the input rate counts frames.
        input_fps, source = round(counted_rate / max(1, len(queues)), 2), "counters"
    else:
        input_fps, source = None, None
    accounted = counts["inferred"] + counts["expired"] + counts["rejected"] + queued
    latencies = [(meta["ts_done"] - meta["ts_capture"]) * 1000 for meta in metas]
    return {
        "name": name, "queues": sorted(queues), "input_fps": input_fps, "input_fps_source": source,
        **counts, "queued": queued, "overflow": max(0, counts["produced"] - accounted),
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
    }


def _decoded(raw: dict[bytes, bytes]) -> dict[str, str]:
    return {key.decode(): value.decode(errors="replace") for key, value in raw.items()}


def _protocol_keys(client: redis.Redis) -> dict[str, set[str]]:
    """Queue and stream names found in the protocol's keys, by kind."""
    prefixes = {
        "frames": protocol.frames_key(""), "stats": protocol.stream_stats_key(""),
        "results": protocol.results_key(""), "producers": protocol.producer_key(""),
    }
    found: dict[str, set[str]] = {kind: set() for kind in prefixes}
    for key in client.scan_iter(match=f"{protocol.KEY_PREFIX}:*", count=1000):
        key = key.decode(errors="replace")
        for kind, prefix in prefixes.items():
            name = key[len(prefix):]
            if key.startswith(prefix) and protocol.valid_name(name):
                found[kind].add(name)
    return found


def _queued_by_stream(client: redis.Redis, queues: list[str]) -> Counter[str]:
    """How many frames of each stream wait in the queues."""
    if not queues:
        return Counter()
    script = client.register_script(QUEUED_HEADS_LUA)
    heads = script(keys=[protocol.frames_key(queue) for queue in queues], args=[FRAME_HEAD_BYTES])
    return Counter(filter(None, (_frame_stream(head) for queue_heads in heads for head in queue_heads)))


def _frame_stream(head: bytes) -> str | None:
    """The stream named in the first bytes of an encoded frame, or None when they name none."""
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(head)
    try:
        for _ in range(unpacker.read_map_header()):
            key = unpacker.unpack()
            if key == "stream":
                stream = unpacker.unpack()
                return stream if protocol.valid_name(stream) else None
            unpacker.skip()
    except Exception:  # msgpack raises several unrelated types on garbage and on cut-off input
        return None
    return None


def _recent_metas(client: redis.Redis, names: list[str]) -> dict[str, list[dict]]:
    """The newest results' usable metadata, per stream."""
    if not names:
        return {}
    script = client.register_script(RECENT_METAS_LUA)
    replies = script(keys=[protocol.results_key(name) for name in names], args=[RESULTS_SAMPLE])
    return {name: [meta for meta in map(_meta, raw_metas) if meta] for name, raw_metas in zip(names, replies)}


def _meta(raw: bytes) -> dict | None:
    """A result's meta when it parses and carries both timestamps, else None."""
    try:
        meta = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    stamps = meta.get("ts_done"), meta.get("ts_capture")
    return meta if all(isinstance(ts, (int, float)) for ts in stamps) else None
