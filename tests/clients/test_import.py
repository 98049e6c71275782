"""Importing clients and transactions: the files businesses have, all or nothing, idempotent."""

from __future__ import annotations

import codecs
import datetime as dt
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.core.management import CommandError, call_command

from clients import services
from clients.importing import errors, fastpath
from clients.models import Client, ImportJob, Status, Transaction
from tests.factories import ClientFactory, SegmentFactory, TransactionFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
        yield


def write(
    tmp_path, text: str, *, name: str = "file.csv", encoding: str = "utf-8", bom: bool = False
):
    path = tmp_path / name
    data = text.encode(encoding)
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + data)
    return path


def stored() -> list[tuple]:
    return sorted(
        Transaction.objects.values_list(
            "client__external_id", "identity", "date", "amount", "margin", "promo_code"
        )
    )


RUSSIAN_FILE = "Код клиента;Наименование;Дата продажи;Сумма;Маржа\nК-1;ООО «Ёлка»;03.02.2026;1 234,50;300,10\nК-2;ИП Щукин;2026-02-04 10:15;99,9;\n"


# --- Encodings, separators, numbers and dates -------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", False), ("utf-8", True), ("cp1251", False)],
    ids=["utf8", "utf8-bom", "cp1251"],
)
def test_each_encoding_is_read(tmp_path, encoding, bom):
    result = services.transactions_import(
        path=write(tmp_path, RUSSIAN_FILE, encoding=encoding, bom=bom)
    )
    assert result.ok, result.report.errors
    assert (
        result.encoding == {"utf-8": "utf-8-sig" if bom else "utf-8", "cp1251": "cp1251"}[encoding]
    )
    assert Client.objects.get(external_id="К-1").name == "ООО «Ёлка»"
    assert stored() == [
        (
            "К-1",
            "k:К-1|2026-02-03|1234.50|1",
            dt.date(2026, 2, 3),
            Decimal("1234.50"),
            Decimal("300.10"),
            "",
        ),
        ("К-2", "k:К-2|2026-02-04|99.90|1", dt.date(2026, 2, 4), Decimal("99.90"), None, ""),
    ]


def test_encoding_can_be_overridden(tmp_path):
    path = write(tmp_path, RUSSIAN_FILE, encoding="cp1251")
    result = services.transactions_import(path=path, encoding="cp1251", dry_run=True)
    assert result.encoding == "cp1251"
    assert result.ok


@pytest.mark.parametrize("delimiter", [";", ",", "\t"], ids=["semicolon", "comma", "tab"])
def test_each_separator_is_read(tmp_path, delimiter):
    amount = '"1,5"' if delimiter == "," else "1,5"
    text = (
        delimiter.join(["client", "date", "amount"])
        + "\n"
        + delimiter.join(["C1", "2026-02-01", amount])
        + "\n"
    )
    result = services.transactions_import(path=write(tmp_path, text))
    assert result.ok, result.report.errors
    assert result.delimiter == delimiter
    assert Transaction.objects.get().amount == Decimal("1.50")


def test_separator_can_be_overridden(tmp_path):
    path = write(tmp_path, "client|date|amount\nC1|2026-02-01|10\n")
    result = services.transactions_import(path=path, delimiter="|")
    assert result.ok
    assert Transaction.objects.count() == 1


def test_decimal_point_and_comma_and_thousands_spaces(tmp_path):
    text = "client;date;amount\nA;2026-02-01;1 234,50\nB;2026-02-01;1\u00a0234.5\nC;2026-02-01;1.234,5\nD;2026-02-01;12\n"
    assert services.transactions_import(path=write(tmp_path, text)).ok
    assert set(Transaction.objects.values_list("amount", flat=True)) == {
        Decimal("1234.50"),
        Decimal("12.00"),
    }


def test_dates_in_both_forms_with_and_without_time(tmp_path):
    text = "client;date;amount\nA;2026-02-01;1\nA;02.02.2026;1\nA;2026-02-03 23:59:59;1\nA;04.02.2026 8:05;1\n"
    assert services.transactions_import(path=write(tmp_path, text)).ok
    assert sorted(Transaction.objects.values_list("date", flat=True)) == [
        dt.date(2026, 2, d) for d in (1, 2, 3, 4)
    ]


def test_quoted_fields_with_separators_quotes_and_line_breaks(tmp_path):
    text = 'client;name;date;amount\nC1;"ООО ""Ромашка""; склад 2\nвторой этаж";01.02.2026;"1 000,00"\n'
    result = services.transactions_import(path=write(tmp_path, text))
    assert result.ok, result.report.errors
    assert Client.objects.get(external_id="C1").name == 'ООО "Ромашка"; склад 2\nвторой этаж'


def test_extra_columns_are_ignored(tmp_path):
    text = "Комментарий;Клиент;Склад;Дата;Сумма;Ещё\nпривет;C1;Основной;01.02.2026;10;x\n"
    result = services.transactions_import(path=write(tmp_path, text))
    assert result.ok
    assert Transaction.objects.get().client.external_id == "C1"


def test_xlsx_with_real_dates_and_numbers(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Покупатель", "Дата", "Сумма", "Номер чека"])
    sheet.append(["1001", dt.datetime(2026, 2, 1, 12, 30), 1500.5, 77])
    sheet.append([1002.0, "02.02.2026", "2 000,00", "A-78"])
    path = tmp_path / "sales.xlsx"
    workbook.save(path)
    result = services.transactions_import(path=path)
    assert result.ok, result.report.errors
    assert result.format == "xlsx"
    assert stored() == [
        ("1001", "id:77", dt.date(2026, 2, 1), Decimal("1500.50"), None, ""),
        ("1002", "id:A-78", dt.date(2026, 2, 2), Decimal("2000.00"), None, ""),
    ]


# --- All or nothing ---------------------------------------------------------------------------------


BAD_FILE = (
    "client;date;amount\n"
    "C1;2026-02-01;10\n"  # good
    "C2;31.02.2026;10\n"  # impossible date
    "C3;2026-02-01;десять\n"  # not a number
    ";2026-02-01;10\n"  # empty client
    "C5;2026-02-01\n"  # too few columns
    "C6;2026-02-01;10\n"  # good
)


def test_a_file_with_bad_rows_writes_nothing_and_reports_each(tmp_path):
    ClientFactory(external_id="C1")
    result = services.transactions_import(path=write(tmp_path, BAD_FILE))
    assert not result.ok
    assert [(e["row"], e["column"], e["code"]) for e in result.report.errors] == [
        (3, "date", errors.IMPOSSIBLE_DATE),
        (4, "amount", errors.BAD_NUMBER),
        (5, "client", errors.MISSING),
        (6, "", errors.TOO_FEW_COLUMNS),
    ]
    assert result.report.bad_rows == 4
    assert Transaction.objects.count() == 0
    assert list(Client.objects.values_list("external_id", flat=True)) == ["C1"]


def test_the_command_lists_every_bad_row_and_exits_non_zero(tmp_path, capsys):
    with pytest.raises(CommandError, match="4"):
        call_command("import_transactions", str(write(tmp_path, BAD_FILE)))
    err = capsys.readouterr().err
    for row in ("row 3", "row 4", "row 5", "row 6"):
        assert row in err
    assert Transaction.objects.count() == 0


def test_the_report_keeps_the_first_thousand_errors_in_full_and_counts_the_rest(
    tmp_path, monkeypatch
):
    lines = (
        ["client;date;amount"]
        + [f"C{i};2026-02-01;x" for i in range(1005)]
        + [f"D{i};bad;1" for i in range(3)]
    )
    result = services.transactions_import(path=write(tmp_path, "\n".join(lines) + "\n"))
    assert len(result.report.errors) == errors.FULL_REPORT_LIMIT
    assert result.report.by_reason == {errors.BAD_NUMBER: 1005, errors.BAD_DATE: 3}
    assert result.report.bad_rows == 1008


def test_a_transaction_id_repeated_in_the_file_is_a_bad_row(tmp_path):
    text = "id;client;date;amount\nT1;C1;2026-02-01;10\nT2;C1;2026-02-02;10\nT1;C2;2026-02-03;10\n"
    result = services.transactions_import(path=write(tmp_path, text))
    assert [(e["row"], e["code"], e["params"]) for e in result.report.errors] == [
        (4, errors.DUPLICATE_ID, {"first": 2})
    ]
    assert Transaction.objects.count() == 0


def test_missing_required_columns_are_a_file_error(tmp_path):
    result = services.transactions_import(
        path=write(tmp_path, "client;when;how much\nC1;2026-02-01;10\n")
    )
    assert result.file_error.code == errors.MISSING_COLUMNS
    assert result.file_error.params == {"columns": ["date", "amount"]}


def test_a_mapping_given_by_hand_reads_unknown_headers(tmp_path):
    path = write(tmp_path, "client;when;how much\nC1;2026-02-01;10\n")
    result = services.transactions_import(path=path, mapping={"client": 0, "date": 1, "amount": 2})
    assert result.ok
    assert Transaction.objects.get().amount == Decimal("10.00")


# --- Identity and re-import -------------------------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    path = write(
        tmp_path,
        "client;date;amount;margin\nC1;2026-02-01;10;3\nC1;2026-02-01;10;3\nC2;2026-02-02;5;1\n",
    )
    first = services.transactions_import(path=path)
    assert first.counts == {
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "clients_created": 2,
    }
    before = stored()
    clients_before = list(Client.objects.order_by("pk").values())
    again = services.transactions_import(path=path)
    assert again.counts == {
        "rows": 3,
        "created": 0,
        "updated": 0,
        "unchanged": 3,
        "clients_created": 0,
    }
    assert stored() == before
    assert list(Client.objects.order_by("pk").values()) == clients_before


def test_identity_without_an_id_column_counts_repeats_of_the_same_purchase(tmp_path):
    text = "client;date;amount\nC1;01.02.2026;10\nC1;01.02.2026;10,00\nC1;01.02.2026;11\n"
    services.transactions_import(path=write(tmp_path, text))
    assert sorted(Transaction.objects.values_list("identity", flat=True)) == [
        "k:C1|2026-02-01|10.00|1",
        "k:C1|2026-02-01|10.00|2",
        "k:C1|2026-02-01|11.00|1",
    ]


def test_a_changed_amount_under_the_same_transaction_id_is_an_update(tmp_path):
    services.transactions_import(
        path=write(tmp_path, "id;client;date;amount\nT1;C1;2026-02-01;10\n")
    )
    result = services.transactions_import(
        path=write(tmp_path, "id;client;date;amount\nT1;C1;2026-02-01;25\n")
    )
    assert result.counts == {
        "rows": 1,
        "created": 0,
        "updated": 1,
        "unchanged": 0,
        "clients_created": 0,
    }
    assert Transaction.objects.get().amount == Decimal("25.00")
    assert Client.objects.get(external_id="C1").revenue == Decimal("25.00")


def test_a_transaction_moved_to_another_client_updates_both_clients(tmp_path):
    services.transactions_import(
        path=write(tmp_path, "id;client;date;amount\nT1;C1;2026-02-01;10\n")
    )
    services.transactions_import(
        path=write(tmp_path, "id;client;date;amount\nT1;C2;2026-02-01;10\n")
    )
    old, new = Client.objects.get(external_id="C1"), Client.objects.get(external_id="C2")
    assert (old.purchase_days, old.revenue, old.status) == (0, Decimal("0.00"), Status.NONE)
    assert (new.purchase_days, new.revenue) == (1, Decimal("10.00"))


def test_an_empty_margin_does_not_erase_a_stored_one(tmp_path):
    services.transactions_import(
        path=write(tmp_path, "client;date;amount;margin\nC1;2026-02-01;10;4\n")
    )
    result = services.transactions_import(
        path=write(tmp_path, "client;date;amount;margin\nC1;2026-02-01;10;\n")
    )
    assert result.counts["unchanged"] == 1
    assert Transaction.objects.get().margin == Decimal("4.00")


def test_rows_written_by_the_demo_are_recognised(tmp_path):
    client = ClientFactory(external_id="C000001")
    TransactionFactory(
        client=client,
        identity="k:C000001|2026-02-01|2400.00|1",
        date=dt.date(2026, 2, 1),
        amount=Decimal("2400"),
    )
    result = services.transactions_import(
        path=write(tmp_path, "client;date;amount\nC000001;01.02.2026;2 400,00\n")
    )
    assert result.counts["unchanged"] == 1
    assert Transaction.objects.count() == 1


# --- Returns, zero amounts and the clients' figures ------------------------------------------------


def test_returns_and_zero_amounts_are_stored_but_are_not_purchase_days(tmp_path):
    text = "client;date;amount\nC1;2026-01-10;1000\nC1;2026-01-20;-300\nC1;2026-02-25;0\n"
    result = services.transactions_import(path=write(tmp_path, text))
    assert result.counts["created"] == 3
    client = Client.objects.get(external_id="C1")
    assert client.revenue == Decimal("700.00")
    assert client.purchase_days == 1
    assert client.first_purchase_on == client.last_purchase_on == dt.date(2026, 1, 10)


def test_statuses_are_current_when_the_import_finishes(tmp_path):
    text = "client;date;amount\nRECENT;2026-02-25;10\nGONE;2025-01-01;10\n"
    services.transactions_import(path=write(tmp_path, text))
    statuses = dict(Client.objects.values_list("external_id", "stats__status"))
    assert statuses == {"RECENT": Status.ACTIVE, "GONE": Status.LOST}
    assert Client.objects.get(external_id="RECENT").due_on is not None


def test_a_dry_run_counts_but_writes_nothing(tmp_path):
    result = services.transactions_import(
        path=write(tmp_path, "client;date;amount\nC1;2026-02-01;10\n"), dry_run=True
    )
    assert result.counts == {
        "rows": 1,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "clients_created": 1,
    }
    assert not Client.objects.exists()
    assert not Transaction.objects.exists()


# --- New clients from a transactions file -------------------------------------------------------------


def test_new_clients_get_the_details_of_their_first_row(tmp_path):
    segment = SegmentFactory(code="coffee", name="Кофе")
    manager = UserFactory(username="maria", role="manager")
    text = (
        "client;name;phone;email;segment;manager;date;amount\n"
        "C1;Кафе «Утро»;8 (916) 123-45-67;cafe@example.ru;Кофе;Maria;2026-02-01;10\n"
        "C1;Другое имя;;;;;2026-02-02;10\n"
        "C2;;12345;;coffee;;2026-02-02;10\n"
    )
    result = services.transactions_import(path=write(tmp_path, text))
    assert result.ok, result.report.errors
    c1, c2 = Client.objects.get(external_id="C1"), Client.objects.get(external_id="C2")
    assert (c1.name, c1.phone, c1.email, c1.segment, c1.manager) == (
        "Кафе «Утро»",
        "+79161234567",
        "cafe@example.ru",
        segment,
        manager,
    )
    assert (c2.phone, c2.segment) == ("12345", segment)  # not a valid number: kept as typed


def test_existing_clients_are_not_changed_by_a_transactions_file(tmp_path):
    ClientFactory(external_id="C1", name="Старое имя")
    services.transactions_import(
        path=write(tmp_path, "client;name;date;amount\nC1;Новое имя;2026-02-01;10\n")
    )
    assert Client.objects.get(external_id="C1").name == "Старое имя"


def test_unknown_segment_or_manager_is_a_bad_row(tmp_path):
    text = "client;segment;manager;date;amount\nC1;нет такого;;2026-02-01;10\nC2;;nobody;2026-02-01;10\n"
    result = services.transactions_import(path=write(tmp_path, text))
    assert [(e["row"], e["code"]) for e in result.report.errors] == [
        (2, errors.UNKNOWN_SEGMENT),
        (3, errors.UNKNOWN_MANAGER),
    ]


# --- Clients files ----------------------------------------------------------------------------------


def test_clients_file_creates_updates_and_leaves_unchanged(tmp_path):
    ClientFactory(external_id="A", name="Альфа", phone="+79160000001", email="a@example.ru")
    ClientFactory(external_id="B", name="Бета", phone="+79160000002", email="b@example.ru")
    text = "ID;Наименование;Телефон\nA;Альфа;+79160000001\nB;Бета-2;\nC;Гамма;8 916 000-00-03\n"
    result = services.clients_import(path=write(tmp_path, text))
    assert result.counts == {
        "rows": 3,
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "clients_created": 0,
    }
    b = Client.objects.get(external_id="B")
    assert (b.name, b.phone) == ("Бета-2", "+79160000002")  # an empty cell keeps the phone
    assert Client.objects.get(external_id="C").phone == "+79160000003"
    again = services.clients_import(path=write(tmp_path, text))
    assert again.counts["unchanged"] == 3


def test_a_client_repeated_in_a_clients_file_is_a_bad_row(tmp_path):
    result = services.clients_import(path=write(tmp_path, "client;name\nA;Один\nA;Два\n"))
    assert [(e["row"], e["code"]) for e in result.report.errors] == [(3, errors.DUPLICATE_CLIENT)]
    assert not Client.objects.exists()


def test_segment_change_by_a_clients_file_restatuses_the_client(tmp_path):
    from reactivation.models import Policy

    slow = SegmentFactory(code="furniture", name="Мебель")
    Policy.objects.create(
        segment=slow, default_cycle_days=500, min_cycle_days=100, max_cycle_days=3000
    )
    client = ClientFactory(external_id="A")
    TransactionFactory(client=client, date=dt.date(2025, 10, 1), amount=Decimal("100"))
    services.transactions_import(path=write(tmp_path, "client;date;amount\nA;2025-10-02;1\n"))
    assert Client.objects.get(pk=client.pk).status == Status.LOST
    services.clients_import(path=write(tmp_path, "client;segment\nA;furniture\n", name="c.csv"))
    assert Client.objects.get(pk=client.pk).status == Status.ACTIVE


# --- Commands and jobs --------------------------------------------------------------------------------


def test_import_commands_print_counts_and_record_a_job(tmp_path, capsys):
    path = write(tmp_path, "client;date;amount\nC1;2026-02-01;10\n")
    call_command("import_transactions", str(path))
    assert "created: 1, updated: 0, unchanged: 0" in capsys.readouterr().out
    call_command("import_transactions", str(path), "--dry-run")
    assert "created: 0, updated: 0, unchanged: 1" in capsys.readouterr().out
    call_command(
        "import_clients",
        str(write(tmp_path, "client;name\nC1;Имя\n", name="c.csv")),
        "--delimiter",
        "semicolon",
    )
    assert "created: 0, updated: 1, unchanged: 0" in capsys.readouterr().out
    assert ImportJob.objects.filter(state=ImportJob.State.DONE).count() == 3


def test_import_command_refuses_a_missing_file():
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_clients", "/nonexistent/file.csv")


def test_a_large_file_runs_in_chunks_with_progress_through_the_task(
    tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "CHUNK_ROWS", 250)  # the Python reader: rows per chunk
    monkeypatch.setattr(fastpath, "COPY_BYTES", 512)  # PostgreSQL's COPY: bytes per segment
    monkeypatch.setattr(fastpath, "SEGMENT_BYTES", 4096)
    lines = ["client;date;amount"] + [
        f"C{i % 40};{dt.date(2025, 1, 1) + dt.timedelta(days=i % 300)};{i}" for i in range(1000)
    ]
    job = ImportJob.objects.create(
        kind="transactions", options={"path": str(write(tmp_path, "\n".join(lines) + "\n"))}
    )
    seen: list[tuple[int, int]] = []
    real = services.import_file

    def spy(**kwargs):
        inner = kwargs["progress"]
        kwargs["progress"] = lambda done, total: (seen.append((done, total)), inner(done, total))
        return real(**kwargs)

    monkeypatch.setattr(services, "import_file", spy)
    with django_capture_on_commit_callbacks(execute=True):
        services.import_job_queue(job=job, run=False)
    job.refresh_from_db()
    assert (job.state, job.counts["created"]) == (ImportJob.State.DONE, 1000)
    assert not Transaction.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.import_job_queue(job=job, run=True)
    job.refresh_from_db()
    assert (job.state, job.options["stage"], job.processed_rows, job.total_rows) == (
        "done",
        "import",
        1000,
        1000,
    )
    assert Transaction.objects.count() == 1000
    preview = [done for done, _total in seen[: seen.index((1000, 1000)) + 1]]
    # Several steps before the end: rows read by Python, or on PostgreSQL the bytes sent by
    # each COPY segment of the fast path.
    assert len(preview) > 3
    assert preview == sorted(preview)
    # Without the fast path the Python reader reports every chunk of rows.
    monkeypatch.setattr(fastpath, "applies", lambda *args: False)
    seen.clear()
    job = ImportJob.objects.create(kind="transactions", options=job.options)
    with django_capture_on_commit_callbacks(execute=True):
        services.import_job_queue(job=job, run=False)
    assert [done for done, _total in seen[:4]] == [250, 500, 750, 1000]


def test_a_job_delivered_twice_runs_once(tmp_path):
    job = ImportJob.objects.create(
        kind="transactions",
        state=ImportJob.State.QUEUED,
        options={
            "path": str(write(tmp_path, "client;date;amount\nC1;2026-02-01;10\n")),
            "stage": "import",
        },
    )
    assert services.import_job_run(job_id=job.pk, dry_run=False) is not None
    assert services.import_job_run(job_id=job.pk, dry_run=False) is None
    job.refresh_from_db()
    assert job.counts["created"] == 1
