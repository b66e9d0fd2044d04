"""Session login for the dashboard: log in, log out, and who am I (with what I may change).

The SPA first reads ``/api/auth/me/``, which always sets the ``csrftoken`` cookie, then sends that token
back in ``X-CSRFToken`` on every write, the login included: a login without it is refused, so another
site cannot log a visitor into an account of its choosing.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

# What the SPA may offer to change: its name for the records -> (app label, model).
RECORDS = {
    "streams": ("streams", "stream"),
    "services": ("inference", "inferenceservice"),
    "policies": ("scaling", "scalingpolicy"),
    "models": ("registry", "inferencemodel"),
}
ACTIONS = ("add", "change", "delete")


class RecordActionsSerializer(serializers.Serializer):
    add = serializers.BooleanField()
    change = serializers.BooleanField()
    delete = serializers.BooleanField()


class MePermissionsSerializer(serializers.Serializer):
    streams = RecordActionsSerializer()
    services = RecordActionsSerializer()
    policies = RecordActionsSerializer()
    models = RecordActionsSerializer()


class MeSerializer(serializers.Serializer):
    username = serializers.CharField(allow_blank=True, help_text="Empty when not logged in.")
    authenticated = serializers.BooleanField()
    anonymous_read = serializers.BooleanField(help_text="Whether visitors who are not logged in may read.")
    permissions = MePermissionsSerializer(help_text="What the user may add, change and delete.")


def me_body(user) -> dict:
    """The user as the dashboard needs it; an anonymous user has no name and no permission."""
    return {
        "username": user.get_username(),
        "authenticated": user.is_authenticated,
        "anonymous_read": settings.EI_ANONYMOUS_READ,
        "permissions": {
            record: {action: user.has_perm(f"{app}.{action}_{model}") for action in ACTIONS}
            for record, (app, model) in RECORDS.items()
        },
    }


class LoginView(APIView):
    """Log in with a username and password: a new session, and the user as ``me/`` describes it."""

    authentication_classes = []  # whoever sent it, a login is anonymous, and throttled by client address
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=AuthTokenSerializer, responses=MeSerializer)
    def post(self, request):
        # DRF checks CSRF for session users only; a login has none yet, so check here, in the error shape.
        SessionAuthentication().enforce_csrf(request)
        credentials = AuthTokenSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        user = credentials.validated_data["user"]
        login(request._request, user)  # a new session key, and a new CSRF token
        return Response(me_body(user))


class LogoutView(APIView):
    """End the session."""

    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class MeView(APIView):
    """The current user, or an anonymous one; sets the ``csrftoken`` cookie the SPA's writes send back."""

    permission_classes = [AllowAny]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(me_body(request.user))
