"""The inference service record as the API shows and accepts it: the model by id, the policy by name
(each as its own URL addresses it)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from controlplane.inference.models import (
    MAX_LABEL_LENGTH, MAX_LABELS, InferenceService, label_list_problem, unknown_labels_problem,
)
from controlplane.inference.scaling_view import service_scaling

from controlplane.registry.models import InferenceModel
from controlplane.scaling.selectors import policy_list


class LabelName(serializers.CharField):
    """A label's name as JSON gives it: a string (DRF's CharField would take 7 for "7")."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ReplicaMetricSerializer(serializers.Serializer):
    worker = serializers.CharField(help_text="Worker id, as in its heartbeat.")
    value = serializers.FloatField(allow_null=True, help_text="Its reading of the metric; null for CPU, which no heartbeat carries.")
    updated_at = serializers.DateTimeField(help_text="Time of its last heartbeat.")


class ScalingSerializer(serializers.Serializer):
    """Why the pool has the size it has: the policy's metric per replica against its target, and the reason."""

    metric = serializers.CharField(help_text="The policy's metric.")
    pod_metric = serializers.CharField(allow_null=True, help_text="The Pods metric the HPA reads; null for CPU (a Resource metric).")
    target = serializers.FloatField(help_text="The policy's target average per replica.")
    min_replicas = serializers.IntegerField()
    max_replicas = serializers.IntegerField()
    per_replica = ReplicaMetricSerializer(
        many=True, help_text="The live workers of this backend (on Kubernetes, of its namespace), each with its value.",
    )
    average = serializers.FloatField(allow_null=True, help_text="Mean over per_replica; null with no value.")
    wanted_replicas = serializers.IntegerField(
        allow_null=True, help_text="On Kubernetes the HPA's desired replicas; locally the HPA rule applied to the "
        "average, within min and max. Null while unknown.",
    )
    reason = serializers.CharField(
        allow_blank=True, help_text="In plain words: what the rule makes of the average, a bound that holds the pool, "
        "or why no decision can be made (the HPA cannot read the metric, no worker reports, Redis is away); "
        "empty when the pool stays as it is.",
    )


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
    scaling = serializers.SerializerMethodField(help_text="Why it scaled, or did not; null without a scaling policy.")

    class Meta:
        model = InferenceService
        fields = [
            "name", "queue", "model", "model_label", "device", "infer_requests", "threshold", "labels",
            "scaling_policy", "enabled", "status", "status_message", "status_changed",
            "replicas_desired", "replicas_current", "replicas_ready", "conditions", "scaling", "created", "updated",
        ]
        read_only_fields = [
            "status", "status_message", "status_changed",
            "replicas_desired", "replicas_current", "replicas_ready", "conditions", "created", "updated",
        ]

    @extend_schema_field(ScalingSerializer(allow_null=True))
    def get_scaling(self, service: InferenceService) -> dict | None:
        """``context["heartbeats"]``: a call that reads the fleet once per request (the view's)."""
        scaling = service_scaling(service, self.context["heartbeats"]())
        return None if scaling is None else ScalingSerializer(scaling).data

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
