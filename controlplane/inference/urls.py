"""API routes of this app."""

from rest_framework.routers import SimpleRouter

from controlplane.inference.model_views import InferenceModelViewSet
from controlplane.inference.service_views import InferenceServiceViewSet

router = SimpleRouter()
router.register("models", InferenceModelViewSet, basename="model")
router.register("services", InferenceServiceViewSet, basename="inference-service")
urlpatterns = router.urls
