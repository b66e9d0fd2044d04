"""API routes of inference services."""

from rest_framework.routers import SimpleRouter

from controlplane.inference.views import InferenceServiceViewSet

router = SimpleRouter()
router.register("services", InferenceServiceViewSet, basename="inference-service")
urlpatterns = router.urls
