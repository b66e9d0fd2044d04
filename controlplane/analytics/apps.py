from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "controlplane.analytics"
    label = "analytics"
    verbose_name = "Analytics: tracked objects and counts"
    default_auto_field = "django.db.models.BigAutoField"
