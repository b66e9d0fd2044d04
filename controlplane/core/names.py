"""Validation of names that become Redis keys, websocket paths and Kubernetes object names."""

from django.core.validators import RegexValidator

from inference_worker.protocol import NAME_RE

wire_name = RegexValidator(
    NAME_RE, "Use letters, digits, '_', '.' or '-', starting with a letter or digit, at most 64 characters."
)

# The same rule as a router's lookup_value_regex: the default pattern refuses the dots names may hold.
wire_name_in_url = NAME_RE.pattern.removeprefix("^").removesuffix("$")
