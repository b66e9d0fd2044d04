"""Streams in the admin; edits go through the service functions."""

from django.contrib import admin

from controlplane.core.admin import ServiceAdmin
from controlplane.streams import actions
from controlplane.streams.models import Stream


@admin.register(Stream)
class StreamAdmin(ServiceAdmin):
    entity = "stream"
    service_create = staticmethod(actions.stream_create)
    service_update = staticmethod(actions.stream_update)
    service_delete = staticmethod(actions.stream_delete)

    list_display = ["name", "source_kind", "source", "queue", "target_fps", "enabled", "status", "updated"]
    list_filter = ["status", "enabled", "source_kind", "queue"]
    search_fields = ["name", "source", "queue"]
    readonly_fields = ["status", "status_message", "status_changed", "created", "updated"]
    actions = ["enable", "disable"]
