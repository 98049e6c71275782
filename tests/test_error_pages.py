"""The error pages speak the product's language and lead back to work: a missing (or a
colleague's) page, a page the role does not open, and a server error."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import translation
from django.views.defaults import server_error

from tests.reactivation.queue_helpers import open_case

pytestmark = pytest.mark.django_db


def test_a_colleagues_case_is_a_page_not_found_in_the_layout(alice, bob, login):
    theirs = open_case(manager=bob)
    response = login(alice).get(f"/cases/{theirs.pk}/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Такой страницы здесь нет." in body
    assert 'href="/queue/"' in body  # the navigation of the user's role
    assert "Alice Manager" in body


def test_an_unknown_address_is_the_same_page(alice, login):
    response = login(alice).get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "There is no such page here." in response.content.decode()


def test_a_page_closed_to_the_role_says_so(alice, login):
    response = login(alice).get("/settings/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 403
    assert "Эта страница закрыта для вашей роли." in response.content.decode()


def test_a_server_error_page_needs_no_context():
    request = RequestFactory().get("/queue/")
    with translation.override("ru"):
        response = server_error(request)
    assert response.status_code == 500
    body = response.content.decode()
    assert "Что-то пошло не так на нашей стороне." in body
    assert "bootstrap.min.css" in body


def test_a_form_sent_without_its_token_is_explained(alice):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    case = open_case(manager=alice)
    response = browser.post(
        f"/cases/{case.pk}/call/", {"outcome": "busy"}, HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert response.status_code == 403
    assert "Форма устарела." in response.content.decode()
