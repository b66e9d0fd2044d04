"""How an inference service's worker pool grows and shrinks: the same rule locally and on Kubernetes."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from controlplane.core.named import NamedRecord
from controlplane.scaling.metrics import metric_choices


class ScalingPolicy(NamedRecord):
    name = models.SlugField(max_length=64, unique=True)
    min_replicas = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(100)])
    max_replicas = models.PositiveSmallIntegerField(default=4, validators=[MinValueValidator(1), MaxValueValidator(100)])
    metric = models.CharField(max_length=16, choices=metric_choices, default="scale_ratio")
    target_value = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.01), MaxValueValidator(10000)],
        help_text="Average per replica that the autoscaler aims at (1.0 for the scale ratio, 80 for CPU %).",
    )
    scale_up_window_seconds = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(3600)])
    scale_down_window_seconds = models.PositiveIntegerField(default=300, validators=[MaxValueValidator(3600)])

    class Meta(NamedRecord.Meta):
        verbose_name_plural = "scaling policies"
        constraints = [
            models.CheckConstraint(condition=models.Q(min_replicas__lte=models.F("max_replicas")), name="policy_min_le_max"),
        ]

    def clean(self):
        if self.min_replicas and self.max_replicas and self.min_replicas > self.max_replicas:
            raise ValidationError({"min_replicas": "Must not exceed max_replicas."})


class ScalingEvent(models.Model):
    """One scaling decision: the local autoscaler's, or an HPA change the reconciler observed. Kept so that
    every step can be explained afterwards: what the metric was, against which target, and why."""

    service = models.ForeignKey(
        "inference.InferenceService", on_delete=models.SET_NULL, null=True, blank=True, related_name="scaling_events"
    )
    service_name = models.CharField(max_length=64, help_text="Kept when the service is deleted or renamed.")
    time = models.DateTimeField(db_index=True)
    backend = models.CharField(max_length=16)
    metric = models.CharField(max_length=16, blank=True)
    metric_value = models.FloatField(null=True, blank=True, help_text="Average per replica when it was decided.")
    target_value = models.FloatField(null=True, blank=True)
    from_replicas = models.PositiveIntegerField()
    to_replicas = models.PositiveIntegerField()
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-time", "-id"]

    def __str__(self) -> str:
        return f"{self.service_name}: {self.from_replicas} -> {self.to_replicas} at {self.time:%Y-%m-%d %H:%M:%S}"
