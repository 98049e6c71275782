"""The search box finds what people type: Cyrillic in any case, codes, phones in any form.

These run on whichever database the suite runs on; CI runs them on PostgreSQL and on SQLite.
"""

from __future__ import annotations

import pytest

from clients.models import Client
from clients.search import format_phone, normalize_phone, phone_digits, sqlite_like
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def listed(response) -> list[str]:
    return [client.external_id for client in response.context["page"].object_list]


@pytest.fixture
def shop():
    ClientFactory(external_id="НК-001", name="ООО «Ромашка»", phone="+79123456789", email="")
    for n in range(2, 14):
        # Phones and codes that share the digits 001 with the code searched for.
        ClientFactory(
            external_id=f"НК-{n:03d}", name=f"Клиент {n}", phone=f"+7916001{n:04d}", email=""
        )
    ClientFactory(external_id="X-9", name="Ёлка и Ко", phone="", email="Info@Elka.RU")


@pytest.mark.parametrize("typed", ["ромашка", "РОМАШКА", "Ромашка", "ромаш"])
def test_cyrillic_name_matches_in_any_letter_case(login, owner, shop, typed):
    assert listed(login(owner).get("/clients/", {"q": typed})) == ["НК-001"]


def test_cyrillic_yo_and_email_match_in_any_case(login, owner, shop):
    assert listed(login(owner).get("/clients/", {"q": "ёлка"})) == ["X-9"]
    assert listed(login(owner).get("/clients/", {"q": "info@elka.ru"})) == ["X-9"]


@pytest.mark.parametrize("typed", ["НК-001", "нк-001"])
def test_a_client_code_comes_first_and_its_digits_do_not_match_phones(login, owner, shop, typed):
    assert listed(login(owner).get("/clients/", {"q": typed})) == ["НК-001"]


@pytest.mark.parametrize(
    "typed",
    [
        "89123456789",
        "8 (912) 345-67-89",
        "+7 912 345-67-89",
        "+79123456789",
        "79123456789",
        "9123456789",
        "912 345 67 89",
    ],
)
def test_a_phone_in_any_common_russian_form_finds_the_client(login, owner, shop, typed):
    assert listed(login(owner).get("/clients/", {"q": typed})) == ["НК-001"]


def test_part_of_a_phone_finds_every_client_with_it_exact_match_first(login, owner, shop):
    ClientFactory(external_id="Z", name="Аааа", phone="+79160010002")
    found = listed(login(owner).get("/clients/", {"q": "+7 916 001-00-02"}))
    assert set(found) == {"НК-002", "Z"}
    partial = listed(login(owner).get("/clients/", {"q": "916001"}))
    assert len(partial) == 13


def test_a_phone_saved_by_hand_is_stored_in_e164():
    client = ClientFactory(phone="8 (912) 345-67-89")
    client.refresh_from_db()
    assert client.phone == "+79123456789"
    assert Client.objects.get(pk=client.pk).phone == "+79123456789"


def test_a_phone_that_is_no_number_is_kept_as_typed():
    assert normalize_phone(" доб. 12 ") == "доб. 12"
    assert normalize_phone("") == ""


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("89123456789", "79123456789"),
        ("8 912 345 67 89", "79123456789"),
        ("9123456789", "79123456789"),
        ("345-67", "34567"),
        ("12-3", None),
        ("НК-001", None),
        ("anna", None),
    ],
)
def test_phone_digits_reads_what_is_typed(typed, digits):
    assert phone_digits(typed) == digits


@pytest.mark.parametrize(
    ("pattern", "text", "escape", "expected"),
    [
        ("%ромаш%", "ООО «Ромашка»", "\\", True),
        ("%РОМАШКА%", "ромашка", None, True),
        ("р_машка", "Ромашка", None, True),
        ("%100\\%%", "скидка 100%", "\\", True),
        ("%100\\%%", "скидка 1000", "\\", False),
        ("a\\_b", "axb", "\\", False),
        ("a\\_b", "a_b", "\\", True),
        ("%x%", None, None, None),
    ],
)
def test_sqlite_like_folds_every_letter_and_keeps_escapes(pattern, text, escape, expected):
    assert sqlite_like(pattern, text, escape) is expected


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+79123456789", "+7 912 345-67-89"),
        ("+442071838750", "+44 20 7183 8750"),
        ("доб. 12", "доб. 12"),
        ("", ""),
    ],
)
def test_a_stored_phone_reads_as_people_write_it(stored, shown):
    assert format_phone(stored) == shown


def test_pages_show_phones_as_people_write_them_and_dial_the_stored_number(login, owner):
    client = ClientFactory(external_id="P1", phone="+79123456789")
    listing = login(owner).get("/clients/").content.decode()
    assert "+7 912 345-67-89" in listing
    card = login(owner).get(f"/clients/{client.pk}/").content.decode()
    assert 'href="tel:+79123456789"' in card and "+7 912 345-67-89" in card
