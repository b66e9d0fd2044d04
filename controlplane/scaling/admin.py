"""Scaling policies in the admin; edits go through the service functions."""

from django.contrib import admin

from controlplane.core.admin import ServiceAdmin
from controlplane.scaling import actions
from controlplane.scaling.models import ScalingEvent, ScalingPolicy


@admin.register(ScalingPolicy)
class PolicyAdmin(ServiceAdmin):
    entity = "policy"
    service_create = staticmethod(actions.policy_create)
    service_update = staticmethod(actions.policy_update)
    service_delete = staticmethod(actions.policy_delete)

    list_display = [
        "name", "metric", "target_value", "min_replicas", "max_replicas",
        "scale_up_window_seconds", "scale_down_window_seconds", "updated",
    ]
    list_filter = ["metric"]
    search_fields = ["name"]
    readonly_fields = ["created", "updated"]


@admin.register(ScalingEvent)
class ScalingEventAdmin(admin.ModelAdmin):
    """Read-only: events are facts recorded by the autoscaler and the reconciler."""

    list_display = ["time", "service_name", "backend", "from_replicas", "to_replicas", "metric", "metric_value",
                    "target_value", "reason"]
    list_filter = ["backend", "service_name"]
    search_fields = ["service_name", "reason"]
    date_hierarchy = "time"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
