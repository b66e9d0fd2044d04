"""API routes of this app."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from controlplane.streams.views import LegacyStreamIndex, StreamViewSet

router = SimpleRouter()
router.register("streams", StreamViewSet, basename="stream")
urlpatterns = [re_path(r"^stream/?$", LegacyStreamIndex.as_view(), name="legacy-stream-index"), *router.urls]
