"""The rows every installation needs: the three roles with their permissions, the default
policy and the business settings.

Migration ``reactivation/0002_roles_and_defaults`` creates them on a new database; this
``post_migrate`` handler keeps them there after any later ``migrate`` or ``flush`` (a flush
empties every table, data-migration rows included). Idempotent.
"""

from __future__ import annotations

from typing import Any

MANAGER_PERMISSIONS = [
    ("view", "clients", "client"),
    ("view", "clients", "transaction"),
    ("view", "reactivation", "case"),
    ("change", "reactivation", "case"),
    ("view", "reactivation", "offer"),
    ("add", "reactivation", "offer"),
    ("view", "reactivation", "offertemplate"),
    ("view", "calls", "call"),
    ("add", "calls", "call"),
    ("view", "calls", "reason"),
    ("view", "calls", "script"),
    ("view", "calls", "scriptversion"),
]
OWNER_VIEWS = [
    ("clients", "segment"),
    ("clients", "client"),
    ("clients", "transaction"),
    ("reactivation", "case"),
    ("reactivation", "offer"),
    ("reactivation", "offertemplate"),
    ("reactivation", "dailysnapshot"),
    ("reactivation", "weeklyplan"),
    ("reactivation", "policy"),
    ("calls", "call"),
    ("calls", "reason"),
    ("calls", "script"),
    ("calls", "scriptversion"),
]
ADMIN_APPS = ["clients", "reactivation", "calls"]


def ensure_roles_and_defaults(sender: Any = None, **kwargs: Any) -> None:
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    from reactivation.models import BusinessSettings, Policy

    if getattr(sender, "name", "reactivation") != "reactivation":
        return
    using = kwargs.get("using", "default")
    # post_migrate reaches the apps in INSTALLED_APPS order, and clients and calls come after
    # this one: make sure their permissions exist before the roles are given them.
    for label in ("auth", *ADMIN_APPS):
        create_permissions(apps.get_app_config(label), verbosity=0, using=using)

    def permissions(triples) -> list[Permission]:
        found: list[Permission] = []
        for action, app, model in triples:
            found.extend(
                Permission.objects.filter(content_type__app_label=app, codename=f"{action}_{model}")
            )
        return found

    roles = {
        "manager": permissions(MANAGER_PERMISSIONS),
        "owner": permissions([("view", app, model) for app, model in OWNER_VIEWS]),
        "admin": list(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
        + list(
            Permission.objects.filter(
                content_type__app_label="auth", content_type__model__in=["user", "group"]
            )
        ),
    }
    for name, granted in roles.items():
        group, created = Group.objects.using(using).get_or_create(name=name)
        if created or not group.permissions.exists():
            group.permissions.set(granted)
    if not Policy.objects.filter(segment__isnull=True).exists():
        Policy.objects.create(segment=None)
    BusinessSettings.objects.get_or_create(pk=1)
