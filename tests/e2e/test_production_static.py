"""The production build in a real browser: debug off, static files collected into the manifest
storage and served by WhiteNoise from the web process, as gunicorn serves them in the image.
Every stylesheet, script, font and icon a page asks for comes by its hashed name and loads;
the styles apply, the scripts run, and the console stays clean."""

from __future__ import annotations

import re

import pytest
from django.db import connections
from django.test.testcases import LiveServerThread
from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.reactivation import dashboard_data
from tests.test_production import MANIFEST_STORAGE, collected  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HASHED = re.compile(r"/static/.+\.[0-9a-f]{12}\.\w+$")


@pytest.fixture
def production_server(collected, settings):  # noqa: F811
    """A live server whose requests all go through Django's middleware, WhiteNoise first (the
    test live server would answer /static/ itself from the source folders, by plain names)."""
    settings.DEBUG = False
    settings.STATIC_ROOT = str(collected)
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    shared = {
        alias: connections[alias]
        for alias in connections
        if connections[alias].vendor == "sqlite" and connections[alias].is_in_memory_db()
    }
    for connection in shared.values():
        connection.inc_thread_sharing()
    thread = LiveServerThread("localhost", lambda handler: handler, shared, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()
    for connection in shared.values():
        connection.dec_thread_sharing()


def test_a_page_of_the_production_build_loads_its_hashed_css_and_js(
    production_server, page, owner, alice, bob, console_errors
):
    dashboard_data.build(manager=alice, colleague=bob)
    statics: dict[str, int] = {}
    page.on(
        "response",
        lambda r: statics.__setitem__(r.url, r.status) if "/static/" in r.url else None,
    )
    page.goto(f"{production_server}/accounts/login/")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": production_server}])
    page.goto(f"{production_server}/accounts/login/")
    page.fill("input[name=username]", owner.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(
        f"{production_server}/dashboard/?period=custom&start=2026-06-01&end=2026-06-30",
        wait_until="networkidle",
    )
    expect(page.locator('canvas[data-chart="chart-funnel"]')).to_be_visible()

    # Every file the pages named came by its manifest name, and came.
    names = {url.split("/static/", 1)[1].split("?")[0] for url in statics}
    for expected in (
        "vendor/bootstrap/bootstrap.min.",
        "vendor/bootstrap/bootstrap.bundle.min.",
        "vendor/bootstrap-icons/bootstrap-icons.min.",
        "vendor/bootstrap-icons/fonts/bootstrap-icons.",
        "vendor/htmx/htmx.min.",
        "vendor/chartjs/chart.umd.min.",
        "css/app.",
        "js/app.",
        "js/dashboard.",
    ):
        assert any(name.startswith(expected) for name in names), (expected, sorted(names))
    assert all(HASHED.search(url.split("?")[0]) for url in statics), sorted(statics)
    assert set(statics.values()) == {200}, statics

    # The styles apply and the scripts run.
    assert page.evaluate("() => typeof window.htmx") == "object"
    assert page.evaluate("() => typeof window.bootstrap") == "object"
    assert page.evaluate("() => typeof window.Chart") == "function"
    assert (
        page.evaluate("() => getComputedStyle(document.querySelector('.navbar')).display") == "flex"
    )
    assert page.evaluate("() => document.fonts.check('16px bootstrap-icons')")
    assert page.evaluate(
        """() => Chart.getChart(document.querySelector('canvas[data-chart="chart-funnel"]'))
            .data.datasets[0].data"""
    ) == [10, 6, 4, 3, 2]
    assert console_errors == []
