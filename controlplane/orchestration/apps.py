from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "controlplane.orchestration"
    label = "orchestration"
    verbose_name = "Orchestration"
