"""API routes of the model registry."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from controlplane.registry.files import ModelFileView
from controlplane.registry.views import InferenceModelViewSet

router = SimpleRouter()
router.register("models", InferenceModelViewSet, basename="model")
urlpatterns = [
    *router.urls,
    # Any id the router would take (a JSON 404 for "-1" too, as /api/models/-1/ gives).
    re_path(r"^models/(?P<pk>[^/.]+)/files/(?P<filename>[^/]+)/$", ModelFileView.as_view(), name="model-file"),
]
