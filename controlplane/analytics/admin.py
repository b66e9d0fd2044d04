"""Events in the admin: to look at, not to write (the analyzer writes them, retention deletes them with
their snapshots; an admin delete would leave the snapshot file behind)."""

from django.contrib import admin

from controlplane.analytics.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "stream", "queue", "label", "track", "first_seen", "last_seen", "frames", "best_score"]
    list_filter = ["stream", "label"]
    search_fields = ["stream", "label", "queue"]
    date_hierarchy = "first_seen"
    readonly_fields = [field.name for field in Event._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
