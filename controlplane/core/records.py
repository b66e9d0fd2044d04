"""Writing rows: validated as a form would be, whoever calls, in one transaction, asking for a reconcile
once it commits; and :class:`RecordWrites`, one record type's actions as the API and the admin call them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model

from controlplane.core.reconcile import request_reconcile

M = TypeVar("M", bound=Model)


def save_validated(obj: M, changes: dict | None = None) -> M:
    """Validate ``obj`` (fields, ``clean()``, uniqueness) and save it. With ``changes``, apply them first and
    write only those columns (and ``updated``), so a status the reconciler wrote meanwhile survives."""
    for field, value in (changes or {}).items():
        setattr(obj, field, value)
    obj.full_clean()
    obj.save(update_fields=None if changes is None else [*changes, "updated"])
    return obj


def create_row(record: type[M], /, *, reconcile: bool = True, **fields: Any) -> M:
    """Create a validated row; ``reconcile`` when the fleet may have to change with it."""
    with transaction.atomic():
        row = save_validated(record(**fields))
        if reconcile:
            request_reconcile()
    return row


def update_row(row: M, /, *, reconcile: bool = True, **changes: Any) -> M:
    with transaction.atomic():
        save_validated(row, changes)
        if reconcile:
            request_reconcile()
    return row


def delete_row(row: Model, /, *, reconcile: bool = True) -> None:
    """A row that others protect raises ``ProtectedError`` (the API answers 409 naming them)."""
    with transaction.atomic():
        row.delete()
        if reconcile:
            request_reconcile()


@dataclass(frozen=True)
class RecordWrites:
    """One record type's actions. ``entity`` is the keyword the update and delete actions take the row by
    (``stream_update(stream=..., **changes)``); ``create`` is None where rows are made otherwise (uploads)."""

    entity: str
    create: Callable[..., Model] | None
    update: Callable[..., Model]
    delete: Callable[..., None]

    def update_row(self, row: M, changes: dict) -> M:
        return self.update(**{self.entity: row}, **changes)

    def delete_row(self, row: Model) -> None:
        self.delete(**{self.entity: row})
