"""In the browser: upload a file, read the preview, import it, see the result."""

from __future__ import annotations

import pytest

from clients.models import Client, ImportJob, Transaction

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FILE = "Клиент;Дата;Сумма\nC1;01.02.2026;1 000,50\nC2;02.02.2026;-20\n".encode("cp1251")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    """The role groups, even when an earlier transactional test flushed the migrations' rows."""
    from django.contrib.auth.models import Group

    from reactivation.roles import Role

    for role in Role.values:
        Group.objects.get_or_create(name=role)


def test_upload_preview_and_import(page, live_server, log_in, admin_user, console_errors, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes(FILE)
    log_in(admin_user)
    page.goto(f"{live_server.url}/import/")
    page.check("input[name=kind][value=transactions]")
    page.set_input_files("input[name=file]", str(path))
    page.click("form.import-upload button[type=submit]")
    page.wait_for_selector("#import-run")
    assert "cp1251" in page.inner_text("#import-status")
    assert page.inner_text("[data-count=created]") == "2"
    assert page.inner_text(".import-sample tbody tr:first-child").split() == [
        "2",
        "C1",
        "2026-02-01",
        "1000.50",
    ]
    assert not Transaction.objects.exists()

    page.once("dialog", lambda dialog: dialog.accept())  # the confirmation before importing
    page.click("#import-run")
    page.wait_for_selector("#import-status[data-stage=import][data-state=done]")
    assert "The import is finished" in page.inner_text("#import-status")
    assert Transaction.objects.count() == 2
    assert ImportJob.objects.get().counts["created"] == 2
    assert Client.objects.get(external_id="C2").revenue == -20
    assert console_errors == []


def test_bad_rows_are_listed_and_nothing_can_be_imported(
    page, live_server, log_in, admin_user, console_errors, tmp_path
):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"client,date,amount\nC1,2026-02-30,10\n")
    log_in(admin_user)
    page.goto(f"{live_server.url}/import/")
    page.set_input_files("input[name=file]", str(path))
    page.click("form.import-upload button[type=submit]")
    page.wait_for_selector(".import-errors")
    assert "No such date." in page.inner_text(".import-errors")
    assert page.locator("#import-run").count() == 0
    assert console_errors == []
