"""The phone settings page, the extension command and the environment's default account."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from reactivation.telephony.models import PhoneAccount, PhoneExtension
from reactivation.telephony.services import account_default

pytestmark = pytest.mark.django_db


def test_admin_connects_a_phone_system_and_sees_the_webhook_address(login, admin_user):
    client = login(admin_user)
    response = client.post(
        "/settings/phone/new/",
        {
            "name": "Office",
            "provider": "zadarma",
            "api_key": "k-123",
            "api_secret": "s-very-secret",
            "base_url": "",
            "timezone": "Europe/Samara",
            "active": "on",
        },
    )
    assert response.status_code == 302
    account = PhoneAccount.objects.get()
    assert account.adapter_config().api_secret == "s-very-secret"
    assert account.adapter_config().timezone == "Europe/Samara"
    assert "s-very-secret" not in account.api_secret_sealed
    page = client.get("/settings/phone/").content.decode()
    assert f"http://testserver/hooks/phone/zadarma/{account.webhook_token}/" in page
    edit = client.get(f"/settings/phone/{account.pk}/").content.decode()
    assert (
        "s-very-secret" not in edit
        and "k-123" not in edit
        and account.api_secret_sealed not in edit
    )


def test_credentials_left_empty_are_kept(login, admin_user, zadarma):
    before = zadarma.adapter_config()
    login(admin_user).post(
        f"/settings/phone/{zadarma.pk}/",
        {
            "name": "Renamed",
            "provider": "zadarma",
            "api_key": "",
            "api_secret": "",
            "timezone": "",
            "active": "on",
        },
    )
    zadarma.refresh_from_db()
    assert zadarma.name == "Renamed"
    assert zadarma.adapter_config().api_secret == before.api_secret


def test_a_new_account_needs_its_secret_and_a_real_timezone(login, admin_user):
    response = login(admin_user).post(
        "/settings/phone/new/",
        {
            "name": "X",
            "provider": "mango",
            "api_key": "k",
            "api_secret": "",
            "timezone": "Mars/Base",
        },
    )
    assert response.status_code == 200
    assert PhoneAccount.objects.count() == 0
    form = response.context["form"]
    assert "api_secret" in form.errors and "timezone" in form.errors


def test_a_new_token_replaces_the_old_address(login, admin_user, zadarma, client):
    old = zadarma.webhook_token
    login(admin_user).post(f"/settings/phone/{zadarma.pk}/token/")
    zadarma.refresh_from_db()
    assert zadarma.webhook_token != old
    assert client.get(f"/hooks/phone/zadarma/{old}/", {"zd_echo": "x"}).status_code == 403


def test_admin_sets_an_extension_on_the_page(login, admin_user, alice, bob):
    client = login(admin_user)
    assert (
        client.post("/settings/phone/", {"user": alice.pk, "extension": "101"}).status_code == 302
    )
    assert PhoneExtension.objects.get(user=alice).extension == "101"
    response = client.post("/settings/phone/", {"user": bob.pk, "extension": "101"})
    assert response.status_code == 200
    assert "already belongs to alice" in response.content.decode()


@pytest.mark.parametrize("who", ["alice", "owner", "charlie"])
def test_only_admins_open_the_page(login, request, who):
    assert login(request.getfixturevalue(who)).get("/settings/phone/").status_code == 403


def test_the_settings_nav_links_the_page(login, admin_user):
    assert 'href="/settings/phone/"' in login(admin_user).get("/settings/").content.decode()


def test_the_extension_command(alice, bob, capsys):
    call_command("phone_extension", "alice", "101")
    assert PhoneExtension.objects.get(user=alice).extension == "101"
    assert "alice: extension 101" in capsys.readouterr().out
    call_command("phone_extension", "alice", "105")
    assert PhoneExtension.objects.get(user=alice).extension == "105"
    with pytest.raises(CommandError, match="already belongs to alice"):
        call_command("phone_extension", "bob", "105")
    with pytest.raises(CommandError, match="no user"):
        call_command("phone_extension", "nobody", "1")
    with pytest.raises(CommandError):
        call_command("phone_extension", "bob")
    call_command("phone_extension", "alice", "--clear")
    assert not PhoneExtension.objects.filter(user=alice).exists()


def test_the_environment_configures_the_default_account(settings, db):
    settings.PHONE_PROVIDER = ""
    assert account_default() is None
    settings.PHONE_PROVIDER, settings.PHONE_API_SECRET = "mango", "salt"
    settings.PHONE_BASE_URL = ""
    env = account_default()
    assert env.from_environment and env.provider == "mango"
    assert env.adapter_config().timezone == settings.PHONE_TIMEZONE
    page = PhoneAccount(name="Page", provider="zadarma")
    page.set_api_secret("s")
    page.save()
    assert account_default() == page  # one set on the page wins
    settings.PHONE_PROVIDER = ""
    page.delete()
    assert account_default() is None


def test_start_up_checks_name_a_bad_environment(settings):
    from reactivation.telephony.checks import phone_settings

    settings.PHONE_PROVIDER, settings.PHONE_TIMEZONE = "", "Europe/Moscow"
    assert phone_settings() == []
    settings.PHONE_PROVIDER, settings.PHONE_TIMEZONE = "asterisk", "Nowhere/City"
    assert {p.id for p in phone_settings()} == {"telephony.E001", "telephony.E002"}
    settings.PHONE_PROVIDER, settings.PHONE_TIMEZONE = "zadarma", "Europe/Moscow"
    settings.PHONE_API_SECRET, settings.PHONE_WEBHOOK_TOKEN = "", "short"
    assert {p.id for p in phone_settings()} == {"telephony.W001", "telephony.W002"}
    settings.PHONE_API_SECRET, settings.PHONE_WEBHOOK_TOKEN = "s", "x" * 24
    assert phone_settings() == []


def test_the_phone_pages_speak_russian(settings, login, admin_user, zadarma):
    settings.LANGUAGE_CODE = "ru"
    client = login(admin_user)
    page = client.get("/settings/phone/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Внутренние номера" in page and "Адрес вебхука" in page
    for english in ("Extensions", "Webhook address", "Connect a phone system", "Credentials"):
        assert english not in page
    inbox = client.get("/phone/unmatched/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Звонки с неизвестных номеров" in inbox and "Calls from unknown numbers" not in inbox


def test_data_administration_lists_the_phone_rows_without_credentials(client, zadarma, admin_user):
    from django.contrib.auth import get_user_model

    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "x" * 12)
    client.force_login(superuser, backend="django.contrib.auth.backends.ModelBackend")
    for model in ("phoneaccount", "phonecall", "phoneevent", "phoneextension"):
        assert client.get(f"/admin/telephony/{model}/").status_code == 200
    page = client.get(f"/admin/telephony/phoneaccount/{zadarma.pk}/change/").content.decode()
    assert zadarma.api_secret_sealed not in page and "zd-secret-456" not in page
