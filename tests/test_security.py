"""Hardening: log-in lockout, security headers and the Content Security Policy, CSRF, state
changes refusing GET, escaping of client-supplied text, and production settings."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.test import RequestFactory
from django.urls import reverse

from calls.models import Call, Reason
from reactivation.client_ip import client_ip
from reactivation.models import BusinessSettings
from tests.factories import PASSWORD, CaseFactory, ClientFactory, TransactionFactory

BASE_DIR = Path(settings.BASE_DIR)
NASTY = '<script>alert("x")</script>'
NASTY_ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


# --- Log-in lockout -----------------------------------------------------------------------------
def _log_in(client: HttpClient, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_repeated_wrong_passwords_lock_the_name_from_that_address(client, alice):
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _log_in(client, "alice", "wrong-password").status_code == 200
    locked = _log_in(client, "alice", "wrong-password")
    assert locked.status_code == 429
    assert "registration/locked.html" in [t.name for t in locked.templates]
    # Locked: even the right password is refused now.
    assert _log_in(client, "alice", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_holds_one_name_at_one_address_only(client, alice, bob):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        _log_in(client, "alice", "wrong-password")
    assert _log_in(client, "bob", PASSWORD).status_code == 302
    other = HttpClient(REMOTE_ADDR="10.0.0.2")
    assert _log_in(other, "alice", PASSWORD).status_code == 302


def test_a_successful_log_in_resets_the_count(client, alice):
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        _log_in(client, "alice", "wrong-password")
    assert _log_in(client, "alice", PASSWORD).status_code == 302
    client.logout()
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        _log_in(client, "alice", "wrong-password")
    assert _log_in(client, "alice", PASSWORD).status_code == 302


def test_behind_a_proxy_a_forged_forwarded_header_does_not_escape_the_lock(client, alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        # The attacker writes a new address each time; the proxy appends the real one.
        _log_in(
            client, "alice", "wrong-password", HTTP_X_FORWARDED_FOR=f"1.2.3.{attempt}, 203.0.113.9"
        )
    response = _log_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.9")
    assert response.status_code == 429
    # Another real client behind the same proxy is not locked out.
    response = _log_in(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert response.status_code == 302


def _from(address: str) -> HttpClient:
    return HttpClient(REMOTE_ADDR=address)


def test_one_name_guessed_from_many_addresses_is_locked_at_every_address(alice):
    """Below the per-pair limit at each address, yet the name's own count locks it."""
    for attempt in range(settings.LOGIN_FAILURES_PER_USERNAME - 1):
        assert _log_in(_from(f"10.1.0.{attempt}"), "alice", "wrong-password").status_code == 200
    # One failure left: alice herself still gets in, from an address of her own.
    assert _log_in(_from("10.2.0.1"), "alice", PASSWORD).status_code == 302
    assert _log_in(_from("10.1.1.1"), "alice", "wrong-password").status_code == 429
    assert _log_in(_from("10.2.0.2"), "alice", PASSWORD).status_code == 429


def test_one_address_spraying_over_many_names_is_locked_for_every_name(alice, bob):
    """A few passwords tried on every user name from one address: the address's own count
    locks it, though no name reached the per-pair limit there."""
    spray = _from("203.0.113.50")
    for attempt in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        response = _log_in(spray, f"user{attempt % 7}", f"Password{attempt}")
        assert response.status_code == (
            429 if attempt == settings.LOGIN_FAILURES_PER_ADDRESS - 1 else 200
        )
    assert _log_in(spray, "bob", PASSWORD).status_code == 429
    assert _log_in(_from("198.51.100.1"), "bob", PASSWORD).status_code == 302


def test_logging_in_with_an_own_account_does_not_clear_the_addresss_count(alice, bob):
    spray = _from("203.0.113.60")
    for attempt in range(settings.LOGIN_FAILURES_PER_ADDRESS - 1):
        _log_in(spray, f"user{attempt}", "Password1")
    # The attacker owns alice's account: logging in with it clears only alice's own failures.
    assert _log_in(spray, "alice", PASSWORD).status_code == 302
    assert _log_in(_from("203.0.113.60"), "charlie-guess", "Password1").status_code == 429
    assert _log_in(_from("203.0.113.60"), "bob", PASSWORD).status_code == 429


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "127.0.0.1"),
        (1, "1.1.1.1", "1.1.1.1"),
        (1, "6.6.6.6, 1.1.1.1", "1.1.1.1"),
        (2, "6.6.6.6, 1.1.1.1, 10.0.0.5", "1.1.1.1"),
        (2, "1.1.1.1", "127.0.0.1"),
        (1, "not-an-address", "127.0.0.1"),
        (1, "", "127.0.0.1"),
    ],
)
def test_the_client_address_is_read_from_the_trusted_hops_only(
    settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_weak_passwords_are_refused(login, admin_user):
    response = login(admin_user).post(
        reverse("settings_user_create"),
        {
            "username": "newbie",
            "first_name": "",
            "last_name": "",
            "email": "",
            "roles": ["manager"],
            "is_active": "on",
            "password1": "12345678",
            "password2": "12345678",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert 'value="newbie"' in response.content.decode()


# --- Headers and the Content Security Policy ----------------------------------------------------
def test_security_headers_and_a_strict_csp(client):
    response = client.get(reverse("login"))
    csp = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE)
STYLE_BLOCK = re.compile(r"<style[\s>]", re.IGNORECASE)


def _templates() -> list[Path]:
    return sorted((BASE_DIR / "templates").rglob("*.html"))


def test_no_template_has_inline_script_style_or_event_handlers():
    problems = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, STYLE_ATTRIBUTE, HANDLER_ATTRIBUTE, STYLE_BLOCK):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(BASE_DIR)}:{line}: {match.group(0).strip()}")
    assert _templates()
    assert not problems, "\n".join(problems)


def test_production_settings_pass_check_deploy(tmp_path):
    """``manage.py check --deploy`` with production values: no warning at all."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "crm.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # Set by the browser tests' conftest for Playwright's event loop; never set in production.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, "
            "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_HTTPONLY)",
        ],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "reactivation.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.stdout.split() == ["False", "True", "True", "True", "True", "True"], probe.stderr


# --- CSRF and methods ---------------------------------------------------------------------------
@pytest.fixture
def strict_client(admin_user):
    client = HttpClient(enforce_csrf_checks=True)
    client.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def _schedule_post() -> dict:
    return {
        "company_name": "Acme",
        "nightly_at": "03:30",
        "assignment_weekday": "1",
        "abc_window_days": "365",
        "abc_a_share": "0.8",
        "abc_b_share": "0.15",
        "margin_rate": "0.3",
        "return_share": "0.2",
        "won_back_window_days": "90",
    }


def test_a_state_change_without_a_csrf_token_is_refused(strict_client):
    response = strict_client.post(reverse("settings_schedule"), _schedule_post())
    assert response.status_code == 403
    assert BusinessSettings.load().company_name == ""


def test_an_htmx_request_carries_the_token_in_a_header(strict_client):
    page = strict_client.get(reverse("settings_schedule"))
    token = re.search(
        r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page.content.decode()
    ).group(1)
    response = strict_client.post(
        reverse("settings_schedule"),
        _schedule_post(),
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status_code == 302
    assert BusinessSettings.load().company_name == "Acme"


def test_a_forged_token_is_refused(strict_client):
    strict_client.get(reverse("settings_schedule"))
    response = strict_client.post(
        reverse("settings_schedule"), _schedule_post(), headers={"X-CSRFToken": "forged" * 8}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/logout/",
        "/queue/pool/reassign/",
        "/queue/pool/release/",
        "/settings/policies/new/",
    ],
)
def test_state_changes_refuse_get(login, admin_user, path):
    assert login(admin_user).get(path).status_code == 405


def test_deleting_a_transaction_refuses_get_without_confirmation(login, admin_user):
    row = TransactionFactory()
    response = login(admin_user).get(reverse("settings_transaction_delete", args=[row.pk]))
    assert response.status_code == 200  # the confirmation page, nothing deleted
    row.refresh_from_db()


# --- Escaping of client-supplied text -----------------------------------------------------------
@pytest.fixture
def nasty_client(alice):
    client = ClientFactory(name=NASTY, manager=alice, notes=NASTY, external_id="EVIL-1")
    TransactionFactory(
        client=client, date=dt.date(2026, 1, 10), amount=Decimal("100"), promo_code="<b>X</b>"
    )
    return client


def _assert_escaped(response) -> None:
    body = response.content.decode()
    assert response.status_code == 200
    assert NASTY not in body
    assert NASTY_ESCAPED in body


def test_a_script_in_a_client_name_is_shown_as_text_on_pages(
    login, owner, alice, admin_user, nasty_client
):
    case = CaseFactory(client=nasty_client, assigned_to=alice, assigned_on=dt.date(2026, 11, 2))
    _assert_escaped(login(owner).get(reverse("client_list"), {"q": "EVIL"}))
    _assert_escaped(
        login(owner).get(reverse("client_list"), {"q": "EVIL"}, headers={"HX-Request": "true"})
    )
    _assert_escaped(login(owner).get(reverse("client_detail", args=[nasty_client.pk])))
    _assert_escaped(login(alice).get(reverse("case_detail", args=[case.pk])))
    _assert_escaped(login(alice).get(reverse("queue")))
    admin = login(admin_user)
    _assert_escaped(admin.get(reverse("settings_client_delete", args=[nasty_client.pk])))
    nasty_client.name = NASTY + " v2"
    nasty_client._history_user = admin_user
    nasty_client.save()
    _assert_escaped(admin.get(reverse("settings_audit")))


def test_a_script_in_a_reason_is_escaped_in_the_dashboard_charts_and_exports(
    login, owner, alice, nasty_client
):
    reason = Reason.objects.create(code="evil", name=NASTY)
    case = CaseFactory(client=nasty_client, assigned_to=alice, assigned_on=dt.date(2026, 11, 2))
    Call.objects.create(
        case=case,
        client=nasty_client,
        manager=alice,
        outcome="reached",
        reason=reason,
        called_at=dt.datetime(2026, 11, 3, 10, tzinfo=dt.UTC),
    )
    from reactivation.services.activity import activity_refresh

    activity_refresh(
        start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30)
    )  # as the nightly run does
    user_client = login(owner)
    page = user_client.get(reverse("dashboard"), {"period": "365"})
    body = page.content.decode()
    assert page.status_code == 200
    assert NASTY not in body
    assert "&lt;script&gt;alert(" in body  # the chart's labels, quoted in its data attribute
    export = user_client.get(reverse("dashboard_export", args=["reasons"]), {"period": "365"})
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    assert "attachment" in export["Content-Disposition"]
    # In a CSV file the name is plain text, written as it is (quoted by the CSV rules).
    assert '"<script>alert(""x"")</script>"' in export.content.decode("utf-8-sig")


def test_a_script_in_an_imported_name_stays_text_on_pages_and_in_exports(tmp_path, login, owner):
    """A client named ``<script>...`` (and one whose name a spreadsheet would run as a formula)
    comes in from a file: pages show the text, the CSV and XLSX exports carry it as text."""
    from io import BytesIO

    from django.core.management import call_command
    from openpyxl import load_workbook

    path = tmp_path / "clients.csv"
    path.write_text(
        f'client;name\nEVIL-1;"{NASTY.replace(chr(34), chr(34) * 2)}"\nEVIL-2;=HYPERLINK("http://x")\n',
        encoding="utf-8",
    )
    call_command("import_clients", str(path), stdout=open(os.devnull, "w"))  # noqa: SIM115
    user_client = login(owner)
    _assert_escaped(user_client.get(reverse("client_list"), {"q": "EVIL-1"}))
    _assert_escaped(user_client.get(reverse("client_list")))

    csv_text = b"".join(user_client.get("/clients/export/").streaming_content).decode("utf-8-sig")
    assert '"<script>alert(""x"")</script>"' in csv_text
    assert "\n=HYPERLINK" not in csv_text and ",=HYPERLINK" not in csv_text  # never a live formula

    response = user_client.get("/clients/export/", {"format": "xlsx"})
    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    cells = [
        cell
        for row in sheet.iter_rows()
        for cell in row
        if cell.value and "EVIL" not in str(cell.value)
    ]
    names = {
        cell.value: cell.data_type
        for cell in cells
        if "alert" in str(cell.value) or "HYPERLINK" in str(cell.value)
    }
    assert names.get(NASTY) == "s"
    assert all(data_type == "s" for data_type in names.values())
    assert not any(str(value).startswith("=") for value in names)


# --- Caching of signed-in pages and exports -------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/clients/",
        "/clients/export/",
        "/clients/export/?format=xlsx",
        "/queue/pool/",
        "/queue/export/",
        "/settings/",
        "/import/",
    ],
)
def test_signed_in_pages_and_exports_are_never_stored_by_a_cache(login, admin_user, path):
    response = login(admin_user).get(path)
    assert response.status_code == 200
    directives = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= directives


def test_a_managers_case_page_is_never_stored(login, alice):
    case = CaseFactory(client=ClientFactory(manager=alice), assigned_to=alice)
    response = login(alice).get(reverse("case_detail", args=[case.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_an_answer_to_a_request_with_credentials_is_never_stored(client):
    # The translation catalogue is public and cacheable, unless the request carries credentials.
    public = client.get("/jsi18n/")
    assert public.status_code == 200
    assert "no-store" not in public.get("Cache-Control", "")
    with_key = client.get("/jsi18n/", headers={"Authorization": "Api-Key not-a-key"})
    assert "no-store" in with_key["Cache-Control"]


# --- Request bodies refused by their declared size -----------------------------------------------
class _UnreadBody:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def _declared_post(client, path: str, size: int):
    return client.generic(
        "POST",
        path,
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(size),
        **{"wsgi.input": _UnreadBody()},
    )


def test_an_upload_larger_than_the_cap_is_refused_before_its_body_is_read(
    login, admin_user, settings
):
    from clients.models import ImportJob

    settings.UPLOAD_MAX_BYTES = 20 * 1024 * 1024
    client = login(admin_user)
    client.raise_request_exception = True
    response = _declared_post(client, reverse("import_start"), 40 * 1024 * 1024)
    assert response.status_code == 413
    assert "at most 21 MB" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_any_other_page_refuses_a_body_past_the_form_limit_before_reading_it(login, admin_user):
    client = login(admin_user)
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 2 * 1024 * 1024
    assert _declared_post(client, reverse("settings_schedule"), size).status_code == 413
    assert _declared_post(client, reverse("settings_script_import"), size).status_code == 413
    # Not signed in: refused the same way, before the log-in redirect reads anything.
    assert _declared_post(HttpClient(), reverse("login"), size).status_code == 413


def test_an_upload_within_the_cap_reaches_the_import_page(login, admin_user, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.UPLOAD_MAX_BYTES = 4 * 1024 * 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100 * 1024  # the body is past what other pages take
    body = "client;date;amount\n" + "C-1;2026-01-10;100\n" * 80_000  # ~1.5 MB
    upload = SimpleUploadedFile("big.csv", body.encode(), content_type="text/csv")
    response = login(admin_user).post(
        reverse("import_start"), {"kind": "transactions", "file": upload}
    )
    assert response.status_code == 302


def test_the_refusal_of_a_too_large_body_is_in_the_users_language(login, admin_user, settings):
    settings.UPLOAD_MAX_BYTES = 20 * 1024 * 1024
    client = login(admin_user)
    client.cookies["django_language"] = "ru"
    response = _declared_post(client, reverse("import_start"), 40 * 1024 * 1024)
    assert response.status_code == 413
    assert "Эта страница принимает не больше 21 МБ" in response.content.decode()
