"""Fleet gauges on the control plane's /metrics, one series per inference service, read at each scrape.

They are named ``ei_service_*``, never like the workers' own gauges (``ei_infer_fps`` and the others, which
the HPA's pod metrics read): a Prometheus that scrapes both would otherwise add each figure twice in every
``sum()``. When Redis is away the scrape still succeeds: the fleet gauges are left out (rather than a
made-up zero) and ``ei_fleet_up`` says 0.
"""

from __future__ import annotations

import functools
import logging

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from controlplane.telemetry.selectors import service_metrics_list
from inference_worker.runtime import REDIS_ERRORS

log = logging.getLogger(__name__)

LABELS = ("service", "queue")
GAUGES = {
    "ei_service_infer_fps": ("infer_fps", "Frames inferred per second by the service's workers (sum)"),
    "ei_service_drop_fps": ("drop_fps", "Frames dropped per second on the service's queue (sum over its workers)"),
    "ei_service_scale_ratio": ("scale_ratio", "Workers needed per worker, mean over the service's workers (0 with none)"),
    "ei_service_replicas": ("replicas", "Live workers on the service's queue"),
}
UP = ("ei_fleet_up", "1 when the fleet gauges could be read from Redis at this scrape, else 0")


class FleetCollector(Collector):
    def __init__(self) -> None:
        self._redis_down = False

    def describe(self):
        # Names only, so registering reads neither Redis nor the database.
        return [GaugeMetricFamily(name, doc, labels=LABELS) for name, (_, doc) in GAUGES.items()] + [
            GaugeMetricFamily(*UP)
        ]

    def collect(self):
        try:
            services = service_metrics_list()
        except REDIS_ERRORS as exc:
            if not self._redis_down:
                log.warning("fleet gauges left out of /metrics: redis unavailable (%s)", exc)
            self._redis_down = True
            yield GaugeMetricFamily(*UP, value=0)
            return
        if self._redis_down:
            log.info("fleet gauges back in /metrics: redis reachable again")
        self._redis_down = False
        for name, (field, doc) in GAUGES.items():
            family = GaugeMetricFamily(name, doc, labels=LABELS)
            for service in services:
                family.add_metric([service["name"], service["queue"]], service[field])
            yield family
        yield GaugeMetricFamily(*UP, value=1)


@functools.cache
def register_fleet_collector() -> FleetCollector:
    """Register with the default registry once per process, however often ``ready()`` runs."""
    collector = FleetCollector()
    REGISTRY.register(collector)
    return collector
