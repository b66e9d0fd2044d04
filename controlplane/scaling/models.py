"""How an inference service's worker pool grows and shrinks: the same rule locally and on Kubernetes."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class ScalingPolicy(models.Model):
    class Metric(models.TextChoices):
        SCALE_RATIO = "scale_ratio", "Scale ratio (workers needed per worker)"
        DROP_FPS = "drop_fps", "Dropped frames per second per replica"
        INFER_FPS = "infer_fps", "Inferred frames per second per replica"
        CPU = "cpu", "CPU utilisation (%)"

    name = models.SlugField(max_length=64, unique=True)
    min_replicas = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(100)])
    max_replicas = models.PositiveSmallIntegerField(default=4, validators=[MinValueValidator(1), MaxValueValidator(100)])
    metric = models.CharField(max_length=16, choices=Metric.choices, default=Metric.SCALE_RATIO)
    target_value = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.01), MaxValueValidator(10000)],
        help_text="Average per replica that the autoscaler aims at (1.0 for the scale ratio, 80 for CPU %).",
    )
    scale_up_window_seconds = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(3600)])
    scale_down_window_seconds = models.PositiveIntegerField(default=300, validators=[MaxValueValidator(3600)])
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "scaling policies"
        constraints = [
            models.CheckConstraint(condition=models.Q(min_replicas__lte=models.F("max_replicas")), name="policy_min_le_max"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.min_replicas and self.max_replicas and self.min_replicas > self.max_replicas:
            raise ValidationError({"min_replicas": "Must not exceed max_replicas."})
