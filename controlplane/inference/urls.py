"""API routes of this app."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from controlplane.inference.model_files import ModelFileView
from controlplane.inference.model_views import InferenceModelViewSet
from controlplane.inference.service_views import InferenceServiceViewSet

router = SimpleRouter()
router.register("models", InferenceModelViewSet, basename="model")
router.register("services", InferenceServiceViewSet, basename="inference-service")
urlpatterns = [
    *router.urls,
    # Any id the router would take (a JSON 404 for "-1" too, as /api/models/-1/ gives).
    re_path(r"^models/(?P<pk>[^/.]+)/files/(?P<filename>[^/]+)/$", ModelFileView.as_view(), name="model-file"),
]
