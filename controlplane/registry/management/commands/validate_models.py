"""Validate models now, in this process (no Celery worker needed), one line per model."""

from django.core.management.base import BaseCommand, CommandError

from controlplane.registry import selectors
from controlplane.registry.models import InferenceModel
from controlplane.registry.validation import model_validate


class Command(BaseCommand):
    help = "Validate models with OpenVINO on this machine and measure their throughput: --all, --pending or IDs."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="every model")
        which.add_argument("--pending", action="store_true", help="models not validated yet")
        which.add_argument("ids", nargs="*", type=int, default=[], metavar="ID", help="model ids")

    def handle(self, *args, ids, pending, **options):
        if ids:
            model_ids = ids
        else:
            model_ids = list(selectors.models_to_validate(pending_only=pending).values_list("pk", flat=True))
        failed = 0
        for model_id in model_ids:
            model = model_validate(model_id=model_id)
            if model is None:
                self.stdout.write(f"{model_id}: no such model")
            elif model.status == InferenceModel.Status.READY:
                self.stdout.write(f"{model} ready {model.measured_fps:.1f} fps")
            else:
                self.stdout.write(f"{model} failed: {model.status_message}")
            failed += model is None or model.status != InferenceModel.Status.READY
        if failed:
            raise CommandError(f"{failed} of {len(model_ids)} models are not ready")
