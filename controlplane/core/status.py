"""What the reconciler writes onto the rows it keeps in step with the fleet (inference services and
streams): one set of states, the reason, and when it last changed. Imports no other app."""

from django.db import models


class FleetStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPLYING = "applying", "Applying"
    READY = "ready", "Ready"
    DEGRADED = "degraded", "Degraded"
    FAILED = "failed", "Failed"
    DISABLED = "disabled", "Disabled"


class Reconciled(models.Model):
    """Fields written by the reconciler only; user edits save other columns, so these survive them."""

    Status = FleetStatus

    status = models.CharField(max_length=16, choices=FleetStatus.choices, default=FleetStatus.PENDING)
    status_message = models.TextField(blank=True)
    status_changed = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True
