from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from reactivation import roles

HOME_BY_ROLE = {
    roles.Role.ADMIN: "dashboard",
    roles.Role.OWNER: "dashboard",
    roles.Role.MANAGER: "queue",
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role's home: managers their week, owners and admins the dashboard."""
    role = roles.primary_role(request.user)
    if role is None:
        return render(request, "reactivation/no_role.html", status=403)
    return redirect(HOME_BY_ROLE[role])


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database and, where configured, the broker answer; 503 otherwise."""
    from django.conf import settings

    checks: dict[str, str] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is "down"
        checks["database"] = f"error: {exc.__class__.__name__}"
        healthy = False
    if settings.REDIS_URL:
        try:
            import redis

            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {exc.__class__.__name__}"
            healthy = False
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)
