"""The schema, the docs page, and schemathesis against the schema: every operation, with the
key of each role, answers without a server error and as the schema says."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reactivation.models import Offer
from reactivation.wsgi import application
from tests.factories import OfferTemplateFactory, TransactionFactory

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("GET", "/api/v1/clients"),
    ("GET", "/api/v1/clients/{external_id}"),
    ("PUT", "/api/v1/clients/{external_id}"),
    ("POST", "/api/v1/transactions"),
    ("POST", "/api/v1/offers/validate"),
    ("POST", "/api/v1/offers/redeem"),
    ("GET", "/api/v1/cases"),
    ("GET", "/api/v1/cases/{case_id}"),
    ("GET", "/api/v1/cases/{case_id}/calls"),
    ("POST", "/api/v1/cases/{case_id}/calls"),
    ("GET", "/api/v1/cases/{case_id}/offers"),
    ("POST", "/api/v1/cases/{case_id}/offers"),
    ("GET", "/api/v1/cases/{case_id}/messages"),
    ("GET", "/api/v1/clients/{external_id}/consents"),
    ("POST", "/api/v1/clients/{external_id}/consents"),
    ("GET", "/api/v1/calls"),
}


def test_the_schema_is_openapi_3_json_readable_without_a_key(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json") or response[
        "Content-Type"
    ].startswith("application/json")
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    found = {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in ("get", "put", "post")
    }
    assert found == OPERATIONS
    assert all(not path.endswith("/") for _method, path in found)
    assert schema["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "errors"}
    batch = schema["paths"]["/api/v1/transactions"]["post"]["responses"]
    assert {"200", "201", "400", "401", "403", "429"} <= set(batch)


def test_the_docs_page_runs_from_vendored_files_under_the_strict_csp(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    # No inline script or style: every script and sheet is a file of this site.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "<style" not in page and "style=" not in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(src.startswith("/") for src in sources)
    for src in sources:
        if src.startswith("/static/"):
            assert finders.find(src.removeprefix("/static/")), src
    script = next(src for src in sources if src.startswith("/api/docs/"))
    init = client.get(script)
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in init.content.decode()


# --- schemathesis --------------------------------------------------------------------------------

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Bounded: ten generated requests per operation, mode and key keep the run well under a minute.
BOUNDED = settings(
    max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@pytest.fixture
def keep_connection():
    """Requests go to the WSGI application itself, whose end-of-request signal would close the
    test's database connection in the middle of its transaction; Django's own test client
    holds those signals off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def rows(world, alice):
    """Something for the operations to find: clients, cases, a transaction and an offer."""
    TransactionFactory(client=world["mine"], identity="id:T-1", date=dt.date(2026, 6, 1))
    Offer.objects.create(
        template=OfferTemplateFactory(),
        client=world["mine"],
        case=world["my_case"],
        code="WB-AAAA-BBBB",
        kind="percent",
        value=Decimal("10"),
        issued_on=dt.date(2026, 11, 16),
        expires_on=dt.date(2026, 11, 30),
        issued_by=alice,
    )
    return world


@pytest.mark.parametrize("role", ["admin", "owner", "alice"])
@pytest.mark.parametrize(("method", "path"), sorted(OPERATIONS))
def test_every_operation_answers_as_the_schema_says(
    method, path, role, keys, rows, settings, keep_connection
):
    """Valid and invalid requests generated from the schema, sent with the key of each role
    (an admin's, an owner's, a manager's): no server error, and every answer (status, content
    type, body) as the schema declares it."""
    settings.ALLOWED_HOSTS = ["*"]
    settings.API_RATE_LIMIT = "100000/min"
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
    operation = schema[path][method]
    headers = {"Authorization": f"Api-Key {keys[role]}"}
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    # Beside random ids (not found), requests about rows that exist and the key may see.
    known = {"case_id": rows["my_case"].pk, "external_id": "ALICE-1"}
    given_ids = {name: value for name, value in known.items() if "{" + name + "}" in path}
    if given_ids:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=given_ids))
    strategy = st.one_of(strategies)
    sent = []

    @given(case=strategy)
    @BOUNDED
    def run(case):
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        sent.append(response.status_code)

    run()
    assert sent, "no request was sent"
