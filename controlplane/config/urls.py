"""HTTP routes. Each app owns its API routes (a SimpleRouter in its ``urls.py``) under /api/; the dashboard
is at the root."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("controlplane.streams.urls")),
    path("api/", include("controlplane.registry.urls")),
    path("api/", include("controlplane.quantization.urls")),
    path("api/", include("controlplane.inference.urls")),
    path("api/", include("controlplane.scaling.urls")),
    path("api/", include("controlplane.telemetry.urls")),
    path("api/", include("controlplane.analytics.urls")),
    path("api/auth/", include("controlplane.config.auth_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("django_prometheus.urls")),
    path("", include("controlplane.dashboard.urls")),
]
