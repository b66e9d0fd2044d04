"""The base of the admin pages: rows are written through the record's actions, like the API's, so the side
effects those queue (reconciling the fleet) follow admin edits too."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext

from controlplane.core.records import RecordWrites


class RecordAdmin(admin.ModelAdmin):
    """Subclasses set ``writes``; ``enable`` and ``disable`` are bulk actions for records with ``enabled``."""

    writes: RecordWrites

    def save_model(self, request, obj, form, change):
        if change:
            self.writes.update_row(obj, {name: form.cleaned_data[name] for name in form.changed_data})
        else:
            obj.pk = self.writes.create(**form.cleaned_data).pk  # the admin links and logs the row by obj.pk

    def delete_model(self, request, obj):
        self.writes.delete_row(obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def _set_enabled(self, request, queryset, enabled: bool) -> None:
        rows = [obj for obj in queryset if obj.enabled != enabled]
        for obj in rows:
            self.writes.update_row(obj, {"enabled": enabled})
        done = "Enabled" if enabled else "Disabled"
        self.message_user(request, f"{done} {len(rows)} {model_ngettext(self.opts, len(rows))}.", messages.SUCCESS)

    @admin.action(description="Enable selected %(verbose_name_plural)s", permissions=["change"])
    def enable(self, request, queryset):
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected %(verbose_name_plural)s", permissions=["change"])
    def disable(self, request, queryset):
        self._set_enabled(request, queryset, False)
