"""Scaling policies in the admin; edits go through the actions."""

from django.contrib import admin

from controlplane.core.admin import RecordAdmin
from controlplane.scaling.actions import POLICY_WRITES
from controlplane.scaling.models import ScalingEvent, ScalingPolicy


@admin.register(ScalingPolicy)
class PolicyAdmin(RecordAdmin):
    writes = POLICY_WRITES
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
