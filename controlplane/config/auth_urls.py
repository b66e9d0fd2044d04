"""Token authentication for scripts: POST username and password, get a token (throttled)."""

from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle


class ObtainToken(ObtainAuthToken):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


urlpatterns = [path("token/", ObtainToken.as_view(), name="auth-token")]
