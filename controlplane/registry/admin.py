"""The model registry in the admin: browse, edit the description, delete, validate again.

Uploads go through the API, which checks the files at once; edits and deletes go through the actions, as the
API's do.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext

from controlplane.core.admin import RecordAdmin
from controlplane.registry import actions
from controlplane.registry.models import InferenceModel


@admin.register(InferenceModel)
class InferenceModelAdmin(RecordAdmin):
    writes = actions.MODEL_WRITES
    list_display = ["name", "version", "task", "framework", "precision", "status", "measured_fps"]
    list_filter = ["status", "framework", "precision", "task"]
    search_fields = ["name", "task"]
    fields = [
        "name", "version", "task", "labels", "precision", "output_family", "framework", "builtin", "file",
        "file_sha256", "weights", "weights_sha256", "status", "status_message", "input_shape", "measured_fps",
        "validated_at", "created", "updated",
    ]
    readonly_fields = [
        "framework", "builtin", "file", "file_sha256", "weights", "weights_sha256", "status", "status_message",
        "input_shape", "measured_fps", "validated_at", "created", "updated",
    ]
    actions = ["validate_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Validate selected %(verbose_name_plural)s again", permissions=["change"])
    def validate_again(self, request, queryset):
        for model in queryset:
            actions.model_queue_validation(model=model)
        count = len(queryset)
        self.message_user(request, f"Queued validation of {count} {model_ngettext(self.opts, count)}.", messages.SUCCESS)

