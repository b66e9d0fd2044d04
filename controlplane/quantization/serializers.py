"""Shapes of the quantization API: the two ways to start a job (JSON with a stream, multipart with images)
and the job as it runs. Validation only; the checks that need the records are in the actions."""

from __future__ import annotations

from rest_framework import serializers

from controlplane.quantization.models import DEFAULT_FRAMES, MAX_FRAMES, MIN_FRAMES, QuantizationJob, holdout_for

FRAMES_HELP = (
    f"Frames to calibrate on, {MIN_FRAMES}..{MAX_FRAMES} (default {DEFAULT_FRAMES} from a stream; from images, "
    "as many as they give). A further quarter of that (at least 8) is held out of calibration to measure the "
    "INT8 model against its parent on."
)


class QuantizeStreamSerializer(serializers.Serializer):
    """Calibrate on the frames of a stream's results: what is there first, then new results as they come."""

    stream = serializers.CharField(max_length=64, help_text="The stream whose results give the frames.")
    frames = serializers.IntegerField(
        min_value=MIN_FRAMES, max_value=MAX_FRAMES, default=DEFAULT_FRAMES, help_text=FRAMES_HELP
    )


class QuantizeImagesSerializer(serializers.Serializer):
    """Calibrate on uploaded pictures (JPEG, PNG, BMP, WebP or TIFF): ``images`` repeated, one file each."""

    images = serializers.ListField(
        child=serializers.FileField(max_length=200, allow_empty_file=True), min_length=1,
        max_length=MAX_FRAMES + holdout_for(MAX_FRAMES),
        help_text=f"The pictures, the first ones to calibrate on, the last ones held out; at least "
        f"{MIN_FRAMES + holdout_for(MIN_FRAMES)}.",
    )
    frames = serializers.IntegerField(min_value=MIN_FRAMES, max_value=MAX_FRAMES, required=False, help_text=FRAMES_HELP)


class QuantizationJobSerializer(serializers.ModelSerializer):
    """A quantization job: what it quantizes, on what, how far it got, and what it made."""

    model_name = serializers.SerializerMethodField(help_text="The parent as name:version.")
    source = serializers.CharField(read_only=True, help_text='"stream:<name>" or "images".')
    stream = serializers.CharField(
        source="stream_name", read_only=True, allow_null=True,
        help_text="The stream whose results give the frames (kept if it is deleted); null for uploaded images.",
    )
    image_count = serializers.SerializerMethodField(help_text="Uploaded images still held (0 once the job ended).")
    frames_needed = serializers.IntegerField(read_only=True, help_text="frame_count + holdout.")
    result_name = serializers.SerializerMethodField(help_text="The model it made as name:version, or null.")
    progress = serializers.FloatField(read_only=True, min_value=0, max_value=1, help_text="0..1 over the whole job.")

    class Meta:
        model = QuantizationJob
        fields = [
            "id", "model", "model_name", "source", "stream", "image_count", "frame_count", "holdout", "frames_needed",
            "state", "collected", "progress", "message", "cancel_requested", "result", "result_name", "created",
            "updated", "finished",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "model": {"help_text": "Id of the model quantized (the parent)."},
            "result": {"help_text": "Id of the INT8 model it made; set once it is registered, null if it failed."},
            "frame_count": {"help_text": "Frames it calibrates on."},
            "state": {"help_text": "queued, collecting, quantizing, validating, measuring, then done, failed or cancelled."},
            "message": {"help_text": "What it is doing; once ended, what it made or why it failed or stopped."},
            "cancel_requested": {"help_text": "A cancel was asked for; a running job stops at its next check."},
        }

    def get_model_name(self, job) -> str:
        return str(job.model)

    def get_image_count(self, job) -> int:
        return len(job.images)

    def get_result_name(self, job) -> str | None:
        return str(job.result) if job.result_id else None

    def to_representation(self, job):
        data = super().to_representation(job)
        data["stream"] = data["stream"] or None
        return data
