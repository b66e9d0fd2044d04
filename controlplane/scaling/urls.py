"""API routes of this app."""

from rest_framework.routers import SimpleRouter

from controlplane.scaling.views import PolicyViewSet, ScalingEventViewSet

router = SimpleRouter()
router.register("policies", PolicyViewSet, basename="policy")
router.register("scaling-events", ScalingEventViewSet, basename="scaling-event")
urlpatterns = router.urls
