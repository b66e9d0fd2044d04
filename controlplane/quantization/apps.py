from django.apps import AppConfig


class QuantizationConfig(AppConfig):
    name = "controlplane.quantization"
    label = "quantization"
    verbose_name = "Quantization"
