"""API routes of this app."""

from rest_framework.routers import SimpleRouter

router = SimpleRouter()
urlpatterns = router.urls
