"""Celery tasks of the model registry: JSON arguments only."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def validate_model(model_id: int) -> None:
    """Validate one model. Safe to run twice (a late ack may deliver it again); a deleted model is a no-op."""
    # Imported here, not above: the web process imports this module to queue the task, and must not load
    # OpenVINO and OpenCV, which only the run needs.
    from controlplane.registry.validation import model_validate

    model_validate(model_id=model_id)
