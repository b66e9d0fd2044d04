"""The model registry: uploaded and built-in models, their files and whether they can serve."""

from django.db import models

from controlplane.core.names import wire_name
from inference_worker.protocol import OUTPUT_FAMILIES


AUTO_FAMILY = "auto"  # the worker tells the family from the model's outputs


def output_family_choices() -> list[tuple[str, str]]:
    """The decoder families the workers know (one list, in the protocol); a callable, so that a new family
    needs no migration."""
    return [(AUTO_FAMILY, "Detect from the outputs"), *OUTPUT_FAMILIES.items()]


def model_upload_path(instance: "InferenceModel", filename: str) -> str:
    return f"models/{instance.name}/{instance.version}/{filename}"


class InferenceModel(models.Model):
    class Framework(models.TextChoices):
        IR = "ir", "OpenVINO IR"
        ONNX = "onnx", "ONNX"
        TFLITE = "tflite", "TensorFlow Lite"
        TF = "tf", "TensorFlow frozen graph"

    class Precision(models.TextChoices):
        FP32 = "FP32", "FP32"
        FP16 = "FP16", "FP16"
        INT8 = "INT8", "INT8"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending validation"
        VALIDATING = "validating", "Validating"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=64, validators=[wire_name])
    version = models.CharField(max_length=32, default="1", validators=[wire_name])
    task = models.CharField(max_length=32, default="detection", help_text="What it finds, e.g. face, people, vehicle.")
    labels = models.JSONField(default=list, blank=True, help_text="Label names by class id.")
    framework = models.CharField(max_length=8, choices=Framework.choices)
    precision = models.CharField(max_length=4, choices=Precision.choices, default=Precision.FP32)
    output_family = models.CharField(max_length=16, choices=output_family_choices, default=AUTO_FAMILY)
    builtin = models.CharField(
        max_length=32, blank=True, help_text="builtin:face or builtin:people: shipped with the worker, no files."
    )
    file = models.FileField(upload_to=model_upload_path, blank=True, max_length=512)
    file_sha256 = models.CharField(max_length=64, blank=True)
    weights = models.FileField(upload_to=model_upload_path, blank=True, max_length=512, help_text="The .bin of an IR model.")
    weights_sha256 = models.CharField(max_length=64, blank=True)
    input_shape = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_message = models.TextField(blank=True)
    measured_fps = models.FloatField(null=True, blank=True, help_text="Throughput measured on this machine's CPU.")
    validated_at = models.DateTimeField(null=True, blank=True)
    # A model made from another one (INT8 quantization): what it came from, what it was calibrated on, and
    # how it measured against its parent before anyone switches to it. Written by the job that made it.
    derived_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="derived",
        help_text="The model this one was made from (INT8 quantization of it); null for uploads and built-ins.",
    )
    calibration = models.JSONField(
        null=True, blank=True,
        help_text='What a quantized model was calibrated on: {"source": "stream:<name>" or "images", "frames": n}.',
    )
    speedup = models.FloatField(
        null=True, blank=True,
        help_text="Throughput of this model over its parent's, both measured on this machine in the same run "
        "with the same settings (1.6 = 1.6x faster); null until measured.",
    )
    agreement = models.JSONField(
        null=True, blank=True,
        help_text="How far this model's detections agree with its parent's on frames held out from calibration "
        "(matched by label and IoU >= 0.5, the parent as the reference): precision, recall, f1, "
        "mean_score_shift, frames, fp32_fps, int8_fps; null until measured.",
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "inference_inferencemodel"  # the table it had before the registry became its own app
        ordering = ["name", "version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="model_name_version_unique")]

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"
