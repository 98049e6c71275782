"""An existing business's seeded scripts get the answers' reasons and the neutral greeting as a
new version; a script an admin has edited is left as it is."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from calls.models import Script, ScriptVersion
from calls.seed import SCRIPT_EN_NAME, SCRIPT_RU, SCRIPT_RU_NAME

pytestmark = pytest.mark.django_db

migration = importlib.import_module("calls.migrations.0006_seed_scripts_reasons_greeting")


def test_a_seeded_script_still_as_seeded_gets_the_new_version():
    old = migration.SCRIPTS[SCRIPT_RU_NAME]["old"]
    script = Script.objects.create(name=SCRIPT_RU_NAME, language="ru")
    ScriptVersion.objects.create(script=script, number=1, steps=old, note="seed")
    edited = Script.objects.create(name=SCRIPT_EN_NAME, language="en")
    mine = [{**migration.SCRIPTS[SCRIPT_EN_NAME]["old"][0], "text": "Hi, {client_name}!"}]
    ScriptVersion.objects.create(script=edited, number=1, steps=mine, note="mine")

    migration.forwards(apps, None)
    migration.forwards(apps, None)  # a second run changes nothing

    assert [v.number for v in script.versions.order_by("number")] == [1, 2]
    assert script.current_version.steps == SCRIPT_RU
    assert "{greeting}" in SCRIPT_RU[0]["text"]
    assert [v.steps for v in edited.versions.all()] == [mine]
