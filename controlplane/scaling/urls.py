"""API routes of this app."""

from rest_framework.routers import SimpleRouter

from controlplane.scaling.views import PolicyViewSet

router = SimpleRouter()
router.register("policies", PolicyViewSet, basename="policy")
urlpatterns = router.urls
