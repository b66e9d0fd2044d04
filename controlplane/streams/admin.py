"""Streams in the admin; edits go through the actions."""

from django.contrib import admin

from controlplane.core.admin import RecordAdmin
from controlplane.streams.actions import STREAM_WRITES
from controlplane.streams.models import Stream


@admin.register(Stream)
class StreamAdmin(RecordAdmin):
    writes = STREAM_WRITES
    list_display = ["name", "source_kind", "source", "queue", "target_fps", "enabled", "status", "updated"]
    list_filter = ["status", "enabled", "source_kind", "queue"]
    search_fields = ["name", "source", "queue"]
    readonly_fields = ["status", "status_message", "status_changed", "created", "updated"]
    actions = ["enable", "disable"]
