"""The script editor: branches, versions, preview on a real client, JSON export and import."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from calls import script_services
from calls.models import Script, ScriptVersion
from tests.factories import ClientFactory, SegmentFactory

STEPS = [
    {
        "key": "hello",
        "title": "Greeting",
        "text": "Hello, {client_name}! It has been {days_since_last_purchase} days.",
        "choices": [{"label": "Busy", "next": ""}, {"label": "Listening", "next": "why"}],
    },
    {
        "key": "why",
        "title": "Why",
        "text": "Why did you stop buying?",
        "choices": [{"label": "Price", "next": "offer"}],
    },
    {"key": "offer", "title": "Offer", "text": "Here is 10% off.", "choices": []},
]


def _post_data(steps, *, name="Win-back", note="", extra_empty=True):
    data = {
        "name": name,
        "segment": "",
        "language": "",
        "active": "on",
        "note": note,
        "steps-TOTAL_FORMS": str(len(steps) + (1 if extra_empty else 0)),
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for i, step in enumerate(steps):
        data[f"steps-{i}-key"] = step["key"]
        data[f"steps-{i}-title"] = step.get("title", "")
        data[f"steps-{i}-text"] = step["text"]
        lines = []
        for choice in step.get("choices", []):
            if "next" not in choice:
                lines.append(choice["label"])
            else:
                lines.append(f"{choice['label']} => {choice['next'] or '-'}")
        data[f"steps-{i}-choices"] = "\n".join(lines)
    return data


@pytest.fixture
def script(admin_user):
    return script_services.script_create(
        name="Win-back", segment=None, steps=STEPS, user=admin_user
    )


def test_admin_creates_a_script_with_branches(login, admin_user):
    response = login(admin_user).post(reverse("settings_script_create"), _post_data(STEPS))
    script = Script.objects.get(name="Win-back")
    assert response.status_code == 302
    assert response["Location"] == reverse("settings_script_edit", args=[script.pk])
    version = script.versions.get()
    assert version.number == 1
    assert version.created_by == admin_user
    assert version.steps[0]["choices"] == [
        {"label": "Busy", "next": ""},
        {"label": "Listening", "next": "why"},
    ]
    assert version.steps[1]["choices"] == [{"label": "Price", "next": "offer"}]


def test_a_bare_answer_goes_on_to_the_next_step(login, admin_user):
    steps = [dict(STEPS[1], choices=[{"label": "Price"}]), STEPS[2]]
    login(admin_user).post(reverse("settings_script_create"), _post_data(steps))
    version = Script.objects.get().versions.get()
    assert version.steps[0]["choices"] == [{"label": "Price"}]


def test_an_answer_leading_to_an_unknown_step_is_refused_and_keeps_what_was_typed(
    login, admin_user
):
    steps = [dict(STEPS[0], choices=[{"label": "Listening", "next": "nowhere"}])]
    response = login(admin_user).post(reverse("settings_script_create"), _post_data(steps))
    assert response.status_code == 200
    assert not Script.objects.exists()
    body = response.content.decode()
    assert "nowhere" in body
    assert "Hello, {client_name}!" in body


def test_an_unknown_placeholder_is_refused(admin_user):
    with pytest.raises(ValidationError) as error:
        script_services.steps_validate([{"key": "a", "text": "Hi {first_name}", "choices": []}])
    assert "{first_name}" in " ".join(error.value.messages)


def test_duplicate_step_keys_are_refused(admin_user):
    with pytest.raises(ValidationError):
        script_services.steps_validate([STEPS[2], STEPS[2]])


def test_editing_the_steps_makes_a_new_version_and_keeps_the_old_one(login, admin_user, script):
    changed = [dict(STEPS[0], text="Good day, {client_name}!"), *STEPS[1:]]
    data = _post_data(changed, note="Warmer greeting")
    response = login(admin_user).post(reverse("settings_script_edit", args=[script.pk]), data)
    assert response.status_code == 302
    versions = list(script.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].steps[0]["text"].startswith("Hello")
    assert versions[1].steps[0]["text"] == "Good day, {client_name}!"
    assert versions[1].note == "Warmer greeting"


def test_saving_unchanged_steps_makes_no_new_version(login, admin_user, script):
    login(admin_user).post(
        reverse("settings_script_edit", args=[script.pk]), _post_data(STEPS, name="Renamed")
    )
    script.refresh_from_db()
    assert script.name == "Renamed"
    assert script.versions.count() == 1


def test_deleting_a_step_in_the_editor(login, admin_user, script):
    data = _post_data([STEPS[0], STEPS[1], dict(STEPS[2])])
    data["steps-1-choices"] = "Price => -"
    data["steps-2-DELETE"] = "on"
    login(admin_user).post(reverse("settings_script_edit", args=[script.pk]), data)
    assert [s["key"] for s in script.current_version.steps] == ["hello", "why"]


def test_versions_are_numbered_in_order(admin_user, script):
    second = script_services.script_version_create(script=script, steps=STEPS[2:], user=admin_user)
    third = script_services.script_version_create(
        script=script, steps=[dict(STEPS[1], choices=[])], user=admin_user
    )
    assert (second.number, third.number) == (2, 3)


def test_preview_fills_placeholders_from_a_real_client_and_escapes_them(login, admin_user, script):
    client = ClientFactory(name="<script>alert(1)</script> Ivanov", external_id="C-77")
    response = login(admin_user).get(
        reverse("settings_script_preview", args=[script.pk]), {"client": "C-77"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Ivanov" in body
    assert "<script>alert(1)" not in body
    assert reverse("client_detail", args=[client.pk]) in body
    assert 'href="#step-why"' in body


def test_json_round_trip_gives_the_same_steps(admin_user, script):
    segment = SegmentFactory(code="coffee")
    script.segment = segment
    script.save()
    exported = script_services.script_export_json(script=script)
    Script.objects.all().delete()
    version = script_services.script_import_json(content=exported.encode("utf-8"), user=admin_user)
    assert version.steps == STEPS
    assert version.script.name == "Win-back"
    assert version.script.segment == segment
    assert version.number == 1


def test_export_downloads_json_and_import_adds_a_version(login, admin_user, script):
    client = login(admin_user)
    response = client.get(reverse("settings_script_export", args=[script.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(response.content)
    assert document["steps"] == STEPS
    upload = SimpleUploadedFile("script.json", response.content, content_type="application/json")
    response = client.post(reverse("settings_script_import"), {"file": upload, "into": script.pk})
    assert response.status_code == 302
    assert list(script.versions.values_list("number", flat=True).order_by("number")) == [1, 2]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"format": "something-else"}', "not a call script"),
        (
            json.dumps(
                {"format": script_services.EXPORT_FORMAT, "name": "X", "steps": []}
            ).encode(),
            "at least one step",
        ),
    ],
)
def test_a_bad_import_writes_nothing_and_says_why(login, admin_user, content, message):
    upload = SimpleUploadedFile("bad.json", content, content_type="application/json")
    response = login(admin_user).post(reverse("settings_script_import"), {"file": upload})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Script.objects.exists()
    assert not ScriptVersion.objects.exists()


def test_import_naming_an_unknown_segment_is_refused(admin_user):
    document = {
        "format": script_services.EXPORT_FORMAT,
        "name": "X",
        "segment": "nope",
        "steps": STEPS,
    }
    with pytest.raises(ValidationError):
        script_services.script_import_json(content=json.dumps(document), user=admin_user)
    assert not Script.objects.exists()
