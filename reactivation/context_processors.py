from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from reactivation import roles


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the base layout needs to draw the navigation for the user's roles."""
    user = getattr(request, "user", None)
    return {
        "nav_roles": roles.roles_of(user) if user else set(),
        "nav_is_admin": roles.is_admin(user) if user else False,
        "nav_is_owner": roles.is_owner(user) if user else False,
        "nav_is_manager": roles.is_manager(user) if user else False,
        "company_name": settings.COMPANY_NAME,
    }
