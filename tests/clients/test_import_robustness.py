"""Bad files end the job with a reason the page shows, write nothing, and leave the process
running; XLSX rows are read from the sheet itself; the caps hold before memory grows."""

from __future__ import annotations

import io
import random
import re
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import translation

from clients import services
from clients.importing import errors
from clients.importing.messages import reason
from clients.importing.reader import Caps, _GuardedZip, open_table
from clients.models import Client, ImportJob, Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def xlsx(rows: list[list], *, dimension: str | None = "keep", big: int = 0) -> bytes:
    """A workbook of ``rows``; ``dimension`` replaces the sheet's ``<dimension>`` tag (None
    removes it), as other programs write them; a cell reading ``BIG`` gets ``big`` bytes (more
    than openpyxl itself writes into a cell)."""
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    if dimension == "keep" and not big:
        return buffer.getvalue()
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                if dimension != "keep":
                    tag = b"" if dimension is None else f'<dimension ref="{dimension}"/>'.encode()
                    data, found = re.subn(rb"<dimension [^>]*/>", tag, data)
                    assert found == 1
                data = data.replace(b"<t>BIG</t>", b"<t>" + b"x" * big + b"</t>")
            target.writestr(item, data)
    return out.getvalue()


def upload_and_check(client, capture, content: bytes, name: str, kind: str = "transactions"):
    """Upload through the page (the preview runs in-process once the upload commits), then
    open the job's page."""
    with capture(execute=True):
        response = client.post(
            "/import/",
            {
                "kind": kind,
                "file": SimpleUploadedFile(name, content),
                "encoding": "",
                "delimiter": "",
            },
        )
    assert response.status_code == 302
    job = ImportJob.objects.latest("pk")
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    return job, page


def assert_failed_on_the_page(job: ImportJob, page, code: str) -> str:
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.options["file_error"]["code"] == code
    with translation.override("en"):
        text = reason(code, job.options["file_error"]["params"])
    assert "%(" not in text
    assert text.replace("'", "&#x27;") in page.content.decode()
    assert b'id="import-failure"' in page.content
    assert not Transaction.objects.exists() and not Client.objects.exists()
    return text


def run_command(path: Path, **options) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("import_transactions", str(path), **options)
    return str(caught.value)


# --- NUL bytes and binary garbage ------------------------------------------------------------


def test_a_nul_byte_in_a_csv_fails_the_job_with_its_line_on_the_page(
    login, admin_user, django_capture_on_commit_callbacks
):
    lines = ["client;date;amount"] + [f"C{i};2026-02-01;10" for i in range(3000)]
    lines[2500] = "C2500;2026-02-01;1\x000"
    client = login(admin_user)
    job, page = upload_and_check(
        client, django_capture_on_commit_callbacks, "\n".join(lines).encode(), "nul.csv"
    )
    text = assert_failed_on_the_page(job, page, errors.BINARY)
    assert "line 2501 " in text


def test_a_nul_byte_in_a_value_is_stored_escaped_in_the_report(tmp_path):
    """Every string a file puts into a job is cleaned before PostgreSQL sees it."""
    job = ImportJob.objects.create(kind="transactions", options={"stage": "preview"})
    job.state, job.attempts = ImportJob.State.RUNNING, 1
    job.save()
    report = errors.ErrorReport()
    report.add(row=2, column="a\x00", code=errors.BAD_NUMBER, value="1\x002")
    result = services.ImportResult(kind="transactions", dry_run=True, headers=["a\x00", "b"])
    result.report = report
    services.job_record_result(job=job, result=result)
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.options["headers"] == ["a\\x00", "b"]
    assert job.errors[0]["value"] == "1\\x002"


def test_binary_garbage_is_a_clear_error_from_the_command_and_the_page(
    tmp_path, login, admin_user, django_capture_on_commit_callbacks
):
    garbage = random.Random(16).randbytes(200_000)
    path = tmp_path / "garbage.csv"
    path.write_bytes(garbage)
    assert "NUL byte" in run_command(path)
    client = login(admin_user)
    job, page = upload_and_check(client, django_capture_on_commit_callbacks, garbage, "garbage.csv")
    assert_failed_on_the_page(job, page, errors.BINARY)


def test_the_command_prints_the_reason_for_a_nul_byte_instead_of_a_traceback(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"client;date;amount\nC1;2026-02-01;1\x000\n")
    message = run_command(path)
    assert "line 2 holds a NUL byte" in message
    assert ImportJob.objects.get().state == "failed"


# --- XLSX: rows from the sheet, caps ----------------------------------------------------------

ROWS = [["client", "date", "amount"]] + [[f"C{i}", "2026-02-01", 10 + i] for i in range(5)]


@pytest.mark.parametrize("dimension", ["A1:C2", None])
def test_an_xlsx_with_a_stale_or_no_dimension_imports_every_row(tmp_path, dimension):
    path = tmp_path / "stale.xlsx"
    path.write_bytes(xlsx(ROWS, dimension=dimension))
    call_command("import_transactions", str(path))
    assert Transaction.objects.count() == 5
    assert sorted(Client.objects.values_list("external_id", flat=True)) == [
        f"C{i}" for i in range(5)
    ]


def test_a_cell_that_inflates_past_the_cap_fails_before_it_is_held(
    settings, login, admin_user, django_capture_on_commit_callbacks
):
    settings.IMPORT_MAX_CELL_BYTES = 64 * 1024
    content = xlsx([["client", "date", "amount"], ["C1", "2026-02-01", "BIG"]], big=50_000_000)
    assert len(content) < 200_000  # a small file that inflates to 50 MB in one cell
    client = login(admin_user)
    job, page = upload_and_check(client, django_capture_on_commit_callbacks, content, "bomb.xlsx")
    assert_failed_on_the_page(job, page, errors.CELL_TOO_LARGE)


def test_a_workbook_that_unpacks_past_the_cap_is_refused(
    settings, login, admin_user, django_capture_on_commit_callbacks
):
    settings.IMPORT_MAX_UNPACKED_BYTES = 300 * 1024
    rows = [["client", "date", "amount"]] + [["C1", "2026-02-01", 1]] * 20_000
    content = xlsx(rows)
    assert len(content) < 300 * 1024
    client = login(admin_user)
    job, page = upload_and_check(client, django_capture_on_commit_callbacks, content, "rows.xlsx")
    assert_failed_on_the_page(job, page, errors.UNPACKED_TOO_LARGE)


def test_the_archive_counts_bytes_as_they_inflate(tmp_path):
    path = tmp_path / "rows.xlsx"
    path.write_bytes(xlsx([["a"]] + [["x" * 50]] * 5000))
    archive = _GuardedZip(path, Caps(unpacked_bytes=100_000))
    with archive.open("xl/worksheets/sheet1.xml") as member:
        member.read(50_000)
        with pytest.raises(errors.ImportFileError) as caught:
            while member.read(16_384):
                pass
    assert caught.value.code == errors.UNPACKED_TOO_LARGE
    archive.close()


def test_a_workbook_wider_than_the_cap_is_refused(settings, tmp_path):
    settings.IMPORT_MAX_COLUMNS = 5
    path = tmp_path / "wide.xlsx"
    path.write_bytes(xlsx([["client", "date", "amount", "a", "b", "c"], ["C1", "2026-02-01", 1]]))
    assert "6 columns; at most 5" in run_command(path)


def test_a_damaged_workbook_names_no_server_path(tmp_path):
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 500)
    message = run_command(path)
    job = ImportJob.objects.get()
    stored = f"{message} {job.message} {job.options['file_error']}"
    assert str(tmp_path) not in stored
    assert job.state == "failed"
    assert message.startswith("The file cannot be read: ")  # a workbook has no line to name


# --- CSV: width, lines, cells, rows -----------------------------------------------------------


def test_a_header_wider_than_the_sample_is_too_wide_not_too_few_columns(
    tmp_path, login, admin_user, django_capture_on_commit_callbacks
):
    header = ";".join(["client", "date", "amount"] + [f"c{i}" for i in range(200_000)])
    content = f"{header}\nC1;2026-02-01;10\n".encode()
    assert len(content) > 256 * 1024
    client = login(admin_user)
    job, page = upload_and_check(client, django_capture_on_commit_callbacks, content, "wide.csv")
    text = assert_failed_on_the_page(job, page, errors.TOO_WIDE)
    assert "200003 columns" in text
    assert len(page.content) < 100_000  # nothing of the header is rendered


def test_a_header_at_the_cap_is_read_and_its_page_has_a_select_per_column(
    login, admin_user, django_capture_on_commit_callbacks
):
    header = ";".join(["client", "date", "amount"] + [f"c{i}" for i in range(297)])
    row = "C1;2026-02-01;10" + ";" * 297
    client = login(admin_user)
    job, page = upload_and_check(
        client,
        django_capture_on_commit_callbacks,
        f"{header}\n{row}\n".encode(),
        "w.csv",
    )
    job.refresh_from_db()
    assert (job.state, len(job.options["headers"])) == ("done", 300)
    assert page.content.count(b'<select name="column_') == 300
    assert b'name="column_299"' in page.content


def test_a_bad_byte_is_reported_on_its_own_line(tmp_path):
    lines = [b"client;date;amount"] + [f"C{i};2026-02-01;10".encode() for i in range(20_001)]
    lines[20_001] = "Клиент;2026-02-01;10".encode("cp1251")  # line 20,002, after valid UTF-8
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert "near line 20002)" in run_command(path)
    assert not Transaction.objects.exists()


def test_a_bad_byte_after_lone_carriage_returns_names_its_line(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"client;date;amount\rC1;2026-02-01;1\rC2;2026-02-01;\xff\r")
    assert "near line 3)" in run_command(path, encoding="utf-8")


def test_a_line_longer_than_the_cap_is_refused_before_it_is_held(settings, tmp_path):
    settings.IMPORT_MAX_CELL_BYTES, settings.IMPORT_MAX_COLUMNS = 1000, 10
    path = tmp_path / "long.csv"
    path.write_bytes(b"client;date;amount\nC1;2026-02-01;10\n" + b"x" * 50_000 + b"\n")
    assert "Line 3 is longer" in run_command(path)


def test_a_cell_larger_than_the_cap_is_refused(settings, tmp_path):
    settings.IMPORT_MAX_CELL_BYTES = 2048
    path = tmp_path / "cell.csv"
    path.write_bytes(
        b'client;date;amount\nC1;2026-02-01;10\nC2;2026-02-01;"' + b"9" * 5000 + b'"\n'
    )
    assert "A cell near row 3 is larger than 2 KB." in run_command(path)


def test_more_rows_than_the_cap_are_refused_on_either_path(settings, tmp_path):
    settings.IMPORT_MAX_ROWS = 10
    path = tmp_path / "rows.csv"
    path.write_text("client;date;amount\n" + "".join(f"C{i};2026-02-01;1\n" for i in range(11)))
    assert "more than 10 rows" in run_command(path)
    assert not Transaction.objects.exists()
    path.write_text("client;date;amount\n" + "".join(f"C{i};2026-02-01;1\n" for i in range(10)))
    call_command("import_transactions", str(path))
    assert Transaction.objects.count() == 10


def test_the_reader_splits_lines_as_universal_newlines_do(tmp_path):
    path = tmp_path / "ends.csv"
    path.write_bytes(b'client,note\r\nC1,"a\r\nb"\rC2,x\nC3,\x0bv\r\n')
    assert list(open_table(path).rows()) == [
        (2, ["C1", "a\r\nb"]),
        (4, ["C2", "x"]),
        (5, ["C3", "\x0bv"]),
    ]


def test_utf16_lines_are_numbered_too(tmp_path):
    path = tmp_path / "utf16.csv"
    path.write_bytes("client;amount\nC1;1\n\nC2;2\n".encode("utf-16"))
    assert list(open_table(path).rows()) == [(2, ["C1", "1"]), (4, ["C2", "2"])]


# --- Whatever raises, the job ends ------------------------------------------------------------


def test_an_unexpected_error_fails_the_job_with_a_message_and_no_server_path(
    monkeypatch, login, admin_user, django_capture_on_commit_callbacks
):
    def boom(**kwargs):
        raise RuntimeError("disk trouble in /srv/crm/media/imports/2026/12/sales.csv")

    monkeypatch.setattr(services, "import_file", boom)
    client = login(admin_user)
    job, page = upload_and_check(
        client,
        django_capture_on_commit_callbacks,
        b"client;date;amount\nC1;2026-02-01;1\n",
        "s.csv",
    )
    assert_failed_on_the_page(job, page, errors.INTERNAL)
    job.refresh_from_db()
    assert job.message == "disk trouble in sales.csv"
    assert b"disk trouble in sales.csv" in page.content
    assert b"/srv/crm" not in page.content


def test_the_failure_reads_in_russian_too(login, admin_user, django_capture_on_commit_callbacks):
    client = login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/import/",
            {
                "kind": "transactions",
                "file": SimpleUploadedFile("n.csv", b"a;b\n\x00\n"),
                "encoding": "",
                "delimiter": "",
            },
        )
    job = ImportJob.objects.get()
    page = client.get(f"/import/{job.pk}/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    with translation.override("ru"):
        text = reason(errors.BINARY, {"line": 2})
    with translation.override("en"):
        assert text != reason(errors.BINARY, {"line": 2})
    assert text in page.replace("&#x27;", "'")


def test_a_sheet_without_a_dimension_is_read_in_flat_memory(tmp_path):
    """openpyxl's read-only sheet, finding no ``<dimension>``, parses the whole sheet into a tree
    to look for one; the reader parses row by row and drops each finished row, so three times
    the rows need about the same memory."""

    def peak(rows: int) -> int:
        path = tmp_path / f"long{rows}.xlsx"
        body = [[f"C{i}", "2026-02-01", i] for i in range(rows)]
        path.write_bytes(xlsx(ROWS[:1] + body, dimension=None))
        table = open_table(path)
        tracemalloc.start()
        try:
            assert sum(1 for _ in table.rows()) == rows
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    assert peak(4500) < 1.4 * peak(1500)


def test_a_mixed_encoding_file_fails_on_the_page_naming_the_real_line(
    login, admin_user, django_capture_on_commit_callbacks
):
    lines = [b"client;date;amount"] + [f"C{i};2026-02-01;10".encode() for i in range(20_001)]
    lines[20_001] = "Клиент;2026-02-01;10".encode("cp1251")
    client = login(admin_user)
    job, page = upload_and_check(
        client, django_capture_on_commit_callbacks, b"\n".join(lines) + b"\n", "mixed.csv"
    )
    text = assert_failed_on_the_page(job, page, errors.BAD_ENCODING)
    assert "(near line 20002)" in text


def test_a_stale_dimension_workbook_previews_every_row_on_the_page(
    login, admin_user, django_capture_on_commit_callbacks
):
    client = login(admin_user)
    job, page = upload_and_check(
        client, django_capture_on_commit_callbacks, xlsx(ROWS, dimension="A1:C2"), "stale.xlsx"
    )
    job.refresh_from_db()
    assert (job.state, job.counts["rows"], job.counts["created"]) == ("done", 5, 5)
    assert b'id="import-run"' in page.content
