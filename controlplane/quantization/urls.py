"""API routes of quantization: the model action (the registry does not know this app) and the jobs."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from controlplane.quantization.views import QuantizationJobViewSet, QuantizeView

router = SimpleRouter()
router.register("quantizations", QuantizationJobViewSet, basename="quantization")
urlpatterns = [
    *router.urls,
    # Any id the registry's router would take (a JSON 404 for "-1" too, as /api/models/-1/ gives).
    re_path(r"^models/(?P<pk>[^/.]+)/quantize/$", QuantizeView.as_view(), name="model-quantize"),
]
