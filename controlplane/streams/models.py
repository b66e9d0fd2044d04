"""Video sources: cameras, files, RTSP/HTTP URLs, or producers run elsewhere that push on their own."""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from controlplane.core.named import NamedRecord
from controlplane.core.names import wire_name
from controlplane.core.status import Reconciled
from inference_worker.protocol import valid_name
from producers.camera import camera_index

URL_SCHEMES = ("rtsp", "rtsps", "http", "https")


def _is_stream_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # raises ValueError on a port that is not a number
    except ValueError:
        return False
    return parts.scheme in URL_SCHEMES and bool(parts.hostname)


class Stream(NamedRecord, Reconciled):
    class SourceKind(models.TextChoices):
        CAMERA = "camera", "Camera device"
        FILE = "file", "Video file"
        URL = "url", "RTSP/HTTP URL"
        EXTERNAL = "external", "External producer"

    name = models.CharField(max_length=64, unique=True, validators=[wire_name])
    source_kind = models.CharField(max_length=16, choices=SourceKind.choices)
    source = models.CharField(
        max_length=1024, blank=True,
        help_text="Camera device index, file path, or rtsp:// / http(s):// URL; empty for external producers.",
    )
    queue = models.CharField(max_length=64, validators=[wire_name], help_text="Inference type the frames go to.")
    extra_queues = models.JSONField(
        default=list, blank=True, help_text="Further queues the same frames go to (one producer feeds several)."
    )
    target_fps = models.PositiveSmallIntegerField(default=15, validators=[MinValueValidator(1), MaxValueValidator(120)])
    enabled = models.BooleanField(default=True)

    @property
    def queues(self) -> list[str]:
        return list(dict.fromkeys([self.queue, *self.extra_queues]))  # rows saved before the rule may repeat

    def clean(self):
        """Refuse a source its kind's producer could never open, so the mistake shows when it is typed."""
        if self.extra_queues is None:  # an empty admin field
            self.extra_queues = []
        if not isinstance(self.extra_queues, list) or not all(
            isinstance(q, str) and valid_name(q) for q in self.extra_queues
        ):
            raise ValidationError({"extra_queues": "A list of queue names (letters, digits, '_', '.', '-')."})
        if self.queue in self.extra_queues:
            raise ValidationError({"extra_queues": f"{self.queue} is the stream's own queue already."})
        repeated = sorted({q for q in self.extra_queues if self.extra_queues.count(q) > 1})
        if repeated:
            raise ValidationError({"extra_queues": f"Each queue once: {', '.join(repeated)} appears more than once."})
        source = self.source
        if self.source_kind == self.SourceKind.CAMERA:
            try:
                camera_index(source)
            except ValueError as exc:
                raise ValidationError({"source": str(exc)}) from None
        elif self.source_kind == self.SourceKind.FILE:
            if not source.strip():
                raise ValidationError({"source": "A video file needs its path."})
        elif self.source_kind == self.SourceKind.URL:
            if not _is_stream_url(source):
                raise ValidationError({"source": "Use an rtsp://, rtsps://, http:// or https:// URL with a host."})
        elif self.source_kind == self.SourceKind.EXTERNAL and source:
            raise ValidationError({"source": "An external producer pushes frames itself: leave the source empty."})
