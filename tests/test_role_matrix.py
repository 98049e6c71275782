"""Every URL x every kind of visitor, with the answer each must get.

The matrix is checked against the URL resolver: a new URL without an entry here fails
``test_every_url_has_an_entry``, so nobody can add a page or an action without deciding who may
use it. Visitors: anonymous, the manager whose client and case the URL names (alice), a
colleague manager (bob), the owner, and an admin. State changes are also asked with GET, which
they must refuse (405).

Codes: 200 page; 302 redirect after an action; LOGIN a redirect to the log-in page; 400 a form
refused; 403 role refused; 404 not visible to this user; 405 method refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from calls.models import Reason, Script, ScriptVersion
from clients.models import ImportJob
from reactivation.models import Case, OfferTemplate, Policy
from tests.factories import CaseFactory, ClientFactory, SegmentFactory, TransactionFactory

ROLES = ("anonymous", "manager", "colleague", "owner", "admin")
LOGIN = "LOGIN"


def _same(code: Any) -> dict[str, Any]:
    return dict.fromkeys(ROLES, code)


def _roles(
    *, anonymous: Any = LOGIN, manager: Any, colleague: Any = None, owner: Any, admin: Any
) -> dict[str, Any]:
    return {
        "anonymous": anonymous,
        "manager": manager,
        "colleague": manager if colleague is None else colleague,
        "owner": owner,
        "admin": admin,
    }


ADMIN_ONLY = _roles(manager=403, owner=403, admin=200)
ADMIN_ONLY_ACTION = _roles(manager=403, owner=403, admin=302)
POST_ONLY = _same(405)


@dataclass
class Entry:
    path: str  # format string over the world's ids
    get: dict[str, Any] | None = None
    post: dict[str, Any] | None = None
    post_data: dict[str, Any] = field(default_factory=dict)
    htmx: bool = False


MATRIX: dict[str, Entry] = {
    # Public and account pages
    "home": Entry("/", get=_roles(manager=302, owner=302, admin=302)),
    "healthz": Entry("/healthz", get=_same(200), post=_same(405)),
    "favicon": Entry("/favicon.ico", get=_same(301)),
    "login": Entry(
        "/accounts/login/", get=_roles(anonymous=200, manager=302, owner=302, admin=302)
    ),
    "logout": Entry(
        "/accounts/logout/",
        get=_same(405),
        post=_roles(anonymous=LOGIN, manager=LOGIN, owner=LOGIN, admin=LOGIN),
    ),
    "set_language": Entry(
        "/i18n/setlang/", post=_same(302), post_data={"language": "en", "next": "/"}
    ),
    "javascript-catalog": Entry("/jsi18n/", get=_same(200)),
    "admin:index": Entry("/admin/", get=_roles(anonymous=302, manager=302, owner=302, admin=200)),
    # Clients
    "client_list": Entry("/clients/", get=_roles(manager=200, owner=200, admin=200), htmx=True),
    "client_detail": Entry(
        "/clients/{client}/", get=_roles(manager=200, colleague=404, owner=200, admin=200)
    ),
    # Import and export
    "import_start": Entry(
        "/import/", get=ADMIN_ONLY, post=_roles(manager=403, owner=403, admin=400)
    ),
    "import_job": Entry(
        "/import/{job}/", get=ADMIN_ONLY, post=_roles(manager=403, owner=403, admin=405), htmx=True
    ),
    "import_preview": Entry("/import/{job}/preview/", get=POST_ONLY, post=ADMIN_ONLY_ACTION),
    "import_run": Entry("/import/{job}/run/", get=POST_ONLY, post=ADMIN_ONLY_ACTION),
    "client_export": Entry(
        "/clients/export/",
        get=_roles(manager=200, owner=200, admin=200),
        post=_roles(manager=405, owner=405, admin=405),
    ),
    "queue_export": Entry(
        "/queue/export/",
        get=_roles(manager=200, owner=200, admin=200),
        post=_roles(manager=405, owner=405, admin=405),
    ),
    # The manager's week and cases
    "queue": Entry("/queue/", get=_roles(manager=200, owner=200, admin=200), htmx=True),
    "queue_pool": Entry("/queue/pool/", get=_roles(manager=200, owner=200, admin=200), htmx=True),
    "queue_next": Entry("/queue/next/", get=_roles(manager=302, owner=302, admin=302)),
    "queue_reassign": Entry("/queue/pool/reassign/", get=POST_ONLY, post=ADMIN_ONLY_ACTION),
    "queue_release": Entry("/queue/pool/release/", get=POST_ONLY, post=ADMIN_ONLY_ACTION),
    "case_detail": Entry(
        "/cases/{case}/", get=_roles(manager=200, colleague=404, owner=200, admin=200), htmx=True
    ),
    "case_claim": Entry(
        "/cases/{case}/claim/",
        get=POST_ONLY,
        post=_roles(manager=302, colleague=404, owner=302, admin=302),
    ),
    "case_call": Entry(
        "/cases/{case}/call/",
        get=POST_ONLY,
        post=_roles(manager=200, colleague=404, owner=200, admin=200),
    ),
    "case_offer": Entry(
        "/cases/{case}/offer/",
        get=POST_ONLY,
        post=_roles(manager=200, colleague=404, owner=200, admin=200),
    ),
    "case_close": Entry(
        "/cases/{case}/close/",
        get=POST_ONLY,
        post=_roles(manager=200, colleague=404, owner=200, admin=200),
    ),
    "case_assign": Entry("/cases/{case}/assign/", get=POST_ONLY, post=ADMIN_ONLY_ACTION),
    # Dashboards and their exports
    "dashboard": Entry("/dashboard/", get=_roles(manager=403, owner=200, admin=200), htmx=True),
    "dashboard_numbers": Entry(
        "/dashboard/numbers/funnel/",
        get=_roles(manager=403, owner=200, admin=200),
        post=_roles(manager=403, owner=405, admin=405),
        htmx=True,
    ),
    "dashboard_export": Entry(
        "/dashboard/export/funnel.csv",
        get=_roles(manager=403, owner=200, admin=200),
        post=_roles(manager=403, owner=405, admin=405),
    ),
    # Settings (admins only), their htmx fragments, exports and deletions
    "settings_home": Entry("/settings/", get=ADMIN_ONLY),
    "settings_schedule": Entry("/settings/schedule/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_policies": Entry("/settings/policies/", get=ADMIN_ONLY),
    "settings_policy_create": Entry(
        "/settings/policies/new/", get=POST_ONLY, post=ADMIN_ONLY_ACTION
    ),
    "settings_policy_edit": Entry("/settings/policies/{policy}/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_policy_preview": Entry(
        "/settings/policies/{policy}/preview/", get=ADMIN_ONLY, htmx=True
    ),
    "settings_policy_backtest": Entry(
        "/settings/policies/{policy}/backtest/", get=ADMIN_ONLY, htmx=True
    ),
    "settings_backlog": Entry("/settings/policies/backlog/", get=POST_ONLY, post=ADMIN_ONLY_ACTION),
    "settings_models": Entry("/settings/models/", get=ADMIN_ONLY),
    "settings_model_fit": Entry(
        "/settings/models/{segment}/fit/", get=POST_ONLY, post=ADMIN_ONLY_ACTION
    ),
    "settings_model_apply": Entry(
        "/settings/models/{segment}/apply/", get=POST_ONLY, post=ADMIN_ONLY_ACTION
    ),
    "settings_scripts": Entry("/settings/scripts/", get=ADMIN_ONLY),
    "settings_script_create": Entry("/settings/scripts/new/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_script_import": Entry("/settings/scripts/import/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_script_edit": Entry("/settings/scripts/{script}/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_script_preview": Entry("/settings/scripts/{script}/preview/", get=ADMIN_ONLY),
    "settings_script_export": Entry("/settings/scripts/{script}/export/", get=ADMIN_ONLY),
    "settings_offers": Entry("/settings/offers/", get=ADMIN_ONLY),
    "settings_offer_create": Entry("/settings/offers/new/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_offer_edit": Entry("/settings/offers/{template}/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_reasons": Entry("/settings/reasons/", get=ADMIN_ONLY),
    "settings_reason_create": Entry("/settings/reasons/new/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_reason_edit": Entry("/settings/reasons/{reason}/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_plans": Entry("/settings/plans/", get=ADMIN_ONLY),
    "settings_plan_edit": Entry("/settings/plans/{manager}/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_users": Entry("/settings/users/", get=ADMIN_ONLY),
    "settings_user_create": Entry("/settings/users/new/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_user_edit": Entry("/settings/users/{manager}/", get=ADMIN_ONLY, post=ADMIN_ONLY),
    "settings_user_password": Entry(
        "/settings/users/{manager}/password/", get=ADMIN_ONLY, post=ADMIN_ONLY
    ),
    "settings_audit": Entry("/settings/audit/", get=ADMIN_ONLY, htmx=True),
    "settings_client_delete": Entry(
        "/settings/clients/{client}/delete/", get=ADMIN_ONLY, post=ADMIN_ONLY
    ),
    "settings_transaction_delete": Entry(
        "/settings/transactions/{transaction}/delete/", get=ADMIN_ONLY, post=ADMIN_ONLY_ACTION
    ),
    # Messages: the case's send panel and send action, for whoever may see the case (a send
    # without its fields is refused with a message, back on the case); the providers' callbacks,
    # the Telegram webhook and unsubscribe links answer a wrong secret or token with 404.
    "messaging_panel": Entry(
        "/cases/{case}/messages/",
        get=_roles(manager=200, colleague=404, owner=200, admin=200),
        htmx=True,
    ),
    "messaging_send": Entry(
        "/cases/{case}/messages/send/",
        get=POST_ONLY,
        post=_roles(manager=302, colleague=404, owner=302, admin=302),
    ),
    "messaging_callback": Entry(
        "/messaging/callbacks/smsru/wrong-token/", get=_same(404), post=_same(404)
    ),
    "messaging_telegram": Entry(
        "/messaging/telegram/wrong-token/", get=_same(405), post=_same(404)
    ),
    "messaging_unsubscribe": Entry("/u/not-a-token/", get=_same(404), post=_same(404)),
    "settings_message_templates": Entry("/settings/messages/", get=ADMIN_ONLY),
    "settings_message_template_create": Entry(
        "/settings/messages/new/", get=ADMIN_ONLY, post=_roles(manager=403, owner=403, admin=200)
    ),
    "settings_message_template_edit": Entry(
        "/settings/messages/0/", get=_roles(manager=403, owner=403, admin=404)
    ),
    # API keys (a form without its fields is refused; no key has this prefix)
    "settings_api_keys": Entry(
        "/settings/api-keys/", get=ADMIN_ONLY, post=_roles(manager=403, owner=403, admin=400)
    ),
    "settings_api_key_revoke": Entry(
        "/settings/api-keys/NOPREFIX/revoke/",
        get=POST_ONLY,
        post=_roles(manager=403, owner=403, admin=404),
    ),
    # Webhooks (a form without its fields is refused; no endpoint or delivery has id 0)
    "settings_webhooks": Entry(
        "/settings/webhooks/", get=ADMIN_ONLY, post=_roles(manager=403, owner=403, admin=400)
    ),
    "settings_webhook": Entry(
        "/settings/webhooks/0/",
        get=_roles(manager=403, owner=403, admin=404),
        post=_roles(manager=403, owner=403, admin=404),
    ),
    "settings_webhook_deactivate": Entry(
        "/settings/webhooks/0/deactivate/",
        get=POST_ONLY,
        post=_roles(manager=403, owner=403, admin=404),
    ),
    "settings_webhook_redeliver": Entry(
        "/settings/webhooks/0/deliveries/0/redeliver/",
        get=POST_ONLY,
        post=_roles(manager=403, owner=403, admin=404),
    ),
    # Telephony: the phone system's webhook answers a wrong token with 403 to everyone; no
    # phone system is set up here, so dialling says so and returns to the case.
    "phone_webhook": Entry("/hooks/phone/zadarma/wrong-token/", get=_same(403), post=_same(403)),
    "phone_webhook_event": Entry(
        "/hooks/phone/mango/wrong-token/events/call", get=_same(403), post=_same(403)
    ),
    "phone_call_start": Entry(
        "/cases/{case}/dial/",
        get=POST_ONLY,
        post=_roles(manager=302, colleague=404, owner=302, admin=302),
    ),
    "phone_recording": Entry(
        "/phone/calls/0/recording/", get=_roles(manager=404, owner=404, admin=404)
    ),
    "phone_unmatched": Entry("/phone/unmatched/", get=_roles(manager=200, owner=200, admin=200)),
    "phone_unmatched_attach": Entry(
        "/phone/unmatched/0/attach/",
        get=POST_ONLY,
        post=_roles(manager=404, owner=404, admin=404),
    ),
    "settings_phone": Entry(
        "/settings/phone/", get=ADMIN_ONLY, post=_roles(manager=403, owner=403, admin=200)
    ),
    "settings_phone_create": Entry(
        "/settings/phone/new/", get=ADMIN_ONLY, post=_roles(manager=403, owner=403, admin=200)
    ),
    "settings_phone_edit": Entry(
        "/settings/phone/0/", get=_roles(manager=403, owner=403, admin=404)
    ),
    "settings_phone_token": Entry(
        "/settings/phone/0/token/",
        get=POST_ONLY,
        post=_roles(manager=403, owner=403, admin=404),
    ),
}

# The Django admin guards its own URLs (staff and model permissions); its index stands for them.
# Media files are served by the development server only.
# The API answers keys, not sessions: tests/api/ checks each role's key on every operation.
NOT_IN_MATRIX_PREFIXES = ("admin:", "api:")


def _collect(patterns: list, namespace: str = "", prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = (
                ":".join(filter(None, [namespace, pattern.namespace]))
                if pattern.namespace
                else namespace
            )
            found += _collect(pattern.url_patterns, inner, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            name = (
                f"{namespace}:{pattern.name}"
                if namespace and pattern.name
                else (pattern.name or "")
            )
            found.append((name, prefix + str(pattern.pattern)))
    return found


def test_every_url_has_an_entry():
    """A URL added without deciding who may use it fails here."""
    missing = []
    for name, route in _collect(get_resolver().url_patterns):
        if name.startswith(NOT_IN_MATRIX_PREFIXES) or route.startswith(("admin/", "^media/")):
            continue
        if not name or name not in MATRIX:
            missing.append(name or route)
    assert not missing, f"URLs without an entry in the role matrix: {sorted(missing)}"


def test_every_entry_is_a_real_url():
    names = {name for name, _route in _collect(get_resolver().url_patterns)}
    assert set(MATRIX) - names == set()


@pytest.fixture
def world(alice, bob, owner, admin_user):
    admin_user.is_staff = True  # as the users page makes every admin (services.admin._set_roles)
    admin_user.save(update_fields=["is_staff"])
    segment = SegmentFactory(code="coffee", name="Coffee")
    client = ClientFactory(manager=alice, segment=segment)
    transaction_row = TransactionFactory(
        client=client, date=dt.date(2026, 1, 15), amount=Decimal("1000")
    )
    case = CaseFactory(client=client, assigned_to=alice, assigned_on=dt.date(2026, 11, 2))
    policy = Policy.objects.filter(segment__isnull=True).first() or Policy.objects.create(
        segment=None
    )
    script = Script.objects.create(name="Matrix script")
    ScriptVersion.objects.create(
        script=script, number=1, steps=[{"key": "a", "title": "", "text": "Hello", "choices": []}]
    )
    template = OfferTemplate.objects.create(
        name="Matrix offer", kind="percent", value=Decimal("10")
    )
    reason = Reason.objects.get_or_create(code="matrix", defaults={"name": "Matrix"})[0]
    # An import that has finished: preview and run answer with a redirect, nothing is queued.
    job = ImportJob.objects.create(
        kind="clients", state="done", options={"stage": "import"}, created_by=admin_user
    )
    return {
        "users": {
            "anonymous": None,
            "manager": alice,
            "colleague": bob,
            "owner": owner,
            "admin": admin_user,
        },
        "ids": {
            "client": client.pk,
            "case": case.pk,
            "policy": policy.pk,
            "segment": segment.pk,
            "script": script.pk,
            "template": template.pk,
            "reason": reason.pk,
            "manager": alice.pk,
            "transaction": transaction_row.pk,
            "job": job.pk,
        },
        "case": case,
    }


def _cases() -> list[Any]:
    params = []
    for name, entry in MATRIX.items():
        for method in ("get", "post"):
            expected = getattr(entry, method)
            if expected is None:
                continue
            for role in ROLES:
                params.append(pytest.param(name, method, role, id=f"{name}-{method}-{role}"))
    return params


def _check(response: Any, expected: Any, path: str) -> None:
    if expected == LOGIN:
        assert response.status_code == 302, (path, response.status_code)
        assert response["Location"].startswith("/accounts/login/"), response["Location"]
        return
    assert response.status_code == expected, (path, response.status_code)
    if expected == 302:
        assert not response["Location"].startswith("/accounts/login/"), response["Location"]


@pytest.mark.parametrize(("name", "method", "role"), _cases())
def test_role_matrix(client, world, name, method, role, monkeypatch):
    entry = MATRIX[name]
    expected = getattr(entry, method)[role]
    user = world["users"][role]
    if user is not None:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    path = entry.path.format(**world["ids"])
    if method == "get":
        response = client.get(path)
    else:
        response = client.post(path, entry.post_data)
    _check(response, expected, path)
    if entry.htmx and method == "get":
        # The htmx fragment of a page is guarded exactly like the page.
        fragment = client.get(path, headers={"HX-Request": "true"})
        _check(fragment, expected, path)


def test_a_case_is_not_claimed_by_a_colleague(client, world, bob):
    client.force_login(bob, backend="django.contrib.auth.backends.ModelBackend")
    client.post(f"/cases/{world['ids']['case']}/claim/")
    case = Case.objects.get(pk=world["ids"]["case"])
    assert case.assigned_to == world["users"]["manager"]


def test_exports_hold_only_what_the_user_may_see(client, world, bob):
    """A colleague's export leaves out alice's client and case; alice's own has them."""
    client.force_login(bob, backend="django.contrib.auth.backends.ModelBackend")
    external_id = world["case"].client.external_id
    assert external_id not in b"".join(client.get("/clients/export/").streaming_content).decode()
    assert external_id not in b"".join(client.get("/queue/export/").streaming_content).decode()
    client.force_login(
        world["users"]["manager"], backend="django.contrib.auth.backends.ModelBackend"
    )
    assert external_id in b"".join(client.get("/clients/export/").streaming_content).decode()
    assert external_id in b"".join(client.get("/queue/export/").streaming_content).decode()
