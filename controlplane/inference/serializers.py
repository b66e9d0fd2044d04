"""The inference service record as the API shows and accepts it: the model by id, the policy by name
(each as its own URL addresses it)."""

from rest_framework import serializers

from controlplane.inference.models import (
    MAX_LABEL_LENGTH, MAX_LABELS, InferenceService, label_list_problem, unknown_labels_problem,
)

from controlplane.registry.models import InferenceModel
from controlplane.scaling.selectors import policy_list


class LabelName(serializers.CharField):
    """A label's name as JSON gives it: a string (DRF's CharField would take 7 for "7")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class InferenceServiceSerializer(serializers.ModelSerializer):
    model_label = serializers.StringRelatedField(source="model")
    scaling_policy = serializers.SlugRelatedField(
        slug_field="name", queryset=policy_list(), required=False, allow_null=True
    )
    labels = serializers.ListField(
        child=LabelName(max_length=MAX_LABEL_LENGTH), required=False, max_length=MAX_LABELS,
        help_text="Label names the workers report (names of the model's label table, each once, no commas); "
                  "empty reports the model's default selection.",
    )

    class Meta:
        model = InferenceService
        fields = [
            "name", "queue", "model", "model_label", "device", "infer_requests", "threshold", "labels",
            "scaling_policy", "enabled", "status", "status_message", "status_changed",
            "replicas_desired", "replicas_current", "replicas_ready", "conditions", "created", "updated",
        ]
        read_only_fields = [
            "status", "status_message", "status_changed",
            "replicas_desired", "replicas_current", "replicas_ready", "conditions", "created", "updated",
        ]

    def validate_model(self, model: InferenceModel) -> InferenceModel:
        """A model that failed validation would only crash the workers; one already in use may stay."""
        if model.status == InferenceModel.Status.FAILED and getattr(self.instance, "model_id", None) != model.pk:
            raise serializers.ValidationError(
                f"Model {model} failed validation ({model.status_message or 'no reason given'}); use a working one."
            )
        return model

    def validate_labels(self, labels: list[str]) -> list[str]:
        problem = label_list_problem(labels)
        if problem:
            raise serializers.ValidationError(problem)
        return labels

    def validate(self, attrs: dict) -> dict:
        """Every label is one the model names (a partial update checks the labels it keeps against a new model)."""
        model = attrs.get("model", getattr(self.instance, "model", None))
        labels = attrs.get("labels", getattr(self.instance, "labels", None) or [])
        problem = model is not None and unknown_labels_problem(labels, model)
        if problem:
            raise serializers.ValidationError({"labels": [problem]})
        return attrs
