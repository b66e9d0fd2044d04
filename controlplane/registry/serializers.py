"""Shapes of the model registry's API: an upload (multipart) and the record. Validation only."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from controlplane.registry import actions, selectors
from controlplane.registry.models import InferenceModel
from controlplane.registry.uploads import FRAMEWORK_BY_SUFFIX, upload_problem

MAX_LABELS = 1000


@extend_schema_field({"type": "array", "items": {"type": "string", "maxLength": 64}, "maxItems": MAX_LABELS})
class LabelsField(serializers.Field):
    """Label names by class id: a JSON list; in a form also repeated fields, one JSON list, or names
    separated by commas."""

    default_error_messages = {
        "invalid": 'Give a list of names: ["background", "person"] or background,person.',
        "too_many": f"At most {MAX_LABELS} labels.",
    }

    def get_value(self, dictionary):
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            values = dictionary.getlist(self.field_name)
            return values[0] if len(values) == 1 else values
        return super().get_value(dictionary)

    def to_internal_value(self, data):
        if isinstance(data, str):
            text = data.strip()
            if text.startswith("["):
                try:
                    data = json.loads(text)
                except ValueError:
                    self.fail("invalid")
            else:
                data = [part.strip() for part in text.split(",")] if text else []
        if not isinstance(data, list) or not all(isinstance(label, str) and 0 < len(label) <= 64 for label in data):
            self.fail("invalid")
        if len(data) > MAX_LABELS:
            self.fail("too_many")
        return data

    def to_representation(self, value):
        return value


def _unique(attrs: dict, instance: InferenceModel | None = None) -> None:
    name = attrs.get("name", instance.name if instance else None)
    version = attrs.get("version", instance.version if instance else InferenceModel._meta.get_field("version").default)
    if selectors.model_version_taken(name=name, version=version, exclude_id=instance.pk if instance else None):
        raise actions.version_taken(name, version)


def _size_problem(upload) -> str | None:
    limit = settings.EI_MAX_MODEL_UPLOAD_BYTES
    if upload.size > limit:
        return f"The file has {upload.size} bytes; at most {limit} are accepted (EI_MAX_MODEL_UPLOAD_BYTES)."
    return None


class CalibrationSerializer(serializers.Serializer):
    """What a quantized model was calibrated on."""

    source = serializers.CharField(help_text='"stream:<name>" (frames from that stream\'s results) or "images" (uploaded).')
    frames = serializers.IntegerField(help_text="How many frames the calibration used.")


class AgreementSerializer(serializers.Serializer):
    """A derived model against its parent on frames held out from calibration, both run on this machine in the
    same run with the same settings. Detections are matched by label and IoU >= 0.5, the parent's taken as
    the reference."""

    precision = serializers.FloatField(help_text="Share of this model's detections that match one of the parent's, 0..1.")
    recall = serializers.FloatField(help_text="Share of the parent's detections this model finds too, 0..1.")
    f1 = serializers.FloatField(help_text="Harmonic mean of precision and recall, 0..1.")
    mean_score_shift = serializers.FloatField(
        allow_null=True,
        help_text="Mean of (this model's score - the parent's) over matched detections; negative: less confident. "
        "Null when no detection matched.",
    )
    frames = serializers.IntegerField(help_text="Held-out frames compared.")
    fp32_fps = serializers.FloatField(help_text="The parent's throughput in that run, frames per second.")
    int8_fps = serializers.FloatField(help_text="This model's throughput in that run, frames per second.")


class InferenceModelSerializer(serializers.ModelSerializer):
    """A model as the API shows it; name, version, task, labels, precision and output_family are editable.
    A quantized model also says what it was made from and how it measured against it (read-only)."""

    labels = LabelsField(required=False)
    file = serializers.FileField(read_only=True, use_url=False)
    weights = serializers.FileField(read_only=True, use_url=False)
    derived_from = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True,
        help_text="Id of the model this one was made from (INT8 quantization of it); null for uploads and built-ins.",
    )
    calibration = serializers.SerializerMethodField(
        help_text="What a quantized model was calibrated on; null for others."
    )
    speedup = serializers.FloatField(
        read_only=True, allow_null=True,
        help_text="This model's throughput over its parent's, both measured on this machine in the same run with "
        "the same settings: 1.6 means 1.6x faster. Null unless it was derived and measured.",
    )
    agreement = serializers.SerializerMethodField(
        help_text="How well this model's detections agree with its parent's on frames held out from calibration. "
        "Null unless it was derived and measured.",
    )

    class Meta:
        model = InferenceModel
        fields = [
            "id", "name", "version", "task", "labels", "framework", "precision", "output_family", "builtin",
            "file", "file_sha256", "weights", "weights_sha256", "input_shape", "status", "status_message",
            "measured_fps", "derived_from", "calibration", "speedup", "agreement", "validated_at", "created", "updated",
        ]
        read_only_fields = [
            "framework", "builtin", "file_sha256", "weights_sha256", "input_shape", "status", "status_message",
            "measured_fps", "derived_from", "calibration", "speedup", "agreement", "validated_at", "created", "updated",
        ]
        validators = []  # name + version uniqueness is checked in validate(), with the field named

    @extend_schema_field(CalibrationSerializer(allow_null=True))
    def get_calibration(self, model) -> dict | None:
        return model.calibration

    @extend_schema_field(AgreementSerializer(allow_null=True))
    def get_agreement(self, model) -> dict | None:
        return model.agreement

    def validate(self, attrs):
        for field in ("file", "weights"):
            if field in self.initial_data:
                raise serializers.ValidationError({field: ["Files cannot be replaced; upload a new version."]})
        _unique(attrs, self.instance)
        return attrs


class ModelUploadSerializer(serializers.ModelSerializer):
    """An upload: ``file`` is the model (.xml, .onnx, .tflite or .pb), ``weights`` the .bin of an .xml."""

    labels = LabelsField(required=False)
    file = serializers.FileField(max_length=200)
    weights = serializers.FileField(required=False, max_length=200)

    class Meta:
        model = InferenceModel
        fields = ["name", "version", "task", "labels", "precision", "output_family", "file", "weights"]
        validators = []

    def validate_file(self, upload):
        suffix = Path(upload.name).suffix.lower()
        if suffix not in FRAMEWORK_BY_SUFFIX:
            raise serializers.ValidationError(
                f"Unsupported file type {suffix or '(none)'!r}; use one of {', '.join(FRAMEWORK_BY_SUFFIX)}."
            )
        too_big = _size_problem(upload)
        if too_big:
            raise serializers.ValidationError(too_big)
        problem = upload_problem(upload)
        if problem:
            raise serializers.ValidationError(f"{upload.name} {problem}.")
        return upload

    def validate_weights(self, upload):
        if Path(upload.name).suffix.lower() != ".bin":
            raise serializers.ValidationError("The weights of an OpenVINO IR model are a .bin file.")
        problem = _size_problem(upload)
        if problem:
            raise serializers.ValidationError(problem)
        return upload

    def validate(self, attrs):
        is_ir = Path(attrs["file"].name).suffix.lower() == ".xml"
        if is_ir and "weights" not in attrs:
            raise serializers.ValidationError({"weights": ["An OpenVINO IR .xml needs its .bin weights."]})
        if not is_ir and "weights" in attrs:
            raise serializers.ValidationError({"weights": ["Only an OpenVINO IR .xml takes a weights file."]})
        _unique(attrs)
        return attrs
