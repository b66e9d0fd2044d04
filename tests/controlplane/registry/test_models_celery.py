"""An upload through the API is validated by a real Celery worker process, over the test Redis.

The worker must see the test's rows: on SQLite the test database is a file (tests/conftest.py makes it
one), the test commits for real (``transaction=True``), and the worker gets the database's URL.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.controlplane.registry.model_support import BLAZEFACE, MODELS, upload
from harness.processes import Proc, wait_until
from tests.support import database_url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def celery_worker(redis_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    worker = Proc(
        [sys.executable, "-m", "celery", "-A", "controlplane", "worker", "--pool", "solo", "--concurrency", "1", "-l", "info"],
        tmp_path / "celery.log",
        env={
            "DJANGO_SETTINGS_MODULE": "controlplane.config.settings", "REDIS_URL": redis_url,
            "EI_DATA_DIR": os.environ["EI_DATA_DIR"], "DATABASE_URL": database_url(),
            "EI_MEDIA_ROOT": str(settings.MEDIA_ROOT), "CELERY_TASK_ALWAYS_EAGER": "false",
        },
    )
    try:
        wait_until(lambda: " ready." in worker.output() or worker.popen.poll() is not None, 60, "the Celery worker")
        assert worker.popen.poll() is None, worker.output()
        yield worker
    finally:
        if worker.popen.poll() is None:
            try:
                worker.terminate()
            except subprocess.TimeoutExpired:
                worker.kill()


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
