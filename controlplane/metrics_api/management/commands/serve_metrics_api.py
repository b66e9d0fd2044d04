"""``manage.py serve_metrics_api``: the Kubernetes custom and external metrics API, over HTTPS, until
SIGTERM. Run it where an APIService of the aggregation layer points (k8s/components/metrics-api/)."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from controlplane.core.redis import get_redis
from controlplane.metrics_api.server import serve
from controlplane.metrics_api.service import MetricsApi
from controlplane.orchestration.backends.base import BackendError
from controlplane.orchestration.backends.kubernetes_client import (
    ClusterReader,
    api_client,
)

TLS_DIR = "/etc/elastic-inference/metrics-api-tls"  # where the kit mounts the serving certificate's Secret


class Command(BaseCommand):
    help = "Serve worker heartbeats as the custom.metrics.k8s.io and external.metrics.k8s.io APIs for the HPA."

    def add_arguments(self, parser):
        env = os.environ.get
        parser.add_argument("--bind", default=env("EI_METRICS_API_BIND", "0.0.0.0"), help="address [0.0.0.0]")
        parser.add_argument("--port", type=int, default=int(env("EI_METRICS_API_PORT", "6443")), help="[6443]")
        parser.add_argument("--tls-cert", default=env("EI_METRICS_API_TLS_CERT", f"{TLS_DIR}/tls.crt"))
        parser.add_argument("--tls-key", default=env("EI_METRICS_API_TLS_KEY", f"{TLS_DIR}/tls.key"))
        parser.add_argument("--kubeconfig", default=None, help="off a cluster; in a pod its service account is used")

    def handle(self, *args, bind, port, tls_cert, tls_key, kubeconfig, **options):
        for path in (tls_cert, tls_key):
            if not os.path.isfile(path):
                raise CommandError(f"no TLS file at {path}: mount the serving certificate or pass --tls-cert/--tls-key")
        try:
            reader = ClusterReader(api_client(kubeconfig))
        except BackendError as exc:
            raise CommandError(str(exc)) from exc
        api = MetricsApi(reader=reader, redis_client=get_redis(), namespace=settings.EI_K8S_NAMESPACE)
        self.stdout.write(f"metrics API for namespace {settings.EI_K8S_NAMESPACE} on https://{bind}:{port}")
        serve(api, bind=bind, port=port, cert_file=tls_cert, key_file=tls_key)
