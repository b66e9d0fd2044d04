"""Quantization jobs in the admin: to look at, not to write (jobs start and stop through the API)."""

from django.contrib import admin

from controlplane.quantization.models import QuantizationJob


@admin.register(QuantizationJob)
class QuantizationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "model", "source", "frame_count", "state", "progress", "result", "created", "finished"]
    list_filter = ["state"]
    readonly_fields = [field.name for field in QuantizationJob._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
