"""Shared fixtures.

Services: tests marked ``postgres`` need DATABASE_URL to point at PostgreSQL, tests marked
``redis`` need REDIS_URL, tests marked ``e2e`` need Debian's Chromium. With REQUIRE_SERVICES=1
(as CI runs) a missing service fails those tests; without it (a quick local run on the embedded
SQLite database) they are reported as skipped with the reason, never silently passed.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import PASSWORD, UserFactory
from tests.worker import broker  # noqa: F401 - the fixture of the tests that use a real worker

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _missing_service(marker: str) -> str | None:
    if marker == "postgres" and not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return "needs PostgreSQL: set DATABASE_URL"
    if marker == "redis" and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL"
    if marker == "e2e" and not shutil.which(CHROMIUM):
        return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker in ("postgres", "redis", "e2e"):
            if item.get_closest_marker(marker) is None:
                continue
            reason = _missing_service(marker)
            if reason is None:
                continue
            if REQUIRE_SERVICES:
                item.add_marker(pytest.mark.usefixtures("_fail_missing_service"))
                item.user_properties.append(("missing_service", reason))
            else:
                # Justified: a local run without the service; CI sets REQUIRE_SERVICES=1.
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def _fail_missing_service(request):
    reasons = [value for key, value in request.node.user_properties if key == "missing_service"]
    pytest.fail(f"REQUIRE_SERVICES=1 but the service is missing: {'; '.join(reasons)}")


def pytest_sessionstart(session):
    if REQUIRE_SERVICES:
        problems = [r for r in (_missing_service("postgres"), _missing_service("redis")) if r]
        if problems:
            raise pytest.UsageError("REQUIRE_SERVICES=1: " + "; ".join(problems))


@pytest.fixture(autouse=True)
def _fast_test_settings(settings):
    # A fast hasher: the suite creates many users; hashing strength is not under test here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests read English unless they ask for Russian (tests/test_i18n.py checks the Russian UI).
    settings.LANGUAGE_CODE = "en"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _tasks_in_process(request, settings):
    """Tasks run in-process and eagerly, as on the embedded default, even when REDIS_URL is set;
    only tests marked ``redis`` send them through the broker to a real worker."""
    if request.node.get_closest_marker("redis"):
        yield
        return
    from reactivation.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


# Three people, as in every access test: alice owns the row, bob is her colleague, charlie has
# no role at all. Owners and admins see everything.
@pytest.fixture
def alice(db):
    return UserFactory(username="alice", first_name="Alice", last_name="Manager", role="manager")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", first_name="Bob", last_name="Colleague", role="manager")


@pytest.fixture
def charlie(db):
    return UserFactory(username="charlie", first_name="Charlie", last_name="Outsider")


@pytest.fixture
def owner(db):
    return UserFactory(username="olga", first_name="Olga", last_name="Owner", role="owner")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="adam", first_name="Adam", last_name="Admin", role="admin")


@pytest.fixture
def login(client):
    """``login(user)`` logs the test client in and returns it."""

    def _login(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return _login


@pytest.fixture
def password() -> str:
    return PASSWORD
