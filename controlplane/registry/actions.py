"""Writes to the model registry: upload, edit, delete, and queueing validation.

Files go through Django's storage API, so a registry on S3 works as on a local disk. They are saved before
the short transaction that creates the row (SQLite's write lock is not held while copying hundreds of MB),
and deleted again if that row is not made: no orphan files, no half-made rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models.fields.files import FieldFile
from rest_framework import exceptions

from controlplane.registry import selectors
from controlplane.registry.models import AUTO_FAMILY, InferenceModel
from controlplane.registry.tasks import validate_model
from controlplane.registry.uploads import FRAMEWORK_BY_SUFFIX
from controlplane.core.records import RecordWrites, save_validated

EDITABLE_FIELDS = ("name", "version", "task", "labels", "precision", "output_family")


class _Hashing(File):
    """Hands an upload to the storage and feeds sha256 with every byte the storage reads from it."""

    def __init__(self, upload: File):
        super().__init__(upload, name=upload.name)
        self.digest = hashlib.sha256()

    def read(self, *args):
        data = self.file.read(*args)
        self.digest.update(data)
        return data

    def seek(self, offset, whence=0):
        if (offset, whence) == (0, 0):  # a storage that rewinds reads it all again
            self.digest = hashlib.sha256()
        return self.file.seek(offset, whence)


def _save(field: FieldFile, upload: File, filename: str) -> str:
    """Save through the field's storage (upload_to decides the folder); return the sha256 of what was saved."""
    content = _Hashing(upload)
    field.save(filename, content, save=False)
    return content.digest.hexdigest()


def _delete_files(names: Sequence[str]) -> None:
    storage = InferenceModel._meta.get_field("file").storage
    for name in names:
        storage.delete(name)


def version_taken(name: str, version: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({"version": [f"Model {name} already has a version {version}."]})


def _queue_validation(model: InferenceModel) -> None:
    model_id = model.pk
    # robust: a broker that is down must not fail a request whose row is committed; the model stays
    # pending and `validate_models --pending` or POST .../validate/ catches up.
    transaction.on_commit(lambda: validate_model.delay(model_id), robust=True)


def model_create(
    *, name: str, file: File, weights: File | None = None, version: str = "1", task: str = "detection",
    labels: Sequence[str] = (), precision: str = InferenceModel.Precision.FP32,
    output_family: str = AUTO_FAMILY, derived_from: InferenceModel | None = None, calibration: dict | None = None,
    queue_validation: bool = True,
) -> InferenceModel:
    """Store an uploaded model (``file``, plus ``weights`` for IR) and queue its validation. A model made from
    another (quantization) names it in ``derived_from`` with its ``calibration``; its maker, which validates
    it in-process, passes ``queue_validation=False``."""
    model = InferenceModel(
        name=name, version=version, task=task, labels=list(labels), precision=precision,
        output_family=output_family, framework=FRAMEWORK_BY_SUFFIX[Path(file.name).suffix.lower()],
        derived_from=derived_from, calibration=calibration,
    )
    try:
        model.file_sha256 = _save(model.file, file, Path(file.name).name)
        if weights is not None:
            # Beside the .xml under its stem, where OpenVINO looks for an IR's weights.
            model.weights_sha256 = _save(model.weights, weights, f"{Path(model.file.name).stem}.bin")
        with transaction.atomic():
            save_validated(model)
            if queue_validation:
                _queue_validation(model)
    except BaseException as exc:
        _delete_files([f.name for f in (model.file, model.weights) if f])
        if isinstance(exc, IntegrityError):  # the same name and version, uploaded at the same moment
            raise version_taken(name, version) from None
        raise
    return model


def model_update(*, model: InferenceModel, **changes) -> InferenceModel:
    """Edit the description of a model; its files stay (upload a new version). A new output family is
    validated again. Only the changed columns are written, so a status the validation wrote meanwhile stays."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        # Compared with the stored row: the admin hands over a row its form has already changed.
        stored_family = selectors.model_get(model_id=model.pk).output_family
        revalidate = changes.get("output_family", stored_family) != stored_family
        save_validated(model, changes)
        if revalidate:
            model_queue_validation(model=model)
    return model


def model_queue_validation(*, model: InferenceModel) -> InferenceModel:
    """Mark the model pending and validate it again in the Celery worker once this commits."""
    with transaction.atomic():
        model.status = InferenceModel.Status.PENDING
        model.status_message = ""
        model.save(update_fields=["status", "status_message", "updated"])
        _queue_validation(model)
    return model


def model_record_comparison(*, model: InferenceModel, speedup: float, agreement: dict) -> InferenceModel:
    """Store how a derived model measured against its parent (see the fields' help). Only these columns are
    written, so a status a validation wrote meanwhile stays."""
    model.speedup = speedup
    model.agreement = agreement
    model.save(update_fields=["speedup", "agreement", "updated"])
    return model


def model_delete(*, model: InferenceModel) -> None:
    """Delete the record, then its files once that commits. A model that an inference service uses is
    protected: the ProtectedError becomes a 409 naming the services."""
    names = [f.name for f in (model.file, model.weights) if f]
    with transaction.atomic():
        model.delete()
        transaction.on_commit(lambda: _delete_files(names), robust=True)


MODEL_WRITES = RecordWrites("model", None, model_update, model_delete)  # rows are made by model_create (uploads)
