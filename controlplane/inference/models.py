"""Inference services: one worker pool per frame queue, serving one model of the registry."""

import difflib

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from controlplane.core.named import NamedRecord
from controlplane.core.names import wire_name
from controlplane.core.status import Reconciled

MAX_LABELS = 100
MAX_LABEL_LENGTH = 128


def label_list_problem(labels) -> str | None:
    """What is wrong with a selection of labels as such, or None: the workers take it as one comma-separated
    flag (``--keep-labels a,b``), so each name is a non-empty string without commas, named once."""
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        return "A list of label names, e.g. [\"car\", \"bus\"]."
    if len(labels) > MAX_LABELS:
        return f"At most {MAX_LABELS} labels."
    for label in labels:
        if not label.strip():
            return "A label name cannot be empty."
        if label != label.strip():
            return f"Label {label!r} has spaces around it."
        if "," in label:
            return f"Label {label!r} contains a comma: the workers take the labels comma-separated."
        if len(label) > MAX_LABEL_LENGTH:
            return f"Label names have at most {MAX_LABEL_LENGTH} characters."
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        return f"Each label once: {', '.join(repeated)} appears more than once."
    return None


def unknown_labels_problem(labels: list[str], model) -> str | None:
    """Names the model's label table (class id -> name) lacks, with a few it has; None when all are known
    or the model has no table (then the workers cannot tell a name from a typo)."""
    table = [name for name in (model.labels or []) if isinstance(name, str)]
    if not table:
        return None
    known = set(table)
    unknown = [label for label in labels if label not in known]
    if not unknown:
        return None
    close = [match for label in unknown for match in difflib.get_close_matches(label, table, n=3)]
    suggestions = list(dict.fromkeys([*close, *table]))[:8]
    return (
        f"Model {model} has no label {', '.join(unknown)}. "
        f"Its labels include {', '.join(suggestions)} ({len(table)} in all)."
    )


class InferenceService(NamedRecord, Reconciled):
    class Device(models.TextChoices):
        CPU = "CPU", "CPU"
        GPU = "GPU", "GPU"
        AUTO = "AUTO", "AUTO"

    name = models.CharField(max_length=64, unique=True, validators=[wire_name])
    queue = models.CharField(max_length=64, unique=True, validators=[wire_name], help_text="Frame queue it serves.")
    model = models.ForeignKey("registry.InferenceModel", on_delete=models.PROTECT, related_name="services")
    device = models.CharField(max_length=8, choices=Device.choices, default=Device.CPU)
    infer_requests = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(64)], help_text="Per worker; 0 lets the worker choose."
    )
    threshold = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0.01), MaxValueValidator(0.99)],
        help_text="Minimum score; empty uses the model's default.",
    )
    labels = models.JSONField(
        default=list, blank=True,
        help_text="Label names the workers report, e.g. [\"car\", \"bus\"]; empty reports the model's default selection.",
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

    def clean(self):
        """The label selection fits the worker flag and the model's label table (as the API checks it), so the
        admin refuses what the API refuses."""
        if self.labels is None:  # an empty admin field
            self.labels = []
        problem = label_list_problem(self.labels)
        if problem is None:
            try:
                problem = unknown_labels_problem(self.labels, self.model)
            except ObjectDoesNotExist:  # no model or a missing one: its own field says so
                pass
        if problem:
            raise ValidationError({"labels": problem})
