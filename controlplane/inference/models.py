"""Inference services: one worker pool per frame queue, serving one model of the registry."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from controlplane.core.named import NamedRecord
from controlplane.core.names import wire_name
from controlplane.core.status import Reconciled


class InferenceService(NamedRecord, Reconciled):
    class Device(models.TextChoices):
        CPU = "CPU", "CPU"
        GPU = "GPU", "GPU"
        AUTO = "AUTO", "AUTO"

    name = models.CharField(max_length=64, unique=True, validators=[wire_name])
    queue = models.CharField(max_length=64, unique=True, validators=[wire_name], help_text="Frame queue it serves.")
    model = models.ForeignKey("registry.InferenceModel", on_delete=models.PROTECT, related_name="services")
    device = models.CharField(max_length=8, choices=Device.choices, default=Device.CPU)
    infer_requests = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(64)], help_text="Per worker; 0 lets the worker choose."
    )
    threshold = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.01), MaxValueValidator(0.99)],
        help_text="Minimum score; empty uses the model's default.",
    )
    scaling_policy = models.ForeignKey(
        "scaling.ScalingPolicy", on_delete=models.PROTECT, null=True, blank=True, related_name="services"
    )
    enabled = models.BooleanField(default=True)
    # Written by the reconciler only, with the status: what the backend reports.
    replicas_desired = models.PositiveIntegerField(null=True, blank=True, help_text="What the autoscaler wants.", editable=False)
    replicas_current = models.PositiveIntegerField(null=True, blank=True, help_text="Workers that exist.", editable=False)
    replicas_ready = models.PositiveIntegerField(null=True, blank=True, help_text="Workers doing work.", editable=False)
    conditions = models.JSONField(default=list, blank=True, help_text="The backend's conditions, e.g. the HPA's.", editable=False)
