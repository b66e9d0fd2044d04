"""The HPA rule as the local backend applies it (pure arithmetic, no processes)."""

from controlplane.scaling.autoscaler import Autoscaler, recommend

POLICY = dict(target=1.0, min_replicas=1, max_replicas=5)


def test_rule_is_ceil_of_current_times_metric_over_target():
    assert recommend(current=2, metric=1.6, target=1.0) == 4
    assert recommend(current=3, metric=0.3, target=1.0) == 1
    assert recommend(current=1, metric=250, target=80) == 4  # e.g. CPU %


def test_within_tolerance_nothing_changes():
    assert recommend(current=4, metric=1.09, target=1.0) == 4
    assert recommend(current=4, metric=0.91, target=1.0) == 4
    assert recommend(current=4, metric=1.11, target=1.0) == 5


def test_bounds_cap_and_raise():
    scaler = Autoscaler()
    high = scaler.decide(now=0, current=2, metric=9.0, up_window=0, down_window=0, **POLICY)
    assert high.desired == 5 and "maximum of 5" in high.reason
    low = Autoscaler().decide(now=0, current=3, metric=0.0, up_window=0, down_window=0, **POLICY)
    assert low.desired == 1 and "minimum of 1" in low.reason


def test_scale_down_waits_for_the_window():
    """A dip shorter than the scale-down window keeps the replicas; a long one lets them go."""
    scaler = Autoscaler()
    assert scaler.decide(now=0, current=4, metric=1.0, up_window=0, down_window=30, **POLICY).desired == 4
    dip = scaler.decide(now=10, current=4, metric=0.25, up_window=0, down_window=30, **POLICY)
    assert dip.desired == 4 and "scale-down window" in dip.reason
    assert scaler.decide(now=29, current=4, metric=0.25, up_window=0, down_window=30, **POLICY).desired == 4
    assert scaler.decide(now=41, current=4, metric=0.25, up_window=0, down_window=30, **POLICY).desired == 1


def test_scale_up_window_takes_the_lowest_recent_recommendation():
    scaler = Autoscaler()
    assert scaler.decide(now=0, current=1, metric=1.0, up_window=20, down_window=0, **POLICY).desired == 1
    spike = scaler.decide(now=5, current=1, metric=3.0, up_window=20, down_window=0, **POLICY)
    assert spike.desired == 1 and spike.recommendation == 3
    assert scaler.decide(now=21, current=1, metric=3.0, up_window=20, down_window=0, **POLICY).desired == 3


def test_no_window_follows_the_rule_at_once():
    scaler = Autoscaler()
    assert scaler.decide(now=0, current=1, metric=2.5, up_window=0, down_window=0, **POLICY).desired == 3
    assert scaler.decide(now=1, current=3, metric=0.2, up_window=0, down_window=0, **POLICY).desired == 1
