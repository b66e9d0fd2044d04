"""The model registry and the inference services (one worker pool per frame queue)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from controlplane.core.names import wire_name
from controlplane.core.status import Reconciled


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

    class OutputFamily(models.TextChoices):
        AUTO = "auto", "Detect from the outputs"
        SSD = "ssd", "SSD DetectionOutput [1,1,N,7]"
        TF_OD = "tf_od", "TensorFlow Object Detection API"
        BLAZEFACE = "blazeface", "BlazeFace anchors"
        YOLO = "yolo", "YOLO v8/v11 [1,4+C,N]"

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
    output_family = models.CharField(max_length=16, choices=OutputFamily.choices, default=OutputFamily.AUTO)
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
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="model_name_version_unique")]

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


class InferenceService(Reconciled):
    class Device(models.TextChoices):
        CPU = "CPU", "CPU"
        GPU = "GPU", "GPU"
        AUTO = "AUTO", "AUTO"

    name = models.CharField(max_length=64, unique=True, validators=[wire_name])
    queue = models.CharField(max_length=64, unique=True, validators=[wire_name], help_text="Frame queue it serves.")
    model = models.ForeignKey(InferenceModel, on_delete=models.PROTECT, related_name="services")
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
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
