"""The demo's records, made idempotently through the service functions: an admin, a policy, the street
stream (a video file played into the people, face and car queues) and the people, face and car services
(car on the COCO detector, builtin:vehicles); then the built-in models are validated if they are not yet.
A database of an older demo is brought up to date: the stream is updated, the missing services made."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import Q  # noqa: E402

from controlplane.inference.models import InferenceService  # noqa: E402

from controlplane.registry.models import InferenceModel
from controlplane.inference.actions import inference_service_create  # noqa: E402
from controlplane.scaling.models import ScalingPolicy  # noqa: E402
from controlplane.scaling.actions import policy_create  # noqa: E402
from controlplane.streams.models import Stream  # noqa: E402
from controlplane.streams.actions import stream_create, stream_update  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--admin", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--clip", required=True, help="the street video the demo stream plays")
    args = p.parse_args()

    admin, created = User.objects.get_or_create(username=args.admin, defaults={"is_staff": True, "is_superuser": True})
    if created or not admin.check_password(args.password):
        admin.set_password(args.password)
        admin.save()

    policy = ScalingPolicy.objects.filter(name="default").first() or policy_create(
        name="default", min_replicas=1, max_replicas=3, metric="scale_ratio", target_value=1.0,
        scale_down_window_seconds=60,
    )
    street = {"source_kind": Stream.SourceKind.FILE, "source": args.clip, "queue": "people", "extra_queues": ["face", "car"]}
    stream = Stream.objects.filter(name="street").first()
    if stream is None:
        stream_create(name="street", target_fps=10, **street)
    elif any(getattr(stream, field) != value for field, value in street.items()):
        stream_update(stream=stream, **street)  # e.g. the clip moved, or an older demo's external stream
    for queue, builtin in (("people", "builtin:people"), ("face", "builtin:face"), ("car", "builtin:vehicles")):
        if not InferenceService.objects.filter(Q(queue=queue) | Q(name=queue)).exists():  # one of the user's may serve it
            model = InferenceModel.objects.get(builtin=builtin)
            inference_service_create(name=queue, queue=queue, model=model, scaling_policy=policy)
    if InferenceModel.objects.exclude(status=InferenceModel.Status.READY).filter(builtin__gt="").exists():
        call_command("validate_models", "--pending")


if __name__ == "__main__":
    main()
