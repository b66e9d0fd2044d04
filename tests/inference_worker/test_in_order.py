"""Results leave the worker in the order their frames went in, whatever order inference finishes in."""

import random
import threading

from inference_worker.publish import InOrder


def test_results_are_released_in_submission_order_and_failures_leave_no_gap():
    released = []
    order = InOrder(released.append)
    tickets = [order.ticket() for _ in range(6)]
    order.done(tickets[2], "c")
    order.done(tickets[1], None)  # its inference failed: nothing to publish, and nothing waits for it
    assert released == []
    order.done(tickets[0], "a")
    assert released == ["a", "c"]
    order.done(tickets[5], "f")
    order.done(tickets[4], "e")
    order.done(tickets[3], "d")
    assert released == ["a", "c", "d", "e", "f"]


def test_completions_from_many_threads_come_out_in_order():
    released = []
    order = InOrder(released.append)
    tickets = [order.ticket() for _ in range(500)]
    shuffled = random.Random(7).sample(tickets, len(tickets))
    threads = [threading.Thread(target=lambda part=shuffled[i::4]: [order.done(t, t) for t in part]) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert released == tickets
