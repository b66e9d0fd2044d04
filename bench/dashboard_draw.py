"""How much of what the workers publish the dashboard draws: results per second drawn in headless Chromium.

S streams (default 9) each get R results per second (default 30), published as a worker does (``XADD
MAXLEN ~ 100`` of ``encode_result``: the street video's frames as 640x480 JPEGs with the worker's 320 px
previews, which the grid draws, or none with ``--no-previews``; a few boxes in the meta)
into a real control plane (``LiveSite``: the web server, its consumers and their feeds of each stream).
The Live page shows all of them; the page's ``window.__eiDrawStats`` (received / drawn / replaced per
stream: a frame that arrives while another waits to be drawn replaces it; and the capture-to-drawn
seconds summed over the frames drawn) is read at the start and the end of the measured window, and set
against what was published in that same window, the baseline.

It prints per stream and in total results received, drawn and replaced per second and the mean
capture-to-drawn latency (it stays flat when drawing keeps up, and grows when frames queue), Chromium's
CPU time (every Chromium process, from /proc) and the server's (the web server, redis-server). The last
line is ``published_per_s=<x> drawn_per_s=<y> ratio=<y/x> received_per_s=.. replaced_per_s=..
drawn_lag_ms=.. chromium_cpu=..``.

    .venv/bin/python bench/dashboard_draw.py --streams 9 --fps 30 --seconds 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.relay_fanout import cpu_seconds  # noqa: E402
from bench.worker_throughput import sample_jpegs  # noqa: E402
from inference_worker import protocol  # noqa: E402
from inference_worker.preview import make_preview  # noqa: E402
from tests.browser.chromium import launch  # noqa: E402
from tests.browser.dashboard import log_in, tile_canvas, wait_for_drawing  # noqa: E402
from tests.controlplane.realtime.live import LiveSite  # noqa: E402
from harness.processes import free_port, wait_until  # noqa: E402
from harness.redis_server import pings, redis_server_command  # noqa: E402

USER, PASSWORD = "bench", "bench-draw-pass-1"
RESULT_MAXLEN = 100  # what a worker keeps per result stream
BOXES = [  # people-sized boxes, normalised, moved a little from frame to frame
    {"label": "person", "score": 0.9, "box": [0.10, 0.30, 0.18, 0.62]},
    {"label": "person", "score": 0.8, "box": [0.42, 0.25, 0.50, 0.58]},
    {"label": "person", "score": 0.7, "box": [0.70, 0.35, 0.77, 0.70]},
]


class Publisher(threading.Thread):
    """One XADD per stream per tick on a fixed schedule (no drift when a tick is late), counted."""

    def __init__(self, redis_url: str, streams: list[str], fps: float, pictures: list[tuple[bytes, bytes | None]]):
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(redis_url)
        self.streams, self.fps, self.pictures = streams, fps, pictures
        self.published = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        seq, tick = 0, time.monotonic()
        while not self.stopping.is_set():
            jpeg, preview = self.pictures[seq % len(self.pictures)]
            shift = (seq % 30) / 300
            detections = [{**d, "box": [d["box"][0] + shift, d["box"][1], d["box"][2] + shift, d["box"][3]]}
                          for d in BOXES]
            pipe = self.client.pipeline(transaction=False)
            for stream in self.streams:
                now = time.time()
                meta = protocol.result_meta(
                    frame=protocol.Frame(stream, seq, now, 640, 480, jpeg), queue="people", model="builtin:people",
                    worker="bench", ts_done=now, detections=detections,
                )
                pipe.xadd(protocol.results_key(stream), protocol.encode_result(meta, jpeg, preview),
                          maxlen=RESULT_MAXLEN, approximate=True)
            pipe.execute()
            self.published += len(self.streams)
            seq += 1
            tick += 1 / self.fps
            time.sleep(max(0.0, tick - time.monotonic()))


def chromium_pids() -> list[int]:
    """Every Chromium process descending from this one (browser, renderers, GPU and utility processes)."""
    processes = {}  # pid -> (parent pid, command name)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" (", 1)
        except OSError:  # gone meanwhile
            continue
        comm, fields = rest.rsplit(") ", 1)
        processes[int(pid)] = (int(fields.split()[1]), comm)
    descendants, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, (ppid, _) in processes.items() if ppid in frontier} - descendants
        descendants |= frontier
    return sorted(pid for pid in descendants if "chrom" in processes[pid][1])


def live_cpu_seconds(pids: list[int]) -> float:
    """CPU time of those still running (a process that ended takes its figure with it)."""
    return cpu_seconds([pid for pid in pids if Path(f"/proc/{pid}/stat").exists()])


def draw_stats(page) -> dict[str, dict[str, int]]:
    return page.evaluate("JSON.parse(JSON.stringify(window.__eiDrawStats || {}))")


@dataclass
class Window:
    """The measured window: draw stats at its start and end, and what was published and burnt meanwhile."""

    before: dict[str, dict[str, int]]
    after: dict[str, dict[str, int]]
    published: int
    seconds: float
    chromium_processes: int
    chromium_cpu: float
    server_cpu: float

    def change(self, key: str, stream: str) -> float:
        return self.after.get(stream, {}).get(key, 0) - self.before.get(stream, {}).get(key, 0)

    def rate(self, key: str, stream: str) -> float:
        return self.change(key, stream) / self.seconds

    def lag_ms(self, streams: list[str]) -> float:
        """Mean capture-to-drawn latency of the frames drawn in the window."""
        drawn = sum(self.change("drawn", s) for s in streams)
        return sum(self.change("lagSeconds", s) for s in streams) / max(drawn, 1) * 1000


def measure(site: LiveSite, publisher: Publisher, streams: list[str], args, server_pids: list[int]) -> Window:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(base_url=f"http://127.0.0.1:{site.port}",
                                      viewport={"width": 1600, "height": 1000})
        page = context.new_page()
        log_in(page, USER, PASSWORD)
        for stream in streams:
            wait_for_drawing(page, tile_canvas(stream), more_than=0, timeout=60)
        page.wait_for_timeout(args.warmup * 1000)
        pids = chromium_pids()
        before, published, started = draw_stats(page), publisher.published, time.monotonic()
        chromium_cpu, server_cpu = live_cpu_seconds(pids), cpu_seconds(server_pids)
        page.wait_for_timeout(args.seconds * 1000)
        window = Window(
            before=before, after=draw_stats(page), published=publisher.published - published,
            seconds=time.monotonic() - started, chromium_processes=len(pids),
            chromium_cpu=live_cpu_seconds(pids) - chromium_cpu, server_cpu=cpu_seconds(server_pids) - server_cpu,
        )
        browser.close()
    return window


def report(window: Window, streams: list[str]) -> None:
    keys = ("received", "drawn", "replaced")
    print(f"{'stream':>8} {'received/s':>11} {'drawn/s':>8} {'replaced/s':>11} {'lag ms':>7}")
    for stream in streams:
        received, drawn, replaced = (window.rate(key, stream) for key in keys)
        print(f"{stream:>8} {received:11.1f} {drawn:8.1f} {replaced:11.1f} {window.lag_ms([stream]):7.0f}")
    received, drawn, replaced = (sum(window.rate(key, s) for s in streams) for key in keys)
    published = window.published / window.seconds
    chromium_cores = window.chromium_cpu / window.seconds
    lag = window.lag_ms(streams)
    print(f"{'total':>8} {received:11.1f} {drawn:8.1f} {replaced:11.1f} {lag:7.0f}")
    print(f"chromium: {window.chromium_processes} processes, {chromium_cores:.2f} cores over {window.seconds:.1f} s, "
          f"{window.chromium_cpu / max(drawn * window.seconds, 1) * 1000:.2f} ms CPU per drawn frame; "
          f"server (web, redis): {window.server_cpu / window.seconds:.2f} cores")
    print(f"published_per_s={published:.1f} drawn_per_s={drawn:.1f} ratio={drawn / published:.3f} "
          f"received_per_s={received:.1f} replaced_per_s={replaced:.1f} drawn_lag_ms={lag:.0f} chromium_cpu={chromium_cores:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=9)
    parser.add_argument("--fps", type=float, default=30.0, help="results per second per stream")
    parser.add_argument("--seconds", type=float, default=20.0, help="the measured window")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of drawing before the window")
    parser.add_argument("--no-previews", action="store_true", help="publish results without previews (--preview-width 0)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ei-bench-draw-"))
    port = free_port()
    redis_proc = subprocess.Popen(redis_server_command(port, workdir), stdout=subprocess.DEVNULL)
    redis_url = f"redis://127.0.0.1:{port}/0"
    streams = [f"cam{i}" for i in range(args.streams)]
    jpegs = sample_jpegs(60, 640)
    preview_width = 0 if args.no_previews else protocol.PREVIEW_WIDTH
    pictures = [(jpeg, make_preview(jpeg, 640, 480, None, preview_width)) for jpeg in jpegs]
    previews = f"{sum(len(p) for _, p in pictures) / len(pictures) / 1000:.0f} KB" if preview_width else "no"
    print(f"{args.streams} streams x {args.fps:g} results/s, {sum(map(len, jpegs)) / len(jpegs) / 1000:.0f} KB JPEGs "
          f"(640x480) with {previews} previews, {len(BOXES)} boxes each, {args.seconds:g} s measured after {args.warmup:g} s warm-up; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    site = publisher = None
    try:
        wait_until(lambda: pings(redis_url), 10, "redis-server")
        site = LiveSite(workdir / "site", redis_url).start(*streams)
        site.manage("shell", "--no-imports", "-c", "from django.contrib.auth.models import User; "
                    f"User.objects.create_user({USER!r}, password={PASSWORD!r})")
        publisher = Publisher(redis_url, streams, args.fps, pictures)
        publisher.start()
        window = measure(site, publisher, streams, args, [p.popen.pid for p in site.procs] + [redis_proc.pid])
    finally:
        if publisher:
            publisher.stopping.set()
            publisher.join(10)
        if site:
            site.stop()
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    report(window, streams)


if __name__ == "__main__":
    main()
