"""The project's OpenAPI schema as a test checks a response against it."""

from __future__ import annotations


def strict_schema(schema, components: dict):
    """The OpenAPI 3.0 schema as JSON Schema: references inlined, ``nullable`` as a null type, and no
    properties beyond the documented ones, so the documentation has to match the response exactly."""
    if isinstance(schema, list):
        return [strict_schema(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return strict_schema(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    out = {key: strict_schema(value, components) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    elif out.get("type") == "object" and "properties" in out:
        out["additionalProperties"] = False
    return out
