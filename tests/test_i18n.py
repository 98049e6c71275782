"""A page in Russian shows no English: the catalogue covers every string on the main pages."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from reactivation.models import Case

pytestmark = pytest.mark.django_db

# Latin words that are the same in Russian business text: abbreviations, units, brand names.
ALLOWED = {
    "ABC",
    "A",
    "B",
    "C",
    "CSV",
    "XLSX",
    "CRM",
    "RU",
    "EN",
    "CRR",
    "LTV",
    "BG",
    "NBD",
    "MBG",
    "P",
    "alive",
    "E",
    "N",
    "S",
    "ID",
    "UTF",
    "JSON",
    "API",
    "Excel",
    "1C",
    "Ctrl",
    "Enter",
    "Esc",
    "Tab",
    "r",
    "a",
    "b",
    "alpha",
    "x",
    "min",
    "max",
    "URL",
    "htmx",
    "WB",
    "Windows",
}


class VisibleText(HTMLParser):
    """The text a person reads: no script, style or template blocks, plus titles and labels."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        # Keys (<kbd>), codes (<code>) and choices of data (<option>: script and user names)
        # are not UI text.
        if tag in ("script", "style", "template", "kbd", "code", "option"):
            self._skip += 1
        for name, value in attrs:
            if name in ("title", "placeholder", "aria-label", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template", "kbd", "code", "option") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def english_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    text = re.sub(r"\S+@\S+", " ", text)  # email addresses
    text = re.sub(r"\b[A-Z]{1,3}-?[0-9A-Z]*\d[0-9A-Z-]*\b", " ", text)  # ids and offer codes
    # Single letters are offer codes spelled out for reading aloud and version marks (v2).
    return {word for word in re.findall(r"[A-Za-z][A-Za-z']+", text) if word not in ALLOWED}


@pytest.fixture
def demo(db):
    call_command("demo", "--clients", "60", "--seed", "2")
    return get_user_model().objects


def test_main_pages_in_russian_have_no_english(client, demo):
    client.cookies["django_language"] = "ru"
    users = {name: demo.get(username=name) for name in ("admin", "owner", "manager1")}
    case = Case.objects.filter(assigned_to=users["manager1"]).first() or Case.objects.first()
    if case.assigned_to_id is None:
        case.assigned_to = users["manager1"]
        case.save(update_fields=["assigned_to"])
    first_client = case.client
    pages = {
        "manager1": [
            "/queue/",
            "/queue/pool/",
            f"/cases/{case.pk}/",
            "/clients/",
            f"/clients/{first_client.pk}/",
        ],
        "owner": ["/dashboard/", "/clients/"],
        "admin": [
            "/settings/",
            "/settings/policies/",
            "/settings/models/",
            "/settings/offers/",
            "/settings/reasons/",
            "/settings/api-keys/",
            "/import/",
        ],
    }
    found = {}
    for username, paths in pages.items():
        client.force_login(users[username], backend="django.contrib.auth.backends.ModelBackend")
        for path in paths:
            response = client.get(path, HTTP_ACCEPT_LANGUAGE="ru")
            assert response.status_code == 200, path
            words = english_words(response.content.decode())
            if words:
                found[path] = sorted(words)
    assert found == {}, found


def test_log_in_page_in_russian(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="ru")
    assert english_words(response.content.decode()) == set()
    assert "Войти" in response.content.decode()


def test_one_clients_status_agrees_with_the_client_and_groups_take_the_plural():
    from django.utils import translation
    from django.utils.translation import gettext

    from clients.models import Status

    with translation.override("ru"):
        assert [str(status.label) for status in (Status.ACTIVE, Status.SLEEPING, Status.LOST)] == [
            "Активный",
            "Спящий",
            "Потерянный",
        ]
        assert [gettext(word) for word in ("Active", "Sleeping", "Lost")] == [
            "Активные",
            "Спящие",
            "Потерянные",
        ]
    with translation.override("en"):
        assert str(Status.LOST.label) == "Lost"
