from django.apps import AppConfig


class TelemetryConfig(AppConfig):
    name = "controlplane.telemetry"
    label = "telemetry"

    def ready(self):
        from controlplane.telemetry.collectors import register_fleet_collector

        register_fleet_collector()
