"""The import page: who may use it, upload, preview, mapping, import and the result."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat

from clients.forms import ERR_EXTENSION, ERR_MAPPED_TWICE, ERR_TOO_BIG
from clients.models import Client, ImportJob, Transaction
from tests.clients.test_import_jobs import live_run

pytestmark = pytest.mark.django_db

GOOD = "Клиент;Дата;Сумма\nC1;01.02.2026;1 000,50\nC2;02.02.2026;20\n".encode("cp1251")
BAD = b"client;date;amount\nC1;2026-02-30;10\nC2;2026-02-01;x\n"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def upload(client, content: bytes, *, name: str = "sales.csv", kind: str = "transactions", **extra):
    data = {
        "kind": kind,
        "file": SimpleUploadedFile(name, content),
        "encoding": "",
        "delimiter": "",
        **extra,
    }
    return client.post("/import/", data)


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/import/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("who", ["alice", "owner", "charlie"])
def test_only_admins_may_import(request, login, who):
    assert login(request.getfixturevalue(who)).get("/import/").status_code == 403


def test_admin_sees_the_upload_form_and_an_empty_history(login, admin_user):
    response = login(admin_user).get("/import/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.content
    assert "Nothing imported yet." in response.content.decode()


def test_upload_shows_a_preview_and_writes_nothing(
    login, admin_user, django_capture_on_commit_callbacks
):
    client = login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, GOOD)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == f"/import/{job.pk}/"
    assert (job.state, job.options["stage"], job.created_by) == ("done", "preview", admin_user)
    page = client.get(response.url)
    assert page.status_code == 200
    context = page.context
    assert context["detected"] == {"format": "csv", "encoding": "cp1251", "delimiter": ";"}
    assert context["counts"]["created"] == 2
    assert context["sample_rows"][0] == [2, "C1", "2026-02-01", "1000.50"]
    assert b'id="import-run"' in page.content
    assert not Transaction.objects.exists()
    assert not Client.objects.exists()


def test_import_after_the_preview_writes_the_rows_and_shows_the_result(
    login, admin_user, django_capture_on_commit_callbacks
):
    client = login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, GOOD)
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/import/{job.pk}/run/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.state, job.options["stage"], job.counts["created"]) == ("done", "import", 2)
    assert Transaction.objects.count() == 2
    assert set(Transaction.objects.values_list("import_job", flat=True)) == {job.pk}
    page = client.get(f"/import/{job.pk}/")
    assert page.context["imported"] is True
    assert b'id="import-run"' not in page.content


def test_a_file_with_bad_rows_lists_them_and_cannot_be_imported(
    login, admin_user, django_capture_on_commit_callbacks
):
    client = login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, BAD)
    job = ImportJob.objects.get()
    page = client.get(f"/import/{job.pk}/")
    assert [(e["row"], e["column"]) for e in page.context["errors"]] == [(2, "date"), (3, "amount")]
    assert b'id="import-run"' not in page.content
    response = client.post(f"/import/{job.pk}/run/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.options["stage"] == "preview"
    assert not Transaction.objects.exists()


def test_errors_are_reported_in_the_readers_language(
    login, admin_user, django_capture_on_commit_callbacks
):
    client = login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, BAD)
    job = ImportJob.objects.get()
    english = client.get(f"/import/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").context["errors"][0][
        "text"
    ]
    assert english == "No such date."


def test_columns_can_be_mapped_by_hand(login, admin_user, django_capture_on_commit_callbacks):
    client = login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, b"who;when;how much\nC1;2026-02-01;10\n")
    job = ImportJob.objects.get()
    assert job.state == "failed"
    assert job.options["file_error"]["code"] == "missing_columns"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/import/{job.pk}/preview/",
            {
                "encoding": "",
                "delimiter": "",
                "column_0": "client",
                "column_1": "date",
                "column_2": "amount",
            },
        )
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.state, job.counts["created"], job.options["used_mapping"]) == (
        "done",
        1,
        {"client": 0, "date": 1, "amount": 2},
    )


def test_a_field_mapped_twice_is_refused_and_the_choice_is_kept(
    login, admin_user, django_capture_on_commit_callbacks
):
    client = login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, b"a;b;c\nC1;2026-02-01;10\n")
    job = ImportJob.objects.get()
    response = client.post(
        f"/import/{job.pk}/preview/",
        {"column_0": "client", "column_1": "client", "column_2": "amount"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    form = response.context["options_form"]
    assert form.errors["column_1"] == [ERR_MAPPED_TWICE % {"field": "Client id"}]
    assert form["column_2"].value() == "amount"


def test_upload_of_another_format_is_refused(login, admin_user):
    response = upload(login(admin_user), b"%PDF-1.4", name="scan.pdf")
    assert response.status_code == 400
    assert str(ERR_EXTENSION) in response.context["form"].errors["file"]
    assert not ImportJob.objects.exists()


def test_an_upload_past_the_configured_limit_is_refused_naming_the_limit(
    login, admin_user, settings
):
    settings.UPLOAD_MAX_BYTES = 1024
    response = upload(login(admin_user), b"client;date;amount\n" + b"K1;2026-01-01;1\n" * 200)
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        ERR_TOO_BIG % {"limit": filesizeformat(1024)}
    ]
    assert not ImportJob.objects.exists()


def test_htmx_polling_gets_the_status_fragment(login, admin_user):
    job = ImportJob.objects.create(
        kind="transactions",
        state="running",
        total_rows=200,
        processed_rows=50,
        options={"stage": "import"},
    )
    with live_run(job):  # as a worker holds it while it reads (else the page would restart it)
        response = login(admin_user).get(f"/import/{job.pk}/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "HX-Request" in response["Vary"]
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="import-status"')
    assert 'hx-trigger="every 1s"' in body
    assert 'data-value="25"' in body
    assert "<html" not in body


def test_a_finished_job_stops_polling(login, admin_user):
    job = ImportJob.objects.create(
        kind="transactions", state="done", options={"stage": "import"}, counts={"created": 1}
    )
    body = login(admin_user).get(f"/import/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in body


def test_history_lists_imports_with_a_bounded_number_of_queries(
    login, admin_user, django_assert_max_num_queries
):
    for i in range(25):
        ImportJob.objects.create(
            kind="clients", original_name=f"f{i}.csv", created_by=admin_user, state="done"
        )
    client = login(admin_user)
    with django_assert_max_num_queries(8):
        response = client.get("/import/")
    assert len(response.context["jobs"].object_list) == 20
    assert response.context["jobs"].has_next


def test_state_changes_need_post(login, admin_user):
    job = ImportJob.objects.create(kind="transactions", state="done", options={"stage": "preview"})
    client = login(admin_user)
    assert client.get(f"/import/{job.pk}/run/").status_code == 405
    assert client.get(f"/import/{job.pk}/preview/").status_code == 405


def test_unknown_job_is_404(login, admin_user):
    assert login(admin_user).get("/import/999999/").status_code == 404


def test_dates_in_the_preview_are_iso(login, admin_user, django_capture_on_commit_callbacks):
    client = login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, b"client,date,amount\nC1,2026-02-01 10:00,5\n")
    job = ImportJob.objects.get()
    assert job.options["sample"][0]["date"] == dt.date(2026, 2, 1).isoformat()
