"""Create the three roles with their permissions, the default policy and the business settings."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# The same lists reactivation.bootstrap uses to keep these rows after a flush.
from reactivation.bootstrap import ADMIN_APPS, MANAGER_PERMISSIONS as MANAGER, OWNER_VIEWS as VIEW_ALL


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the roles need them now.
    for label in ("auth", "contenttypes", *ADMIN_APPS):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(triples):
        found = []
        for action, app, model in triples:
            found.extend(Permission.objects.filter(content_type__app_label=app, codename=f"{action}_{model}"))
        return found

    manager, _ = Group.objects.get_or_create(name="manager")
    manager.permissions.set(perms(MANAGER))
    owner, _ = Group.objects.get_or_create(name="owner")
    owner.permissions.set(perms([("view", app, model) for app, model in VIEW_ALL]))
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.set(
        list(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
        + list(Permission.objects.filter(content_type__app_label="auth", content_type__model__in=["user", "group"]))
    )

    Policy = apps.get_model("reactivation", "Policy")
    if not Policy.objects.filter(segment__isnull=True).exists():
        Policy.objects.create(segment=None)
    BusinessSettings = apps.get_model("reactivation", "BusinessSettings")
    BusinessSettings.objects.get_or_create(pk=1)


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["manager", "owner", "admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("reactivation", "0001_initial"),
        ("clients", "0001_initial"),
        ("calls", "0002_initial"),
    ]

    operations = [migrations.RunPython(create_roles, drop_roles)]
