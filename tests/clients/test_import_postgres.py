"""The PostgreSQL bulk path: COPY into staging, one upsert, and two imports at once."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from clients import services
from clients.importing import writes
from clients.importing.result import ImportResult
from clients.models import Client, Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def write(tmp_path, name: str, rows: list[str]):
    path = tmp_path / name
    path.write_text("client;date;amount\n" + "\n".join(rows) + "\n", encoding="cp1251")
    return path


def test_the_bulk_path_loads_staging_with_copy(tmp_path, monkeypatch):
    """A plain file is parsed by PostgreSQL (COPY of the file itself); one with a phone column
    is read by Python and its rows are sent with COPY."""
    statements: list[str] = []
    real = writes.Staging.load

    def spy(self, rows):
        statements.append("COPY" if self.postgres else "INSERT")
        return real(self, rows)

    monkeypatch.setattr(writes.Staging, "load", spy)
    fast = services.transactions_import(path=write(tmp_path, "a.csv", ["C1;01.02.2026;1 000,00"]))
    assert fast.ok
    assert statements == []
    assert Transaction.objects.get().amount == Decimal("1000.00")
    path = tmp_path / "b.csv"
    path.write_text("client;date;amount;phone\nC2;01.02.2026;5;89161234567\n", encoding="cp1251")
    assert services.transactions_import(path=path).ok
    assert statements == ["COPY"]
    assert Client.objects.get(external_id="C2").phone == "+79161234567"
    assert connection.vendor == "postgresql"


def test_two_imports_at_once_queue_and_never_duplicate_an_identity(tmp_path):
    shared = [f"S{i % 50};2026-01-{1 + i % 28:02d};{i}" for i in range(600)]
    first = write(tmp_path, "first.csv", shared + [f"A{i};2026-02-01;{i}" for i in range(300)])
    second = write(tmp_path, "second.csv", shared + [f"B{i};2026-02-01;{i}" for i in range(300)])
    results: dict[str, ImportResult] = {}
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run(name, path):
        try:
            start.wait()
            results[name] = services.transactions_import(path=path)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(n, p)) for n, p in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert Transaction.objects.count() == 1200
    assert Transaction.objects.values("identity").distinct().count() == 1200
    created = sorted(r.created for r in results.values())
    unchanged = sorted(r.unchanged for r in results.values())
    assert (created, unchanged) == (
        [300, 900],
        [0, 600],
    )  # whoever came second found the shared rows
    assert Client.objects.filter(external_id__startswith="S").count() == 50
    assert Client.objects.get(external_id="A5").revenue == Decimal("5.00")
