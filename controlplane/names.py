"""Validation of names that become Redis keys, websocket paths and Kubernetes object names."""

from django.core.validators import RegexValidator

from inference_worker.protocol import NAME_RE

wire_name = RegexValidator(
    NAME_RE, "Use letters, digits, '_', '.' or '-', starting with a letter or digit, at most 64 characters."
)
