"""FP32 and INT8 side by side, as the original ran them: one stream fed into two queues, a service on each
with its own workers, and then one API call switches a service to the other model (the workers roll)."""

from __future__ import annotations

import openvino as ov
import pytest
from django.core.files import File

from controlplane.inference.actions import inference_service_create, inference_service_update
from controlplane.orchestration.reconciler import reconcile
from controlplane.registry.actions import model_create
from controlplane.registry.models import InferenceModel
from controlplane.registry.validation import model_validate
from controlplane.streams.actions import stream_create
from harness.processes import wait_until
from inference_worker.fleet import live_workers
from inference_worker.model_store import load_model
from inference_worker.quantization import quantize
from tests.support import VTEST, results, vtest_jpegs

pytestmark = pytest.mark.django_db(transaction=True)  # the supervisor process reads these rows


@pytest.fixture
def people_int8(people_model, settings, tmp_path):
    """builtin:people quantized on a few street frames, stored in the registry where the supervisor's
    workers find uploads (its data directory is this test's tmp_path), and validated for real."""
    settings.MEDIA_ROOT = tmp_path / "media"
    xml = tmp_path / "int8" / "people-int8.xml"
    xml.parent.mkdir()
    ov.save_model(quantize(load_model(ov.Core(), "builtin:people"), vtest_jpegs(16, every=8)), str(xml),
                  compress_to_fp16=False)
    with xml.open("rb") as graph, xml.with_suffix(".bin").open("rb") as weights:
        model = model_create(
            name="people-int8", file=File(graph, name=xml.name), weights=File(weights, name="people-int8.bin"),
            task="people", labels=people_model.labels, precision=InferenceModel.Precision.INT8,
            output_family="tf_od", derived_from=people_model, queue_validation=False,
        )
    return model_validate(model_id=model.pk)


def worker(r, queue: str) -> dict | None:
    return next((w for w in live_workers(r) if w.get("queue") == queue), None)


def boxes_by_queue(r) -> dict[str, int]:
    """Results with at least one person, per queue, among those the stream holds."""
    found: dict[str, int] = {}
    for meta, _ in results(r, "street"):
        if any(d["label"] == "person" for d in meta["detections"]):
            found[meta["queue"]] = found.get(meta["queue"], 0) + 1
    return found


def test_fp32_and_int8_serve_one_stream_and_a_service_switches_models(
    supervisor, local_backend, people_model, people_int8, r
):
    assert people_int8.status == InferenceModel.Status.READY, people_int8.status_message
    fp32 = inference_service_create(name="people", queue="people", model=people_model)
    inference_service_create(name="people-int8", queue="people-int8", model=people_int8)
    stream_create(name="street", source_kind="file", source=str(VTEST), queue="people",
                  extra_queues=["people-int8"], target_fps=10)
    reconcile(backend=local_backend)

    wait_until(lambda: set(boxes_by_queue(r)) >= {"people", "people-int8"}, 120, "people boxed by both services")
    before = wait_until(lambda: worker(r, "people"), 30, "the people worker's heartbeat")
    assert before["model"] == "builtin:people"
    assert wait_until(lambda: worker(r, "people-int8"), 30, "the INT8 worker's heartbeat")["model"].endswith(".xml")  # the stored INT8 IR

    inference_service_update(service=fp32, model=people_int8)
    reconcile(backend=local_backend)

    def switched():
        now = worker(r, "people")
        return now if now and now["pid"] != before["pid"] and now["model"].endswith(".xml") else None

    wait_until(switched, 120, "the people service's workers to roll onto the INT8 model")
    wait_until(lambda: any(meta["queue"] == "people" and meta["model"].endswith(".xml")
                           for meta, _ in results(r, "street")), 60, "results of the switched service")
