from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from reactivation.models import BusinessSettings, Policy

pytestmark = pytest.mark.django_db(transaction=True)


def test_roles_and_defaults_come_back_after_a_flush():
    call_command("flush", "--noinput", verbosity=0)
    assert set(Group.objects.values_list("name", flat=True)) == {"manager", "owner", "admin"}
    manager = Group.objects.get(name="manager")
    assert manager.permissions.filter(codename="view_client").exists()
    assert manager.permissions.filter(codename="add_call").exists()
    assert Policy.objects.filter(segment__isnull=True).count() == 1
    assert BusinessSettings.objects.filter(pk=1).exists()
