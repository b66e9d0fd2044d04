"""Video sources: cameras, files, RTSP/HTTP URLs, or producers run elsewhere that push on their own."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from controlplane.names import wire_name


class Stream(models.Model):
    class SourceKind(models.TextChoices):
        CAMERA = "camera", "Camera device"
        FILE = "file", "Video file"
        URL = "url", "RTSP/HTTP URL"
        EXTERNAL = "external", "External producer"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=64, unique=True, validators=[wire_name])
    source_kind = models.CharField(max_length=16, choices=SourceKind.choices)
    source = models.CharField(
        max_length=1024, blank=True,
        help_text="Camera device index, file path, or rtsp:// / http(s):// URL; empty for external producers.",
    )
    queue = models.CharField(max_length=64, validators=[wire_name], help_text="Inference type the frames go to.")
    target_fps = models.PositiveSmallIntegerField(default=15, validators=[MinValueValidator(1), MaxValueValidator(120)])
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_message = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
