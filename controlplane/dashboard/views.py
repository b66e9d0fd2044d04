"""The single page of the dashboard: a shell that loads the SPA, which then talks to the API itself."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe


@require_safe
@never_cache  # the shell names the scripts; a stale copy would load old ones after an upgrade
@ensure_csrf_cookie  # the SPA's first write needs the token, before any API call has set it
def index(request):
    return render(request, "dashboard/index.html")
