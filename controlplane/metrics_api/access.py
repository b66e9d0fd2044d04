"""May this caller read this? Asked of the cluster with a SubjectAccessReview (delegated authorisation, as
any aggregated API server does), and remembered for a few seconds so that the HPA controller's polling
does not double the API server's load."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from controlplane.metrics_api.frontproxy import Identity

TTL = 10.0  # seconds, allowed or denied alike: what the API server's own delegating authoriser keeps


class AccessReviews:
    """``review(user=, groups=, extra=, resource=, path=) -> (allowed, reason)``: ClusterReader.review_access."""

    def __init__(self, review: Callable[..., tuple[bool, str]], clock: Callable[[], float] = time.monotonic):
        self._review = review
        self._clock = clock
        self._answers: dict[str, tuple[float, bool, str]] = {}
        self._lock = threading.Lock()

    def allowed(self, identity: Identity, *, resource: dict | None, path: str) -> tuple[bool, str]:
        key = json.dumps([identity.user, identity.groups, identity.extra, resource, None if resource else path],
                         sort_keys=True)
        now = self._clock()
        with self._lock:
            cached = self._answers.get(key)
            if cached and cached[0] > now:
                return cached[1], cached[2]
        allowed, reason = self._review(user=identity.user, groups=list(identity.groups), extra=identity.extra,
                                       resource=resource, path=path)
        with self._lock:
            self._answers = {k: v for k, v in self._answers.items() if v[0] > now}  # bounded by what is live
            self._answers[key] = (now + TTL, allowed, reason)
        return allowed, reason
