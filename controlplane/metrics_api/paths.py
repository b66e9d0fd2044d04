"""What a request to the metrics API asks for, read from its path alone (pure).

The aggregation layer forwards ``/apis/<group>/<version>/...`` unchanged; the three shapes served are a
version's discovery, a Pods metric (``namespaces/<ns>/pods/<name or *>/<metric>``) and an external metric
(``namespaces/<ns>/<metric>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

CUSTOM = "custom.metrics.k8s.io"
EXTERNAL = "external.metrics.k8s.io"
VERSIONS = {CUSTOM: ("v1beta1", "v1beta2"), EXTERNAL: ("v1beta1",)}
#: The aggregator asks every API server for its OpenAPI document; we publish none, and a 404 tells it so.
OPENAPI_PATHS = {"/openapi/v2", "/openapi/v3"}


@dataclass(frozen=True)
class Discovery:
    group: str
    version: str


@dataclass(frozen=True)
class PodMetric:
    version: str
    namespace: str
    pod: str  # a pod's name, or "*" for every pod the label selector selects
    metric: str


@dataclass(frozen=True)
class ExternalMetric:
    namespace: str
    metric: str


@dataclass(frozen=True)
class Unserved:
    """A path under a served version that names something else: a resource other than pods, a cluster-wide
    metric; ``what`` says which, for the NotFound."""

    what: str


Query = Discovery | PodMetric | ExternalMetric | Unserved


def parse(path: str) -> Query | None:
    """None for a path outside the served groups and versions."""
    parts = [unquote(part) for part in path.split("?", 1)[0].split("/") if part]  # the aggregator sends * as %2A
    if len(parts) < 3 or parts[0] != "apis" or parts[2] not in VERSIONS.get(parts[1], ()):
        return None
    group, version, rest = parts[1], parts[2], parts[3:]
    if not rest:
        return Discovery(group, version)
    if group == CUSTOM:
        if len(rest) == 5 and rest[0] == "namespaces" and rest[2] == "pods":
            return PodMetric(version, rest[1], rest[3], rest[4])
        return Unserved(f"the metric {rest[-1]!r} for {'/'.join(rest[:-1])}")
    if len(rest) == 3 and rest[0] == "namespaces":
        return ExternalMetric(rest[1], rest[2])
    return Unserved(f"the external metric {'/'.join(rest)!r}")


def access_attributes(query: Query) -> dict | None:
    """The SubjectAccessReview resource attributes the request needs, as the API server would form them
    (a collection is a list, one pod a get); None for the rest, authorised as a path."""
    if isinstance(query, PodMetric):
        one = query.pod != "*"
        return {"namespace": query.namespace, "verb": "get" if one else "list", "group": CUSTOM,
                "version": query.version, "resource": "pods", "subresource": query.metric,
                "name": query.pod if one else None}
    if isinstance(query, ExternalMetric):
        return {"namespace": query.namespace, "verb": "list", "group": EXTERNAL, "version": "v1beta1",
                "resource": query.metric}
    return None
