from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "controlplane.orchestration"
    label = "orchestration"
    verbose_name = "Orchestration"

    def ready(self):
        from controlplane.core.reconcile import reconcile_requested
        from controlplane.orchestration.tasks import queue_pass

        reconcile_requested.connect(queue_pass, dispatch_uid="orchestration.queue_pass")
