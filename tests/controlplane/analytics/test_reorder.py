"""Results back in seq order: at once from one worker, after the others have caught up from several."""

from controlplane.analytics.reorder import Reorderer


def test_one_workers_results_go_on_at_once():
    reorderer = Reorderer(window=0.5)
    reorderer.add(0, "w1", 0, now=0.0)
    assert reorderer.ready(now=0.0) == []  # the queue's first moments: other workers may yet show up
    assert reorderer.ready(now=0.5) == [0]
    for seq in (1, 3, 7):  # gaps: frames the worker dropped
        reorderer.add(seq, "w1", seq, now=0.6)
        assert reorderer.ready(now=0.6) == [seq]


def test_two_workers_results_are_put_back_in_order_once_both_are_past_them():
    reorderer = Reorderer(window=1.0)
    reorderer.add(1, "b", 1, now=0.0)
    reorderer.add(0, "a", 0, now=0.0)
    assert reorderer.ready(now=1.0) == [0, 1]
    released = []
    for seq, worker in [(2, "a"), (4, "a"), (3, "b"), (6, "a"), (5, "b")]:
        reorderer.add(seq, worker, seq, now=1.0)
        released += reorderer.ready(now=1.0)
    assert released == [2, 3, 4, 5]  # 6 waits for b, which may still publish something older
    assert reorderer.ready(now=2.0) == [6]  # unless b stays quiet for the window
    assert reorderer.late == 0


def test_a_quiet_worker_holds_nothing_longer_than_the_window_and_what_comes_later_is_late():
    reorderer = Reorderer(window=0.5)
    reorderer.add(0, "a", 0, now=0.0)
    reorderer.add(1, "b", 1, now=0.0)
    assert reorderer.ready(now=0.5) == [0, 1]
    reorderer.add(2, "b", 2, now=0.6)
    reorderer.add(3, "a", 3, now=0.6)
    assert reorderer.ready(now=0.6) == [2]  # b may still publish something before 3
    assert reorderer.ready(now=1.0) == []
    assert reorderer.ready(now=1.2) == [3]  # b was not heard from for longer than the window
    assert reorderer.add(2, "b", 2, now=1.3) is False  # too late: 3 went on already
    assert (reorderer.late, reorderer.ready(now=2.0)) == (1, [])


def test_drain_gives_what_is_held_in_order():
    reorderer = Reorderer(window=0.5)
    for seq, worker in [(3, "a"), (1, "b"), (2, "b")]:
        reorderer.add(seq, worker, seq, now=0.0)
    assert reorderer.ready(now=0.1) == [] and [*reorderer.held()] != []
    assert reorderer.drain() == [1, 2, 3] and reorderer.held() == []
