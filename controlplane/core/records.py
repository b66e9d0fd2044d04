"""Saving rows from the service functions: validated as a form would be, whoever calls."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model

M = TypeVar("M", bound=Model)


def save_validated(obj: M, changes: dict | None = None) -> M:
    """Validate ``obj`` (fields, ``clean()``, uniqueness) and save it. With ``changes``, apply them first and
    write only those columns (and ``updated``), so a status the reconciler wrote meanwhile survives."""
    for field, value in (changes or {}).items():
        setattr(obj, field, value)
    obj.full_clean()
    obj.save(update_fields=None if changes is None else [*changes, "updated"])
    return obj
