"""Websocket fan-out: results per second delivered to M clients across S streams, and delivery latency.

In one run, the same load on each stack: S result streams fed at a fixed rate with ~50 KB JPEGs, and M
``websockets`` clients spread evenly over the streams, each reading every binary message
``[length][meta JSON][JPEG]``. Latency is publish time (the meta's ``ts_done``, set just before the
XADD) to the client's receipt.

(a) ours:     the web server as deployed (uvicorn, the auth middleware, StreamConsumer and the process's
              feed of each stream, reading Redis itself);
(b) baseline: the least a relay can do, one process: redis-py asyncio XREAD and a ``websockets``
              server broadcasting the same messages to each stream's clients (no auth, no buffer).

It also prints the server side's CPU time (including redis-server) per 1000 delivered messages.
The last line is ``ours_msgs_per_s=<x> baseline_msgs_per_s=<y> ratio=<x/y> ours_p50_ms=..
ours_p99_ms=.. base_p50_ms=.. base_p99_ms=..``.

    .venv/bin/python bench/relay_fanout.py --streams 3 --clients 30 --fps 30 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio
from websockets.asyncio.client import connect
from websockets.asyncio.server import broadcast, serve

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from controlplane.realtime.wire import Result, parse_binary_message  # noqa: E402
from inference_worker import protocol  # noqa: E402
from tests.controlplane.realtime.live import LiveSite  # noqa: E402
from harness.processes import free_port, wait_until  # noqa: E402
from harness.redis_server import pings, redis_server_command  # noqa: E402
from tests.support import jpeg_of, sample_image  # noqa: E402

WARMUP = 1.0
DRAIN = 2.0


@dataclass
class Tally:
    """What the clients received of the results published inside the measured window."""

    start: float = 0.0
    end: float = float("inf")
    latencies: list[float] = field(default_factory=list)

    def note(self, data: bytes) -> None:
        received = time.time()
        meta, _ = parse_binary_message(data)
        if self.start <= meta["ts_done"] < self.end:
            self.latencies.append(received - meta["ts_done"])

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes so far, from /proc."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def publish(url: str, streams: list[str], fps: float, until: float, jpeg: bytes) -> int:
    """XADD one result per stream per tick, on a fixed schedule (no drift when a tick is late)."""
    client = redis.asyncio.Redis.from_url(url)
    seq, tick = 0, time.monotonic()
    try:
        while time.time() < until:
            pipe = client.pipeline(transaction=False)
            for stream in streams:
                now = time.time()
                meta = protocol.result_meta(
                    frame=protocol.Frame(stream, seq, now, 512, 512, jpeg),
                    queue="people", model="builtin:people", worker="bench", ts_done=now, detections=[],
                )
                pipe.xadd(protocol.results_key(stream), protocol.encode_result(meta, jpeg), maxlen=100, approximate=True)
            await pipe.execute()
            seq += 1
            tick += 1 / fps
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
    finally:
        await client.aclose()
    return seq


async def measure(name: str, urls: list[str], redis_url: str, streams: list[str], args, jpeg: bytes, pids: list[int]) -> Tally:
    tally = Tally()
    clients = [await connect(url, compression=None, max_size=None) for url in urls]

    async def read(client) -> None:
        async for data in client:
            tally.note(data)

    readers = [asyncio.create_task(read(client)) for client in clients]
    await asyncio.sleep(0.5)
    tally.start = time.time() + WARMUP
    tally.end = tally.start + args.seconds
    cpu_before = cpu_seconds(pids)
    ticks = await publish(redis_url, streams, args.fps, tally.end, jpeg)
    await asyncio.sleep(DRAIN)  # let what is in flight arrive
    cpu = cpu_seconds(pids) - cpu_before
    for client in clients:
        await client.close()
    await asyncio.gather(*readers, return_exceptions=True)
    delivered = len(tally.latencies)
    expected = args.fps * args.seconds * len(urls)
    print(
        f"{name:>8}: {delivered / args.seconds:8.1f} msgs/s delivered ({delivered}/{expected:.0f} expected, "
        f"{ticks} ticks), latency p50 {tally.percentile_ms(0.5):6.1f} ms p99 {tally.percentile_ms(0.99):6.1f} ms, "
        f"server CPU {cpu / max(delivered, 1) * 1000:.2f} s per 1000 msgs",
        flush=True,
    )
    return tally


# --- the baseline server, run as its own process --------------------------------------------------

async def serve_baseline(redis_url: str, port: int, streams: list[str]) -> None:
    watchers: dict[str, set] = {stream: set() for stream in streams}

    async def handler(ws) -> None:
        stream = ws.request.path.removeprefix("/ws/streams/").strip("/")
        if stream not in watchers:
            await ws.close(4404)
            return
        watchers[stream].add(ws)
        try:
            await ws.wait_closed()
        finally:
            watchers[stream].discard(ws)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    client = redis.asyncio.Redis.from_url(redis_url, socket_timeout=30)
    seconds, micros = await client.time()
    cursors = {protocol.results_key(s): f"{seconds * 1000 + micros // 1000}-0" for s in streams}
    prefix = len(protocol.results_key(""))
    async with serve(handler, "127.0.0.1", port, compression=None, max_size=None):
        while not stop.is_set():
            for key, entries in await client.xread(cursors, count=16, block=500):
                stream = key.decode()[prefix:]
                for entry_id, fields in entries:
                    broadcast(watchers[stream], Result.from_entry(entry_id, fields).binary_message())
                    cursors[key.decode()] = entry_id
    await client.aclose()


def start_baseline(redis_url: str, streams: list[str], workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    log = (workdir / "baseline.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-baseline", str(port), "--redis", redis_url, "--names", *streams],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )

    async def ready() -> bool:
        try:
            async with connect(f"ws://127.0.0.1:{port}/ws/streams/{streams[0]}/"):
                return True
        except OSError:
            return False

    wait_until(lambda: asyncio.run(ready()), 30, "the baseline server")
    return proc, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=3)
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--fps", type=float, default=30.0, help="results per second per stream")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--jpeg-quality", type=int, default=75, help="75 makes the 512x512 astronaut about 50 KB")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--redis", help=argparse.SUPPRESS)
    parser.add_argument("--names", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        asyncio.run(serve_baseline(args.redis, args.serve_baseline, args.names))
        return

    workdir = Path(tempfile.mkdtemp(prefix="ei-bench-fanout-"))
    port = free_port()
    redis_proc = subprocess.Popen(redis_server_command(port, workdir), stdout=subprocess.DEVNULL)
    redis_url = f"redis://127.0.0.1:{port}/0"
    wait_until(lambda: pings(redis_url), 10, "redis-server")
    streams = [f"cam{i}" for i in range(args.streams)]
    jpeg = jpeg_of(sample_image("astronaut"), quality=args.jpeg_quality)
    print(
        f"{args.streams} streams x {args.fps:g} results/s, {args.clients} clients, {len(jpeg) / 1000:.0f} KB JPEGs, "
        f"{args.seconds:g} s measured after {WARMUP:g} s warm-up", flush=True,
    )
    site = None
    baseline = None
    try:
        site = LiveSite(workdir / "ours", redis_url).start(*streams)
        urls = [site.ws_url(f"/ws/streams/{streams[i % len(streams)]}/?token={site.token}") for i in range(args.clients)]
        ours = asyncio.run(measure("ours", urls, redis_url, streams, args, jpeg, [p.popen.pid for p in site.procs] + [redis_proc.pid]))
        site.stop()
        site = None

        baseline, base_port = start_baseline(redis_url, streams, workdir)
        urls = [f"ws://127.0.0.1:{base_port}/ws/streams/{streams[i % len(streams)]}/" for i in range(args.clients)]
        base = asyncio.run(measure("baseline", urls, redis_url, streams, args, jpeg, [baseline.pid, redis_proc.pid]))
    finally:
        if site:
            site.stop()
        if baseline:
            baseline.terminate()
            baseline.wait(10)
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    ours_rate, base_rate = len(ours.latencies) / args.seconds, len(base.latencies) / args.seconds
    print(
        f"ours_msgs_per_s={ours_rate:.1f} baseline_msgs_per_s={base_rate:.1f} ratio={ours_rate / base_rate:.3f} "
        f"ours_p50_ms={ours.percentile_ms(0.5):.1f} ours_p99_ms={ours.percentile_ms(0.99):.1f} "
        f"base_p50_ms={base.percentile_ms(0.5):.1f} base_p99_ms={base.percentile_ms(0.99):.1f}"
    )


if __name__ == "__main__":
    main()
