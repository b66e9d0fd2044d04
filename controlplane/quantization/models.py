"""Quantization jobs: an FP32 (or FP16) model of the registry made INT8 with NNCF, calibrated on frames of a
stream's results or on uploaded images, then measured against its parent. The result is a new registry model."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

MIN_FRAMES = 8
MAX_FRAMES = 2000
DEFAULT_FRAMES = 300


def holdout_for(frame_count: int) -> int:
    """Frames kept out of calibration to measure the INT8 model against its parent on."""
    return max(MIN_FRAMES, frame_count // 4)


class QuantizationJob(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        COLLECTING = "collecting", "Collecting frames"
        QUANTIZING = "quantizing", "Quantizing"
        VALIDATING = "validating", "Validating"
        MEASURING = "measuring", "Measuring"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    RUNNING = (State.COLLECTING, State.QUANTIZING, State.VALIDATING, State.MEASURING)
    ACTIVE = (State.QUEUED, *RUNNING)
    ENDED = (State.DONE, State.FAILED, State.CANCELLED)

    # CASCADE: a job is about its model; deleting the model (allowed only when no service uses it) takes its
    # jobs along. The model a job made survives it (SET_NULL below).
    model = models.ForeignKey(
        "registry.InferenceModel", on_delete=models.CASCADE, related_name="quantizations",
        help_text="The model quantized (the parent).",
    )
    stream = models.ForeignKey(
        "streams.Stream", on_delete=models.SET_NULL, null=True, blank=True, related_name="quantizations",
        help_text="The stream whose results give the frames; null for uploaded images or a deleted stream.",
    )
    stream_name = models.CharField(max_length=64, blank=True, help_text="The stream's name, kept if it is deleted.")
    images_folder = models.CharField(
        max_length=255, blank=True, help_text="Storage folder of the uploaded images, emptied when the job ends."
    )
    images = models.JSONField(default=list, blank=True, help_text="Storage names of the uploaded images.")
    frame_count = models.PositiveIntegerField(
        default=DEFAULT_FRAMES, validators=[MinValueValidator(MIN_FRAMES), MaxValueValidator(MAX_FRAMES)],
        help_text="Frames to calibrate on.",
    )
    holdout = models.PositiveIntegerField(help_text="Further frames, held out of calibration, to measure on.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    collected = models.PositiveIntegerField(default=0, help_text="Distinct frames collected so far.")
    progress = models.FloatField(default=0.0, help_text="0..1 over the whole job.")
    message = models.TextField(blank=True, help_text="What it is doing; on failure, why it failed.")
    cancel_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=255, blank=True, help_text="The Celery worker running it.")
    result = models.ForeignKey(
        "registry.InferenceModel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The INT8 model it made.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    @property
    def source(self) -> str:
        return f"stream:{self.stream_name}" if self.stream_name else "images"

    @property
    def frames_needed(self) -> int:
        return self.frame_count + self.holdout

    def __str__(self) -> str:
        return f"quantization {self.pk} of model {self.model_id}"
