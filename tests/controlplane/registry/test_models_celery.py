"""An upload through the API is validated by a real Celery worker process, over the test Redis.

The worker must see the test's rows: on SQLite the test database is a file (tests/conftest.py makes it
one), the test commits for real (``transaction=True``), and the worker gets the database's URL.
"""

from __future__ import annotations


import pytest

from tests.controlplane.registry.model_support import BLAZEFACE, MODELS, upload
from harness.processes import wait_until
from tests.support import celery_worker as real_celery_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def celery_worker(redis_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with real_celery_worker(redis_url, tmp_path / "celery.log", settings.MEDIA_ROOT) as worker:
        yield worker


def test_an_upload_is_validated_by_a_celery_worker(api, celery_worker):
    created = upload(api, "blazeface", BLAZEFACE, task="face")
    assert created.status_code == 201, created.content
    url = f"{MODELS}{created.json()['id']}/"

    def finished():
        model = api.get(url).json()
        return model if model["status"] in ("ready", "failed") else None

    model = wait_until(finished, 120, "the worker to validate the model")
    assert model["status"] == "ready", f"{model['status_message']}\n{celery_worker.output()}"
    assert model["input_shape"] == [1, 128, 128, 3] and model["measured_fps"] > 0
    assert "controlplane.registry.tasks.validate_model" in celery_worker.output()
    assert celery_worker.terminate() == 0, "a warm shutdown on SIGTERM"
