"""The drop folder: files that another system (1C, an SFTP upload) leaves in ``IMPORT_DROP_DIR``
are imported by the beat schedule as if uploaded, then moved to ``done/`` or ``failed/`` with
their report beside them (``<name>.report.txt``).

A file is taken when it is no temporary file (``~$x``, ``.x``, ``x.tmp``, ``x.part``...), has a
known extension, and its size and modification time have not changed for
``IMPORT_DROP_SETTLE_SECONDS`` (a copy still under way keeps touching it). It is claimed by a
rename into ``processing/``: of two workers that see it, one rename wins and the other finds
nothing. A file whose name begins with ``clients`` (or ``клиенты``) is a clients file; any other
is a transactions file.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from clients.importing import fields
from clients.importing.messages import describe, reason
from clients.models import ImportJob
from clients.services import import_job_run

DONE, FAILED, PROCESSING = "done", "failed", "processing"
EXTENSIONS = {".csv", ".txt", ".tsv", ".xlsx"}
TEMP_PREFIXES = (".", "~")
TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".filepart", ".swp", ".lock")
CLIENT_PREFIXES = ("clients", "client", "клиенты", "клиент")
REPORT_SUFFIX = ".report.txt"

log = logging.getLogger(__name__)


@dataclass
class DropOutcome:
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def is_candidate(name: str) -> bool:
    """Whether a file name is one to import (not a temporary or partial file)."""
    lower = name.lower()
    if lower.startswith(TEMP_PREFIXES) or lower.endswith(TEMP_SUFFIXES):
        return False
    if lower.endswith(REPORT_SUFFIX):
        return False
    return Path(lower).suffix in EXTENSIONS


def kind_of(name: str) -> str:
    return fields.CLIENTS if name.lower().startswith(CLIENT_PREFIXES) else fields.TRANSACTIONS


def _settled(path: Path, now: float, settle: float) -> bool:
    try:
        first = path.stat()
    except FileNotFoundError:
        return False
    if now - first.st_mtime < settle:
        return False
    second = path.stat()  # unchanged between two looks, and for ``settle`` seconds before
    return (first.st_size, first.st_mtime_ns) == (second.st_size, second.st_mtime_ns)


def _unique(folder: Path, name: str) -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    target = folder / f"{stamp}_{name}"
    n = 1
    while target.exists() or target.with_name(target.name + REPORT_SUFFIX).exists():
        n += 1
        target = folder / f"{stamp}-{n}_{name}"
    return target


def report_text(job: ImportJob, name: str) -> str:
    """The import's report in plain text, as the import page and the command tell it."""
    lines = [
        f"file: {name}",
        f"kind: {job.kind}",
        f"import job: {job.pk}",
        f"state: {job.state}",
        f"finished: {(job.finished_at or timezone.now()).isoformat()}",
    ]
    counts = job.counts or {}
    if counts:
        lines.append(
            "counts: " + ", ".join(f"{key}: {value}" for key, value in sorted(counts.items()))
        )
    file_error = (job.options or {}).get("file_error")
    if file_error:
        lines.append("error: " + str(reason(file_error["code"], file_error.get("params"))))
    elif job.message:
        lines.append("error: " + job.message)
    if job.error_count:
        lines.append(f"bad rows: {job.error_count}; nothing was written")
        for error in job.errors:
            column = f", {error['column']}" if error.get("column") else ""
            value = f" [{error['value']}]" if error.get("value") else ""
            lines.append(f"row {error['row']}{column}: {describe(error)}{value}")
    return "\n".join(lines) + "\n"


def drop_file_import(*, path: Path, root: Path) -> tuple[ImportJob, Path]:
    """Import one claimed file (in ``processing/``) as an import job, then move it with its
    report to ``done/`` or ``failed/``. Returns the job and where the file went."""
    original = path.name
    job = ImportJob.objects.create(
        kind=kind_of(original),
        state=ImportJob.State.QUEUED,
        original_name=original[:255],
        queued_at=timezone.now(),
        options={"path": str(path), "stage": "import", "source": "drop_folder"},
    )
    import_job_run(job_id=job.pk, dry_run=False)
    job.refresh_from_db()
    folder = root / (DONE if job.state == ImportJob.State.DONE else FAILED)
    folder.mkdir(exist_ok=True)
    target = _unique(folder, original)
    os.replace(path, target)
    target.with_name(target.name + REPORT_SUFFIX).write_text(
        report_text(job, original), encoding="utf-8"
    )
    ImportJob.objects.filter(pk=job.pk).update(options={**job.options, "path": str(target)})
    return job, target


def drop_folder_scan(*, root: str | Path | None = None, settle: float | None = None) -> DropOutcome:
    """Import every settled new file of the drop folder (nothing when it is not set). Steps:

    1. list the folder's own files (not its subfolders), skipping temporary ones;
    2. take each that has settled, by renaming it into ``processing/`` (the rename is the claim);
    3. import it and move it to ``done/`` or ``failed/`` with its report.
    A file left in ``processing/`` by a worker that died is taken again on the next scan.
    """
    outcome = DropOutcome()
    root = Path(root if root is not None else settings.IMPORT_DROP_DIR or "")
    if not str(root) or str(root) == "." or not root.is_dir():
        return outcome
    settle = settings.IMPORT_DROP_SETTLE_SECONDS if settle is None else settle
    processing = root / PROCESSING
    processing.mkdir(exist_ok=True)
    now = time.time()
    stale = [
        p for p in processing.iterdir() if p.is_file() and now - p.stat().st_mtime > _stale_after()
    ]
    for path in sorted(root.iterdir()):
        if not path.is_file() or not is_candidate(path.name) or not _settled(path, now, settle):
            continue
        claimed = processing / path.name
        if claimed.exists():
            continue  # a file of that name is being imported: the next scan takes this one
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            continue  # another worker took it
        stale.append(claimed)
    for path in stale:
        try:
            job, target = drop_file_import(path=path, root=root)
        except FileNotFoundError:
            continue
        (outcome.done if target.parent.name == DONE else outcome.failed).append(target.name)
        log.info("drop folder: %s -> %s (import job %s)", path.name, target, job.pk)
    return outcome


def _stale_after() -> float:
    # A run longer than the import's own time limit has died with its worker.
    return float(settings.IMPORT_JOB_TIME_LIMIT) + 60


__all__ = ["DropOutcome", "drop_file_import", "drop_folder_scan", "is_candidate", "kind_of"]
