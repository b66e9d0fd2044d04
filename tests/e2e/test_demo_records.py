"""``scripts/demo_records.py``, as ``make demo`` runs it on its data directory: the street stream feeds the
people, face and car queues, a service serves each (car on builtin:vehicles), all under the default policy;
a database an older demo made (street into people and face only) is brought up to date, and a second run
changes nothing."""

from __future__ import annotations

import json

import pytest

from harness.control_plane import ControlPlane

ADMIN, PASSWORD = "demo-admin", "demo-records-pass-1"

# The built-ins marked validated, so the script has no OpenVINO validation to run here.
READY = """
from controlplane.registry.models import InferenceModel
InferenceModel.objects.filter(builtin__gt="").update(status="ready")
"""

# What an older demo left: the street into people and face, and those two services.
OLDER_DEMO = """
from controlplane.inference.actions import inference_service_create
from controlplane.registry.models import InferenceModel
from controlplane.scaling.actions import policy_create
from controlplane.streams.actions import stream_create
policy = policy_create(name="default", min_replicas=1, max_replicas=3, metric="scale_ratio", target_value=1.0)
stream_create(name="street", source_kind="file", source={clip!r}, queue="people", extra_queues=["face"], target_fps=10)
for queue, builtin in (("people", "builtin:people"), ("face", "builtin:face")):
    inference_service_create(name=queue, queue=queue, model=InferenceModel.objects.get(builtin=builtin), scaling_policy=policy)
"""

RECORDS = """
import json
from controlplane.inference.models import InferenceService
from controlplane.streams.models import Stream
street = Stream.objects.get(name="street")
print(json.dumps({
    "street": [street.queue, street.extra_queues, street.source, str(street.updated)],
    "services": {s.name: [s.queue, s.model.builtin, s.scaling_policy.name, s.enabled, s.labels, str(s.updated)]
                 for s in InferenceService.objects.select_related("model", "scaling_policy")},
}))
"""


@pytest.fixture
def control_plane(tmp_path, redis_url) -> ControlPlane:
    plane = ControlPlane(tmp_path / "data", redis_url)
    plane.workdir.mkdir()
    plane.manage("migrate", "--noinput", "-v", "0")
    plane.manage("shell", "--no-imports", "-c", READY)
    return plane


def demo_records(plane: ControlPlane, clip: str) -> dict:
    plane.run("scripts/demo_records.py", "--admin", ADMIN, "--password", PASSWORD, "--clip", clip)
    return json.loads(plane.manage("shell", "--no-imports", "-c", RECORDS).strip().splitlines()[-1])


def wanted(clip: str) -> tuple[list, dict]:
    services = {
        "people": ["people", "builtin:people", "default", True, []],
        "face": ["face", "builtin:face", "default", True, []],
        "car": ["car", "builtin:vehicles", "default", True, []],
    }
    return ["people", ["face", "car"], clip], services


def without_times(records: dict) -> tuple[list, dict]:
    return records["street"][:-1], {name: fields[:-1] for name, fields in records["services"].items()}


def test_a_fresh_demo_feeds_people_face_and_car_and_a_second_run_changes_nothing(control_plane, tmp_path):
    clip = str(tmp_path / "street.avi")
    first = demo_records(control_plane, clip)
    assert without_times(first) == wanted(clip)
    assert demo_records(control_plane, clip) == first  # not even a timestamp moved


def test_an_older_demos_database_gets_the_car_queue_and_service(control_plane, tmp_path):
    clip = str(tmp_path / "street.avi")
    control_plane.manage("shell", "--no-imports", "-c", OLDER_DEMO.format(clip=clip))
    before = json.loads(control_plane.manage("shell", "--no-imports", "-c", RECORDS).strip().splitlines()[-1])
    assert before["street"][1] == ["face"] and set(before["services"]) == {"people", "face"}

    after = demo_records(control_plane, clip)
    assert without_times(after) == wanted(clip)
    assert {name: after["services"][name] for name in ("people", "face")} == before["services"], "left as they were"
