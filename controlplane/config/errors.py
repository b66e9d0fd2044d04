"""One shape for every API error, so clients need one error parser.

Every error body is ``{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {...}}}``;
``fields`` maps a field name (or ``non_field_errors``) to its messages and appears for validation errors.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    status_code = 409
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(v) for v in detail)
    return str(detail)


def _from_django(exc):
    """Django's own refusals, raised by model validation or a protected delete in a service function,
    as the 400 or 409 they are instead of a 500."""
    if isinstance(exc, DjangoValidationError):
        detail = serializers.as_serializer_error(exc)
        if NON_FIELD_ERRORS in detail:
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
        return exceptions.ValidationError(detail)
    if isinstance(exc, ProtectedError):
        users = ", ".join(sorted(f"{obj._meta.verbose_name} {obj}" for obj in exc.protected_objects))
        return Conflict(f"Still used by {users}: change or delete those first.", code="protected")
    if isinstance(exc, Http404):  # as DRF would convert it, but before the code is read from it
        return exceptions.NotFound(*exc.args)
    return exc


def exception_handler(exc, context):
    exc = _from_django(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body = {"status": response.status_code, "code": getattr(exc, "default_code", "error")}
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body.update(code="invalid", message="Invalid input.", fields=detail)
    else:
        detail = getattr(exc, "detail", None)
        body["message"] = _flatten(detail) if detail is not None else str(exc)
        codes = exc.get_codes() if hasattr(exc, "get_codes") else None
        if isinstance(codes, str):
            body["code"] = codes
    response.data = {"error": body}
    return response
