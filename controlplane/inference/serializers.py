"""The inference service record as the API shows and accepts it: the model by id, the policy by name
(each as its own URL addresses it)."""

from rest_framework import serializers

from controlplane.inference.models import InferenceService

from controlplane.registry.models import InferenceModel
from controlplane.scaling.selectors import policy_list


class InferenceServiceSerializer(serializers.ModelSerializer):
    model_label = serializers.StringRelatedField(source="model")
    scaling_policy = serializers.SlugRelatedField(
        slug_field="name", queryset=policy_list(), required=False, allow_null=True
    )

    class Meta:
        model = InferenceService
        fields = [
            "name", "queue", "model", "model_label", "device", "infer_requests", "threshold", "scaling_policy",
            "enabled", "status", "status_message", "status_changed",
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
