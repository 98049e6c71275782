"""The case page: the client card beside the scripted call form, next case, closing by hand,
reassigning, and who may open it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from calls.models import Call, Script
from calls.services import CallInput, call_record
from reactivation.models import BusinessSettings, Case, OfferTemplate
from reactivation.services import cases as case_services
from reactivation.services.offers import offer_issue
from tests.factories import TransactionFactory
from tests.reactivation.queue_helpers import NOW, TODAY, catalogue, open_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        catalogue()
        BusinessSettings.objects.update_or_create(pk=1, defaults={"company_name": "Кофейный дом"})
        yield


def test_the_case_page_shows_the_card_the_script_and_a_tel_link(alice, login):
    case = open_case(manager=alice)
    case.client.name = "Ivan <b>Petrov</b>"
    case.client.save(update_fields=["name"])
    response = login(alice).get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'href="tel:{case.client.phone}"' in body
    # Placeholders filled (and the client's name escaped) in the Russian script of a Russian page.
    assert (
        "Здравствуйте, Ivan &lt;b&gt;Petrov&lt;/b&gt;! Меня зовут Alice Manager, компания Кофейный дом."
        in body
    )
    assert "не делали заказов уже 170 дн. — последний был 01.06.2026" in body
    assert 'name="outcome"' in body and 'data-hotkey="1"' in body and 'data-hotkey="6"' in body


def test_the_english_page_gets_the_english_script(alice, login):
    case = open_case(manager=alice)
    client = login(alice)
    client.cookies["django_language"] = "en"
    body = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Hello, Client" in body and "This is Alice Manager from Кофейный дом" in body


def test_a_segment_script_wins_and_the_manager_may_switch(alice, login):
    case = open_case(manager=alice)
    english = Script.objects.get(language="en")
    body = login(alice).get(f"/cases/{case.pk}/", {"script": english.pk}).content.decode()
    assert "Hello, Client" in body


def test_the_case_page_keeps_a_constant_number_of_queries(
    alice, login, django_assert_max_num_queries
):
    case = open_case(manager=alice)
    # A live offer from the start: the page then previews its message (one read of the
    # message template), whatever the history holds.
    offer_issue(case=case, template=OfferTemplate.objects.first(), by=alice)
    client = login(alice)
    client.get(f"/cases/{case.pk}/")
    with django_assert_max_num_queries(40) as few:
        client.get(f"/cases/{case.pk}/")
    for n in range(5):
        TransactionFactory(client=case.client, date=dt.date(2026, 1, 1) + dt.timedelta(days=n))
        call_record(
            case=case, manager=alice, data=CallInput(outcome="reached"), script_version=None
        )
    for n in range(4):
        Case.objects.create(
            client=case.client,
            status="declined",
            opened_on=dt.date(2025, 1, n + 1),
            closed_on=dt.date(2025, 2, 1),
            assigned_to=alice,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(f"/cases/{case.pk}/")
    assert (
        len(response.context["data"].calls) == 5
        and len(response.context["data"].previous_cases) == 4
    )


def test_next_case_skips_the_one_just_called(alice, login):
    first = open_case(manager=alice, abc_class="A")
    second = open_case(manager=alice, abc_class="B")
    client = login(alice)
    response = client.get("/queue/next/", {"after": first.pk})
    assert response["Location"] == f"/cases/{second.pk}/"
    call_record(case=second, manager=alice, data=CallInput(outcome="reached"), script_version=None)
    assert client.get("/queue/next/")["Location"] == f"/cases/{first.pk}/"
    call_record(case=first, manager=alice, data=CallInput(outcome="reached"), script_version=None)
    assert client.get("/queue/next/")["Location"] == "/queue/"


def test_next_case_with_htmx_swaps_the_workspace_and_pushes_the_url(alice, login):
    first = open_case(manager=alice, abc_class="A")
    second = open_case(manager=alice, abc_class="B")
    response = login(alice).get("/queue/next/", {"after": first.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Push-Url"] == f"/cases/{second.pk}/"
    assert "<html" not in response.content.decode()


def test_closing_as_declined_by_hand(alice, login):
    case = open_case(manager=alice)
    response = login(alice).post(
        f"/cases/{case.pk}/close/", {"status": "declined", "note": "Closed shop"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.closed_on, case.close_note) == ("declined", TODAY, "Closed shop")


def test_a_case_cannot_be_closed_as_won_back_by_hand(alice, login):
    """Won back is a purchase, not a manager's word: the close form offers declined only, and
    the service refuses a win with no purchase."""
    case = open_case(manager=alice)
    client = login(alice)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert 'value="won_back"' not in page
    client.post(f"/cases/{case.pk}/close/", {"status": "won_back"})
    case.refresh_from_db()
    assert case.status == "open" and case.credited_manager is None
    with pytest.raises(case_services.CaseError) as error:
        case_services.case_close(case=case, status="won_back", by=alice)
    assert error.value.message == case_services.ERR_WIN_NEEDS_PURCHASE
    case.refresh_from_db()
    assert case.status == "open"


def test_a_closed_case_cannot_be_closed_again(alice):
    case = open_case(manager=alice)
    case_services.case_close(case=case, status="declined", by=alice)
    with pytest.raises(case_services.CaseError) as error:
        case_services.case_close(case=case, status="declined", by=alice)
    assert error.value.message == case_services.ERR_CASE_CLOSED
    with pytest.raises(case_services.CaseError) as error:
        case_services.case_close(case=open_case(manager=alice), status="expired", by=alice)
    assert error.value.message == case_services.ERR_CLOSE_STATUS


def test_a_colleague_cannot_open_close_or_see_alices_case(alice, bob, login):
    case = open_case(manager=alice)
    client = login(bob)
    assert client.get(f"/cases/{case.pk}/").status_code == 404
    assert client.post(f"/cases/{case.pk}/close/", {"status": "declined"}).status_code == 404
    case.refresh_from_db()
    assert case.is_open


def test_a_manager_cannot_open_a_colleagues_client_from_the_pool(alice, bob, login):
    case = open_case(client_manager=bob)
    assert login(alice).get(f"/cases/{case.pk}/").status_code == 404
    assert login(bob).get(f"/cases/{case.pk}/").status_code == 200


def test_owners_and_admins_see_every_case(alice, owner, admin_user, login):
    case = open_case(manager=alice)
    assert login(owner).get(f"/cases/{case.pk}/").status_code == 200
    assert login(admin_user).get(f"/cases/{case.pk}/").status_code == 200


def test_the_case_page_names_the_cases_manager(alice, bob, owner, login):
    case = open_case(manager=alice, client_manager=bob)
    for viewer in (alice, owner):
        response = login(viewer).get(f"/cases/{case.pk}/")
        assert response.context["case"].assigned_to == alice
        assert alice.get_full_name() in response.content.decode()
    pool_case = open_case()
    response = login(alice).get(f"/cases/{pool_case.pk}/")
    assert response.context["case"].assigned_to is None
    assert "The pool" in response.content.decode()


def test_an_admin_reassigns_one_case(alice, bob, admin_user, login):
    case = open_case(manager=alice)
    response = login(admin_user).post(f"/cases/{case.pk}/assign/", {"manager": bob.pk})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assigned_to == bob


def test_a_manager_cannot_reassign(alice, bob, login):
    case = open_case(manager=alice)
    assert login(alice).post(f"/cases/{case.pk}/assign/", {"manager": bob.pk}).status_code == 403
    case.refresh_from_db()
    assert case.assigned_to == alice


def test_a_control_case_shows_no_call_form(admin_user, login):
    case = open_case(is_control=True)
    body = login(admin_user).get(f"/cases/{case.pk}/").content.decode()
    assert 'id="call-form"' not in body
    assert not Call.objects.exists()


def test_the_case_page_shows_p_alive_where_the_segment_has_a_model(alice, login):
    from tests.factories import SegmentFactory

    segment = SegmentFactory(code="coffee", model_r=0.8, model_alpha=20.0, model_a=0.5, model_b=2.0)
    case = open_case(manager=alice)
    case.client.segment = segment
    case.client.save(update_fields=["segment"])
    data = login(alice).get(f"/cases/{case.pk}/").context["data"]
    assert data.p_alive is not None and 0 < data.p_alive < 1
    assert data.p_alive_percent == round(100 * data.p_alive)


def test_without_a_model_the_page_says_the_rule_alone_applies(alice, login):
    case = open_case(manager=alice)
    response = login(alice).get(f"/cases/{case.pk}/")
    assert response.context["data"].p_alive is None
    assert "No fitted model for this segment" in response.content.decode()


def test_the_russian_page_offers_only_russian_scripts(alice, login):
    case = open_case(manager=alice)
    Script.objects.create(name="Короткий звонок", language="ru")
    body = login(alice).get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert 'id="script-switch"' in body and "Короткий звонок" in body
    assert "Classic win-back call" not in body
    english = login(alice).get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Classic win-back call" in english and "Короткий звонок" not in english


def test_a_company_without_a_contact_person_is_greeted_neutrally(alice, login):
    case = open_case(manager=alice)
    case.client.name = "ООО «Северстрой-176»"
    case.client.save(update_fields=["name"])
    body = login(alice).get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Здравствуйте! Меня зовут Alice Manager, компания Кофейный дом." in body
    assert "Здравствуйте, ООО" not in body


def test_the_outcome_reached_is_one_call_in_russian(alice, login):
    case = open_case(manager=alice)
    client = login(alice)
    body = client.get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert '<kbd class="hint">1</kbd> Дозвон</label>' in body
    call_record(case=case, manager=alice, data=CallInput(outcome="reached"), script_version=None)
    body = client.get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "<td>Дозвон" in body  # the call history
    # The week's counter counts reached calls: plural there.
    assert ">Дозвоны<" in client.get("/queue/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()


@pytest.mark.parametrize(
    ("count", "words"), [(1, "1 кейс возвращён в пул."), (3, "3 кейса возвращено в пул.")]
)
def test_the_release_message_agrees_with_its_number(alice, admin_user, login, count, words):
    for _ in range(count):
        open_case(manager=alice)
    client = login(admin_user)
    response = client.post(
        "/queue/pool/release/", {"manager": alice.pk}, HTTP_ACCEPT_LANGUAGE="ru", follow=True
    )
    assert words in response.content.decode()


def test_the_favicon_is_found_where_browsers_ask_for_it(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
    assert client.get(response["Location"]).status_code == 200


def test_htmx_settles_no_style_attribute(alice, login):
    """htmx copies the settled attributes of a swapped element with setAttribute; for
    ``style`` the CSP (no inline styles) refuses that, twice a swap. The page's config leaves
    ``style`` out, and htmx inserts no indicator styles of its own."""
    import json
    import re

    body = login(alice).get("/queue/").content.decode()
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", body)[1])
    assert config["includeIndicatorStyles"] is False
    assert "style" not in config["attributesToSettle"]


def test_the_case_card_shows_the_call_backs_date_and_time(alice, login):
    case = open_case(manager=alice)
    on = TODAY + dt.timedelta(days=2)
    call_record(
        case=case,
        manager=alice,
        data=CallInput(outcome="call_back", next_call_on=on, next_call_time=dt.time(9, 15)),
        script_version=None,
    )
    body = login(alice).get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert f"Следующий звонок {on:%d.%m.%Y} 09:15" in body


def test_the_offer_panel_is_part_of_the_call_form_and_works_without_scripting(alice, login):
    case = open_case(manager=alice)
    client = login(alice)
    body = client.get(f"/cases/{case.pk}/").content.decode()
    form = body[body.index('id="call-form"') : body.index("</form>", body.index('id="call-form"'))]
    # Inside the call form, above Save; the form's default button (Enter) saves the call.
    assert form.index('id="offers"') < form.index('id="issue-offer"') < form.index("Save call")
    assert form.index('name="then" value="stay"') < form.index('id="issue-offer"')
    # Without scripting the button posts the whole call form to the offer's address.
    template = OfferTemplate.objects.filter(active=True).first()
    response = client.post(
        f"/cases/{case.pk}/offer/", {"template": template.pk, "outcome": "reached", "notes": "x"}
    )
    assert response.status_code == 302 and case.offers.count() == 1
    assert not Call.objects.filter(case=case).exists()
