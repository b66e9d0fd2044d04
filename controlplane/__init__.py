"""The control plane: desired state in the database, the REST API, websockets, and fleet telemetry.

``celery -A controlplane worker`` finds the Celery app here.
"""

from controlplane.config.celery import app as celery_app

__all__ = ["celery_app"]
