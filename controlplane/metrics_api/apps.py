from django.apps import AppConfig


class MetricsApiConfig(AppConfig):
    name = "controlplane.metrics_api"
    verbose_name = "Kubernetes metrics API"
