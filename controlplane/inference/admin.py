"""Inference services in the admin; edits go through the actions, as the API's do."""

from django.contrib import admin

from controlplane.core.admin import RecordAdmin
from controlplane.inference.actions import SERVICE_WRITES
from controlplane.inference.models import InferenceService
from controlplane.registry.models import InferenceModel
from controlplane.registry.selectors import model_list


@admin.register(InferenceService)
class InferenceServiceAdmin(RecordAdmin):
    writes = SERVICE_WRITES
    list_display = ["name", "queue", "model", "kept_labels", "device", "scaling_policy", "enabled", "status", "replicas", "updated"]
    list_filter = ["status", "enabled", "device", "model", "scaling_policy"]
    list_select_related = ["model", "scaling_policy"]
    search_fields = ["name", "queue"]
    readonly_fields = [
        "status", "status_message", "status_changed", "replicas_desired", "replicas_current", "replicas_ready",
        "conditions", "created", "updated",
    ]
    actions = ["enable", "disable"]

    @admin.display(description="labels")
    def kept_labels(self, service: InferenceService) -> str:
        return ", ".join(service.labels or []) or "model default"

    @admin.display(description="ready / desired")
    def replicas(self, service: InferenceService) -> str:
        if service.replicas_desired is None:
            return "-"
        return f"{service.replicas_ready or 0} / {service.replicas_desired}"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "model":  # as in the API: a model that failed validation would crash the workers
            kwargs["queryset"] = model_list().exclude(status=InferenceModel.Status.FAILED)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
