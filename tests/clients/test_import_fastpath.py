"""The PostgreSQL fast path (COPY parses the file, SQL checks and converts) against the Python
reader: the same files must give the same stored rows, counts, preview and reports."""

from __future__ import annotations

import codecs
import datetime as dt

import pytest
import time_machine

from clients import services
from clients.importing import fastpath
from clients.importing.result import ImportResult
from clients.models import Client, Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NBSP, NARROW = "\u00a0", "\u202f"

# (id, text, encoding, BOM, whether the fast path can vouch for it)
FILES = [
    (
        "1c-export",
        "Код клиента;Дата продажи;Сумма;Маржа;Комментарий\r\n"
        "K0000001;05.08.2024;4 443,99;1 333,20;заказ\r\n"
        "K0000002;5.8.2024;-12,50;;возврат\r\n"
        "K0000001;05.08.2024;4 443,99;10,00;повтор\r\n"
        "K0000001;05.08.2024;4 443,99;;и ещё\r\n"
        "K0000003;29.02.2024;0;0,5;\r\n"
        "K0000004;06.08.2024;1'234,50;-0,004;\r\n",
        "cp1251",
        False,
        True,
    ),
    (
        "utf8-bom-comma-quoted",
        "client,date,amount,promo,transaction id,name\n"
        'C-1,2026-01-05,"1234.5",SPRING,T1,"Smith, John"\n'
        'C-2,2026-01-06T14:30:15.123+03:00,12,,T2,"ООО ""Ромашка"""\n'
        "C-1,2026-1-7 09:15,+5,,T3,\n"
        '"C-3",2026-01-08,-0.00,,T4,""\n',
        "utf-8",
        True,
        True,
    ),
    (
        "sep-line",
        "sep=;\nclient;date;amount\nA;01.01.2026;1 000,5\n",
        "utf-8",
        False,
        True,
    ),
    (
        "tab-nbsp",
        "Клиент\tДата\tСумма\tНаименование\n"
        f" K1 \t01.02.2026\t1{NBSP}234{NBSP}567,5\tИП  Щукин \n"
        f"K2\t02.02.2026 10:00\t1{NARROW}000\t\n"
        f"K1\t01.02.2026\t1 234 567,50\t\n"
        f"K3\t03.02.2026\t12,345\tЁлка\n"
        f"K3\t2026-02-03\t-0,5\t\n",
        "utf-8",
        False,
        True,
    ),
    (
        "no-final-newline",
        "client;date;amount\nA;01.01.2026;1\nB;02.01.2026;2",
        "utf-8",
        False,
        True,
    ),
    # Good files the fast path leaves to Python: the results must still be the same.
    (
        "line-break-in-quotes",
        'client;date;amount;name\nA;01.01.2026;1;"two\nlines"\nB;02.01.2026;2;b\n',
        "utf-8",
        False,
        False,
    ),
    (
        "extra-empty-cells",
        "client;date;amount\nA;01.01.2026;1;;\nB;02.01.2026;2\n",
        "utf-8",
        False,
        False,
    ),
    (
        "quote-inside-a-field",
        'client;date;amount;name\nA;01.01.2026;1;say "hi"\n',
        "utf-8",
        False,
        False,
    ),
    (
        "currency-and-tab-edge",
        "client;date;amount\nA;01.01.2026;100 ₽\nB;02.01.2026;\t5\n",
        "utf-8",
        False,
        False,
    ),
    ("blank-line", "client;date;amount\nA;01.01.2026;1\n\nB;02.01.2026;2\n", "utf-8", False, False),
    (
        "unicode-space-around-client",
        "client;date;amount\n\u2003A;01.01.2026;1\n",
        "utf-8",
        False,
        False,
    ),
    # Bad files: the fast path gives up and the Python reader reports every row.
    (
        "bad-rows",
        "client;date;amount\nA;31.02.2026;1\nB;01.01.2026;abc\n;01.01.2026;1\nC;01.01.2026\n"
        "D;03/02/2026;1\nE;01.01.2026;1e5\n",
        "utf-8",
        False,
        False,
    ),
    (  # staged by the fast path, which then finds the repeat and leaves the report to Python
        "repeated-id",
        "client;date;amount;id\nA;01.01.2026;1;X\nB;01.01.2026;2;X\n",
        "utf-8",
        False,
        True,
    ),
    ("too-large", "client;date;amount\nA;01.01.2026;999999999999,995\n", "utf-8", False, False),
    ("undefined-cp1251-byte", "client;date;amount\nA;01.01.2026;1\n", "cp1251", False, False),
]


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC), tick=False):
        yield


def write(tmp_path, name: str, text: str, encoding: str, bom: bool):
    path = tmp_path / f"{name}.csv"
    data = text.encode(encoding)
    if name == "undefined-cp1251-byte":
        data = data.replace(b"A;", b"A\x98;")
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + data)
    return path


def snapshot(result: ImportResult) -> dict:
    return {
        "ok": result.ok,
        "counts": result.counts,
        "sample": result.sample,
        "mapping": result.mapping,
        "errors": result.report.errors,
        "by_reason": dict(result.report.by_reason),
        "file_error": result.file_error and (result.file_error.code, result.file_error.params),
        "transactions": sorted(
            Transaction.objects.values_list(
                "client__external_id",
                "identity",
                "external_id",
                "date",
                "amount",
                "margin",
                "promo_code",
            )
        ),
        "clients": sorted(
            Client.objects.values_list(
                "external_id",
                "name",
                "stats__first_purchase_on",
                "stats__last_purchase_on",
                "stats__purchase_days",
                "stats__revenue",
                "stats__margin",
                "stats__status",
                "stats__due_on",
            )
        ),
    }


def import_twice(path, monkeypatch, *, fast: bool) -> tuple[dict, dict, bool]:
    """Import ``path`` (fast path allowed or not) and re-import it; wipe everything after."""
    used: list[bool] = []
    real_load = fastpath.load

    def spy(*args, **kwargs):
        try:
            rows = real_load(*args, **kwargs)
        except fastpath.NotVouched:
            used.append(False)
            raise
        used.append(True)
        return rows

    with monkeypatch.context() as patch:
        patch.setattr(fastpath, "load", spy)
        if not fast:
            patch.setattr(fastpath, "applies", lambda *args: False)
        first = snapshot(services.transactions_import(path=path))
        again = snapshot(services.transactions_import(path=path))
    Transaction.objects.all().delete()
    Client.objects.all().delete()
    return first, again, bool(used) and used[0]


@pytest.mark.parametrize(
    ("name", "text", "encoding", "bom", "vouched"), FILES, ids=[f[0] for f in FILES]
)
def test_the_fast_path_and_the_python_reader_store_the_same(
    tmp_path, monkeypatch, name, text, encoding, bom, vouched
):
    path = write(tmp_path, name, text, encoding, bom)
    fast, fast_again, used = import_twice(path, monkeypatch, fast=True)
    slow, slow_again, _ = import_twice(path, monkeypatch, fast=False)
    assert used is vouched
    assert fast == slow
    assert fast_again == slow_again
    if fast["ok"]:
        assert fast["transactions"], "a good file stores rows"
        assert fast_again["counts"]["unchanged"] == fast["counts"]["rows"]  # re-import: no-op


def test_a_first_load_meeting_an_existing_identity_upserts_instead(tmp_path):
    """A transaction id already stored under another client: the plain first-load INSERT
    fails on the unique identity, rolls back to its savepoint, and the upsert moves the row."""
    first = write(tmp_path, "a", "client;date;amount;id\nA;01.01.2026;1;T1\n", "utf-8", False)
    second = write(tmp_path, "b", "client;date;amount;id\nB;02.01.2026;2;T1\n", "utf-8", False)
    assert services.transactions_import(path=first).ok
    result = services.transactions_import(path=second)
    assert (result.ok, result.created, result.updated, result.clients_created) == (True, 0, 1, 1)
    row = Transaction.objects.get()
    assert (row.client.external_id, row.identity, str(row.amount)) == ("B", "id:T1", "2.00")
    assert Client.objects.get(external_id="A").revenue == 0
    assert Client.objects.get(external_id="B").revenue == 2


def test_progress_follows_the_bytes_sent(tmp_path):
    rows = "".join(f"C{i % 50};01.01.2026;{i}\n" for i in range(3000))
    path = write(tmp_path, "p", "client;date;amount\n" + rows, "utf-8", False)
    seen: list[tuple[int, int]] = []
    result = services.transactions_import(path=path, progress=lambda d, t: seen.append((d, t)))
    assert result.ok
    assert seen[-1] == (3000, 3000)
    assert all(done <= total for done, total in seen)


@pytest.mark.parametrize(
    ("data", "vouched"),
    [
        (b'a;"b;c";"d""e"\r\n"";x;y\r\n', True),
        (b'a;b"c;d\n', False),  # a quote inside an unquoted field
        (b'a;"b"c;d\n', False),  # text after a closing quote
        (b'a;"b\nc";d\n', False),  # a line break inside quotes
        (b"a;b\rc;d\n", False),  # a lone carriage return
        (b'a;"b', False),  # never closed
    ],
)
def test_the_byte_check_reads_quotes_as_both_parsers_agree(data, vouched):
    for size in (len(data), 1, 2, 3):  # the same verdict whatever the chunks
        check = fastpath.ByteCheck(b";", "utf-8")
        try:
            for start in range(0, len(data), size):
                check.feed(data[start : start + size])
            check.finish()
            verdict = True
        except fastpath.NotVouched:
            verdict = False
        assert verdict is vouched, (data, size)
