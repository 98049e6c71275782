"""The production smoke's crawler (.ci/prod_smoke.py), run here against the test live server:
it reads the URL conf, logs in through the form, asks every page of a role, and fails on a
server error or a signed-in page that a cache could keep."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import path

from reactivation.urls import urlpatterns as product_urlpatterns

SCRIPT = Path(settings.BASE_DIR) / ".ci" / "prod_smoke.py"


def _load_smoke():
    spec = importlib.util.spec_from_file_location("prod_smoke", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


smoke = _load_smoke()


def broken(request):
    raise RuntimeError("a page that fails")


# A URL conf with one page that fails, for the crawl to find.
urlpatterns = [path("broken/", broken, name="broken"), *product_urlpatterns]


def _args(**overrides) -> argparse.Namespace:
    values = {"start": [], "per_shape": 1, "max_per_role": 120, "verbose": False}
    return argparse.Namespace(**{**values, **overrides})


def test_routes_are_read_from_the_url_conf_with_their_converters():
    routes = {route.name: route for route in smoke.parse_routes(smoke.urlconf_routes())}
    card = routes["client_detail"]
    assert card.params == ["client_id"] and card.ids == ["client_id"]
    assert card.regex.match("/clients/12/")
    assert not card.regex.match("/clients/12x/")
    assert card.fill({"client_id": "12"}) == "/clients/12/"
    assert routes["dashboard_export"].tokens == []  # a slug is a page's name, not a secret
    assert not any(name.startswith("admin:") for name in routes)


def test_a_link_shape_counts_ids_and_query_keys_not_values():
    assert smoke.shape("/clients/12/?page=2&q=x") == smoke.shape("/clients/7/?q=y&page=9")
    assert smoke.shape("/clients/12/") != smoke.shape("/clients/12/?page=2")
    found = smoke.links(
        "/clients/",
        '<a href="?page=2">next</a> <a href="/cases/3/#call">c</a> '
        '<div hx-get="/clients/?q=a&amp;page=3"></div> <a href="https://example.com/">x</a> '
        '<link href="/static/css/app.1234567890ab.css"> <a href="mailto:a@b.c">m</a>',
    )
    assert found == [
        "/clients/?page=2",
        "/cases/3/",
        "/clients/?q=a&page=3",
        "/static/css/app.1234567890ab.css",
    ]


def _crawl(live_server, user, password, **overrides) -> smoke.Report:
    routes = smoke.parse_routes(smoke.urlconf_routes())
    report = smoke.Report()
    report.anonymous = smoke.Session(live_server.url, 30)
    session = smoke.Session(live_server.url, 30)
    assert smoke.log_in(session, user.username, password, report), report.failures
    smoke.crawl(session, "admin", routes, _args(**overrides), report)
    return report


@pytest.mark.django_db(transaction=True)
def test_the_crawl_asks_an_admins_pages_and_finds_nothing_wrong(live_server, admin_user, password):
    report = _crawl(live_server, admin_user, password)
    # Machines' webhooks are not an admin's pages: their answers are the messaging area's tests.
    assert [f for f in report.failures if "/messaging/anymail/" not in f] == []
    assert report.requests > 25
    for name in (
        "dashboard",
        "client_list",
        "queue_pool",
        "settings_home",
        "settings_audit",
        "import_start",
    ):
        assert "admin" in report.reached.get(name, set()), name
    assert any(static.startswith("/static/vendor/htmx/") for static in report.statics)


@pytest.mark.django_db(transaction=True)
def test_the_crawl_reports_a_server_error(live_server, admin_user, password, settings):
    settings.ROOT_URLCONF = __name__
    report = _crawl(live_server, admin_user, password, start=["/broken/"])
    assert "admin: GET /broken/ -> 500" in report.failures


@pytest.mark.django_db(transaction=True)
def test_a_signed_in_page_that_a_cache_could_keep_is_reported(live_server):
    routes = smoke.parse_routes(smoke.urlconf_routes())
    report = smoke.Report()
    report.anonymous = smoke.Session(live_server.url, 30)
    cacheable = smoke.Reply(200, {"cache-control": "max-age=600"}, b"<html></html>")
    smoke.check_page("admin", "/clients/", cacheable, report, routes)
    assert report.failures == [
        "admin: GET /clients/ is a signed-in page without Cache-Control: no-store"
    ]
    # A page anyone gets (the log-in page) may be cached.
    smoke.check_page("admin", "/accounts/login/", cacheable, report, routes)
    assert len(report.failures) == 1
