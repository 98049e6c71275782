"""The drop folder: a good file is imported and moved to done/ with its report; a bad one is
moved to failed/ with the bad rows named, and writes nothing; partial files wait."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from clients.models import Client, ImportJob, Transaction
from reactivation.api import dropfolder
from reactivation.api.tasks import import_drop_folder
from reactivation.webhooks import services as webhooks
from reactivation.webhooks.models import OutboxEvent

pytestmark = pytest.mark.django_db

GOOD = "id;client;date;amount\nT-1;C-1;2026-11-02;1500,50\nT-2;C-2;03.11.2026;990\n"
BAD = "id;client;date;amount\nT-3;C-3;2026-11-02;1500\nT-4;C-4;not a date;990\n"


def _drop(folder: Path, name: str, text: str, *, age: float = 60) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    old = time.time() - age
    os.utime(path, (old, old))
    return path


def test_a_good_file_is_imported_and_moved_to_done_with_its_report(settings, tmp_path):
    settings.IMPORT_DROP_DIR = str(tmp_path)
    _drop(tmp_path, "sales-2026-11-03.csv", GOOD)

    result = import_drop_folder.delay().get()

    assert len(result["done"]) == 1 and result["failed"] == []
    assert set(Transaction.objects.values_list("external_id", flat=True)) == {"T-1", "T-2"}
    assert Client.objects.filter(external_id__in=["C-1", "C-2"]).count() == 2
    done = tmp_path / "done" / result["done"][0]
    assert done.read_text(encoding="utf-8") == GOOD
    report = done.with_name(done.name + ".report.txt").read_text(encoding="utf-8")
    assert "state: done" in report
    assert "created: 2" in report
    assert not (tmp_path / "sales-2026-11-03.csv").exists()
    job = ImportJob.objects.get()
    assert (job.state, job.kind, job.options["source"]) == ("done", "transactions", "drop_folder")
    assert dropfolder.drop_folder_scan().done == []  # nothing new: nothing done twice


def test_a_bad_file_goes_to_failed_with_its_bad_rows_and_writes_nothing(settings, tmp_path):
    settings.IMPORT_DROP_DIR = str(tmp_path)
    _drop(tmp_path, "sales.csv", BAD)

    outcome = dropfolder.drop_folder_scan()

    assert outcome.done == [] and len(outcome.failed) == 1
    assert not Transaction.objects.exists()
    failed = tmp_path / "failed" / outcome.failed[0]
    report = failed.with_name(failed.name + ".report.txt").read_text(encoding="utf-8")
    assert "state: failed" in report
    assert "bad rows: 1" in report
    assert "row 3" in report
    assert ImportJob.objects.get().state == ImportJob.State.FAILED


def test_a_clients_file_is_read_as_clients(settings, tmp_path):
    settings.IMPORT_DROP_DIR = str(tmp_path)
    _drop(tmp_path, "clients.csv", "external_id;name\nK-1;Анна\n")
    assert len(dropfolder.drop_folder_scan().done) == 1
    assert Client.objects.get(external_id="K-1").name == "Анна"


def test_a_file_still_being_written_and_temporary_files_wait(settings, tmp_path):
    settings.IMPORT_DROP_DIR = str(tmp_path)
    settings.IMPORT_DROP_SETTLE_SECONDS = 30
    _drop(tmp_path, "fresh.csv", GOOD, age=0)
    _drop(tmp_path, "sales.csv.part", GOOD)
    _drop(tmp_path, "~$sales.xlsx", GOOD)
    _drop(tmp_path, ".sales.csv", GOOD)

    outcome = dropfolder.drop_folder_scan()

    assert outcome.done == [] and outcome.failed == []
    assert not Transaction.objects.exists()
    assert (tmp_path / "fresh.csv").exists()


def test_an_empty_setting_is_off(settings, tmp_path):
    settings.IMPORT_DROP_DIR = ""
    _drop(tmp_path, "sales.csv", GOOD)
    assert dropfolder.drop_folder_scan().done == []
    assert not ImportJob.objects.exists()


def test_a_dropped_import_is_announced_to_webhooks(settings, tmp_path):
    settings.IMPORT_DROP_DIR = str(tmp_path)
    webhooks.endpoint_create(name="erp", url="http://127.0.0.1:9/h", events=["import.finished"])
    _drop(tmp_path, "sales.csv", GOOD)
    dropfolder.drop_folder_scan()
    event = OutboxEvent.objects.get(event_type="import.finished")
    assert event.payload["data"]["state"] == "done"
    assert event.payload["data"]["file"] == "sales.csv"
    assert event.payload["data"]["counts"]["created"] == 2
