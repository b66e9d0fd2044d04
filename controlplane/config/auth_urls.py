"""Authentication: tokens for scripts (POST username and password, get a token), sessions for the
dashboard (login, logout, me). Logging in either way is throttled."""

from django.urls import path
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.throttling import ScopedRateThrottle

from controlplane.config.session_auth import LoginView, LogoutView, MeView


class ObtainToken(ObtainAuthToken):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


urlpatterns = [
    path("token/", ObtainToken.as_view(), name="auth-token"),
    path("login/", LoginView.as_view(), name="auth-login"),
    path("logout/", LogoutView.as_view(), name="auth-logout"),
    path("me/", MeView.as_view(), name="auth-me"),
]
