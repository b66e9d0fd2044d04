"""The result publisher on its own, against a real Redis: order, outages, and what it says when it gives up."""

from __future__ import annotations

import logging

from harness.processes import free_port, wait_until
from harness.redis_server import start_redis_server
from inference_worker import protocol
from inference_worker.publish import ResultPublisher
from inference_worker.runtime import redis_client
from tests.support import results


def result(stream: str, seq: int) -> tuple[str, dict[str, bytes]]:
    meta = {"v": 1, "stream": stream, "seq": seq, "queue": "q", "model": "m", "worker": "w",
            "ts_capture": 1.0, "ts_done": 2.0, "width": 8, "height": 8, "detections": []}
    return stream, protocol.encode_result(meta, b"\xff\xd8jpeg")


def seqs(client, stream: str) -> list[int]:
    return [meta["seq"] for meta, _ in results(client, stream)]


def test_results_reach_their_streams_in_the_order_they_were_put(r):
    publisher = ResultPublisher(r, maxlen=1000)
    publisher.start()
    for seq in range(150):  # more than one batch
        publisher.put(result("a" if seq % 3 else "b", seq))
    publisher.close()
    assert seqs(r, "a") == [seq for seq in range(150) if seq % 3]
    assert seqs(r, "b") == list(range(0, 150, 3))


def test_results_put_while_redis_is_away_are_written_once_it_is_there(tmp_path):
    port = free_port()
    client = redis_client(f"redis://127.0.0.1:{port}/0", connect_timeout=1)
    publisher = ResultPublisher(client, maxlen=100)
    publisher.start()
    for seq in range(5):
        publisher.put(result("cam", seq))
    server = start_redis_server(port, tmp_path)
    try:
        wait_until(lambda: seqs(client, "cam"), 20, "the results kept through the outage")
        publisher.close()
        assert seqs(client, "cam") == list(range(5)), "each kept result written once, in order"
    finally:
        server.terminate()


def test_closing_without_redis_gives_up_after_the_grace_period_and_says_how_many(caplog):
    client = redis_client(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=1)
    publisher = ResultPublisher(client, maxlen=100, grace=0.3)
    publisher.start()
    for seq in range(3):
        publisher.put(result("cam", seq))
    with caplog.at_level(logging.INFO, logger="ei.worker"):
        publisher.close()
    assert "giving up on 3 results: redis unreachable at shutdown" in caplog.text
