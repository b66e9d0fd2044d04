"""The monitor's line: every worker named so that two of one queue can be told apart."""

from inference_worker.monitor import format_line


def figures(queue: str, worker: str) -> dict:
    return {"queue": queue, "worker": worker, "infer_fps": 10.0, "drop_fps": 0.5, "scale_ratio": 0.4,
            "latency_p50_ms": 48.0}


def test_service_slots_show_whole_and_long_ids_keep_their_end():
    line = format_line([figures("people-int8", "people-int8-0"), figures("people", "a-rather-long-host-name-12345")])
    assert line.startswith("people-int8/people-int8-0 infer  10.0 fps drop   0.5 fps ratio 0.40 p50    48 ms | ")
    assert "people/…er-long-host-name-12345 infer" in line


def test_no_workers():
    assert format_line([]) == "no workers"
