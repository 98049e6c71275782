"""Exports of the client list and the queue: filters, role scope, formats and formula safety."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command

from clients.exporting import CLIENT_HEADER, QUEUE_HEADER, neutralize
from clients.models import Status
from reactivation.models import Case
from tests.factories import CaseFactory, ClientFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def xlsx_rows(data: bytes) -> list[tuple]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return list(workbook.active.values)


# --- Formula injection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3+cmd|x", "@SUM(A1)", "\tTAB", "\r=1"],
)
def test_text_a_spreadsheet_would_run_is_made_inert(value):
    assert neutralize(value) == "'" + value


@pytest.mark.parametrize("value", ["+7 916 123-45-67", "-12.50", "ООО Ромашка", "", "a=b"])
def test_ordinary_values_are_left_alone(value):
    assert neutralize(value) == value


def test_client_export_escapes_formulas_in_csv_and_xlsx(login, owner):
    ClientFactory(external_id="E1", name="=1+2", email="@evil")
    client = login(owner)
    rows = csv_rows(client.get("/clients/export/?format=machine"))
    assert rows[0] == CLIENT_HEADER
    assert rows[1][CLIENT_HEADER.index("name")] == "'=1+2"
    assert rows[1][CLIENT_HEADER.index("email")] == "'@evil"
    response = client.get("/clients/export/?format=xlsx")
    assert response["Content-Disposition"].startswith('attachment; filename="clients-')
    sheet = xlsx_rows(b"".join(response.streaming_content))
    assert sheet[1][CLIENT_HEADER.index("name")] == "'=1+2"
    workbook = openpyxl.load_workbook(
        io.BytesIO(b"".join(client.get("/clients/export/?format=xlsx").streaming_content))
    )
    assert workbook.active.cell(row=2, column=CLIENT_HEADER.index("name") + 1).data_type == "s"


# --- The client list ------------------------------------------------------------------------------


def test_client_export_keeps_the_lists_filters(login, owner):
    segment = SegmentFactory(code="coffee")
    ClientFactory(
        external_id="LOST-COFFEE",
        status=Status.LOST,
        segment=segment,
        cycle_days=21.0,
        last_purchase_on=dt.date(2026, 1, 1),
        purchase_days=3,
        revenue=Decimal("300"),
    )
    ClientFactory(external_id="ACTIVE-COFFEE", status=Status.ACTIVE, segment=segment)
    ClientFactory(external_id="LOST-OTHER", status=Status.LOST)
    rows = csv_rows(
        login(owner).get(f"/clients/export/?status=lost&segment={segment.pk}&page=3&format=machine")
    )
    assert [r[0] for r in rows[1:]] == ["LOST-COFFEE"]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (
        row["status"],
        row["cycle_days"],
        row["last_purchase_on"],
        row["segment"],
        row["revenue"],
    ) == (
        "lost",
        "21.0",
        "2026-01-01",
        "coffee",
        "300.00",
    )


def test_a_manager_exports_only_the_clients_they_may_see(login, alice, bob):
    ClientFactory(external_id="ALICE", manager=alice)
    ClientFactory(external_id="BOB", manager=bob)
    ClientFactory(external_id="POOL")
    rows = csv_rows(login(alice).get("/clients/export/?format=machine"))
    assert sorted(r[0] for r in rows[1:]) == ["ALICE", "POOL"]


def test_export_needs_a_role(login, charlie, client):
    assert client.get("/clients/export/").status_code == 302
    assert login(charlie).get("/clients/export/").status_code == 403


def test_p_alive_comes_from_the_segment_model(login, owner):
    fitted = SegmentFactory(code="fitted", model_r=1.0, model_alpha=30.0, model_a=0.5, model_b=2.0)
    ClientFactory(
        external_id="FIT",
        segment=fitted,
        first_purchase_on=dt.date(2025, 1, 1),
        last_purchase_on=dt.date(2025, 12, 1),
        purchase_days=6,
    )
    ClientFactory(
        external_id="NOMODEL",
        first_purchase_on=dt.date(2025, 1, 1),
        last_purchase_on=dt.date(2025, 12, 1),
        purchase_days=6,
    )
    rows = {
        r[0]: dict(zip(CLIENT_HEADER, r, strict=True))
        for r in csv_rows(login(owner).get("/clients/export/?format=machine"))[1:]
    }
    assert 0 < float(rows["FIT"]["p_alive"]) <= 1
    assert rows["NOMODEL"]["p_alive"] == ""


def test_export_reads_in_chunks_with_a_bounded_number_of_queries(
    login, owner, django_assert_max_num_queries
):
    for i in range(30):
        ClientFactory(external_id=f"C{i:03d}")
    client = login(owner)
    with django_assert_max_num_queries(12):
        rows = csv_rows(client.get("/clients/export/?format=machine"))
    assert len(rows) == 31


# --- The queue ------------------------------------------------------------------------------------


def test_queue_export_lists_open_cases_a_manager_may_see(login, alice, bob):
    mine = CaseFactory(
        client=ClientFactory(external_id="MINE"), assigned_to=alice, abc_class="A", priority=5.0
    )
    CaseFactory(client=ClientFactory(external_id="POOL"), abc_class="B", priority=9.0)
    CaseFactory(client=ClientFactory(external_id="BOBS"), assigned_to=bob)
    CaseFactory(
        client=ClientFactory(external_id="CLOSED"),
        assigned_to=alice,
        status=Case.Status.DECLINED,
        closed_on=dt.date(2026, 11, 3),
    )
    rows = csv_rows(login(alice).get("/queue/export/?format=machine"))
    assert rows[0] == QUEUE_HEADER
    assert [r[0] for r in rows[1:]] == ["MINE", "POOL"]
    first = dict(zip(QUEUE_HEADER, rows[1], strict=True))
    assert (first["status"], first["assigned_to"], first["opened_on"], first["priority"]) == (
        "open",
        "alice",
        mine.opened_on.isoformat(),
        "5.0",
    )


# --- Commands -------------------------------------------------------------------------------------


def test_export_commands_write_csv_and_xlsx(tmp_path, capsys):
    ClientFactory(external_id="K1", name="+SUM(1)", status=Status.SLEEPING)
    CaseFactory(client=ClientFactory(external_id="K2"), priority=1.5)
    call_command("export_clients", str(tmp_path / "c.csv"))
    call_command("export_clients", str(tmp_path / "c.xlsx"), "--status", "sleeping")
    call_command("export_queue", str(tmp_path / "q.xlsx"))
    assert "exported 2 clients" in capsys.readouterr().out
    with open(tmp_path / "c.csv", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:6] == [
        "external_id",
        "status",
        "cycle_days",
        "last_purchase_on",
        "due_on",
        "p_alive",
    ]
    assert sorted(r[0] for r in rows[1:]) == ["K1", "K2"]
    sheet = xlsx_rows((tmp_path / "c.xlsx").read_bytes())
    assert [r[0] for r in sheet[1:]] == ["K1"]
    assert sheet[1][CLIENT_HEADER.index("name")] == "'+SUM(1)"
    queue = xlsx_rows((tmp_path / "q.xlsx").read_bytes())
    assert queue[0][:5] == ("external_id", "status", "assigned_to", "opened_on", "priority")
    assert queue[1][0] == "K2"


def test_an_exported_client_list_imports_back_unchanged(tmp_path):
    ClientFactory(external_id="R1", name="Ромашка", phone="+79161234567", email="r@example.ru")
    call_command("export_clients", str(tmp_path / "c.csv"))
    call_command("import_clients", str(tmp_path / "c.csv"), "--dry-run")
    from clients.models import ImportJob

    assert ImportJob.objects.get().counts["unchanged"] == 1


# --- For Russian Excel ----------------------------------------------------------------------------


@pytest.fixture
def russian(settings):
    settings.LANGUAGE_CODE = "ru"


def ru_rows(data: str) -> list[list[str]]:
    assert data.startswith("\ufeff")
    return list(csv.reader(io.StringIO(data.lstrip("\ufeff")), delimiter=";"))


def test_a_csv_from_the_russian_page_opens_in_russian_excel(login, owner, russian):
    ClientFactory(
        external_id="R1",
        name="ООО «Ромашка»",
        status=Status.LOST,
        cycle_days=30.5,
        revenue=Decimal("1234.50"),
        last_purchase_on=dt.date(2026, 3, 7),
        do_not_contact=True,
    )
    body = b"".join(login(owner).get("/clients/export/").streaming_content).decode("utf-8")
    rows = ru_rows(body)
    head = rows[0]
    assert head[:3] == ["Код клиента", "Статус", "Цикл, дней"]
    row = dict(zip(head, rows[1], strict=True))
    assert row["Код клиента"] == "R1"
    assert row["Статус"] == "Потерянный"
    assert row["Цикл, дней"] == "30,5"
    assert row["Последняя покупка"] == "07.03.2026"
    assert row["Выручка"] == "1234,50"
    assert row["Не связываться"] == "да"


def test_the_russian_page_offers_the_machine_format_too(login, owner, russian):
    ClientFactory(external_id="R1", status=Status.LOST, cycle_days=30.5)
    response = login(owner).get("/clients/export/?format=machine")
    rows = csv_rows(response)
    assert rows[0] == CLIENT_HEADER
    row = dict(zip(CLIENT_HEADER, rows[1], strict=True))
    assert (row["status"], row["cycle_days"]) == ("lost", "30.5")


def test_the_queue_csv_from_the_russian_page_names_case_statuses_in_russian(login, alice, russian):
    CaseFactory(client=ClientFactory(external_id="Q1"), assigned_to=alice, priority=2.25)
    rows = ru_rows(b"".join(login(alice).get("/queue/export/").streaming_content).decode())
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Статус кейса"] == "Открыт"
    assert row["Приоритет"] == "2,25"
    assert row["Контрольная группа"] == "нет"


def test_export_commands_keep_the_machine_format_and_take_excel_ru(tmp_path):
    ClientFactory(external_id="K1", status=Status.SLEEPING, cycle_days=12.25)
    call_command("export_clients", str(tmp_path / "m.csv"))
    call_command("export_clients", str(tmp_path / "r.csv"), "--format", "excel-ru")
    machine = list(csv.reader(open(tmp_path / "m.csv", encoding="utf-8-sig")))  # noqa: SIM115
    assert machine[0] == CLIENT_HEADER
    assert machine[1][1] == "sleeping"
    rows = ru_rows((tmp_path / "r.csv").read_text(encoding="utf-8"))
    assert rows[0][0] == "Код клиента"
    assert rows[1][1] == "Спящий"
    assert rows[1][2] == "12,2" or rows[1][2] == "12,3"
