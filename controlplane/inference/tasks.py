"""Celery tasks of the model registry: JSON arguments only."""

from celery import shared_task

from controlplane.inference import validation


@shared_task(acks_late=True, ignore_result=True)
def validate_model(model_id: int) -> None:
    """Validate one model. Safe to run twice (a late ack may deliver it again); a deleted model is a no-op."""
    validation.model_validate(model_id=model_id)
