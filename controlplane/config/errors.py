"""One shape for every API error, so clients need one error parser.

Every error body is ``{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {...}}}``;
``fields`` maps a field name (or ``non_field_errors``) to its messages and appears for validation errors.
"""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(v) for v in detail)
    return str(detail)


def exception_handler(exc, context):
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
