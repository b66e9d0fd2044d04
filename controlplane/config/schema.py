"""OpenAPI post-processing: document the error responses every operation can give, in the one error shape."""

from __future__ import annotations

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer"},
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "Messages by field name (or non_field_errors), on validation errors.",
                    "additionalProperties": True,
                },
            },
        }
    },
}

ALWAYS = {
    "400": "Invalid input (body or query); `fields` names what is wrong.",
    "401": "Not authenticated.",
    "403": "Authenticated but not allowed.",
    "404": "No such record, or no such page.",
}
UNSUPPORTED = (
    "Unsupported media type: writes take `application/json`; a model upload, and a quantization on uploaded "
    "pictures, take `multipart/form-data`."
)
BY_METHOD = {
    "post": {"415": UNSUPPORTED, "429": "Too many requests."},
    "put": {"415": UNSUPPORTED},
    "patch": {"415": UNSUPPORTED},
    "delete": {"409": "Still used by other records."},
}
REDIS_BACKED = ("/api/workers/", "/api/metrics/", "/api/services/{name}/history/")


def add_error_responses(result, generator, request, public):
    """drf-spectacular hook: every operation gets its possible errors, all with the `Error` schema."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            errors = {**ALWAYS, **BY_METHOD.get(method, {})}
            if path.startswith(REDIS_BACKED):
                errors["503"] = "Redis, which holds the live fleet, is unreachable."
            responses = operation.setdefault("responses", {})
            for status, description in errors.items():
                responses.setdefault(status, {"description": description, **ref})
    return result
