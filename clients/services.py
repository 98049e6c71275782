"""Imports: clients and transactions from CSV or XLSX files, all or nothing.

An import has two phases (``import_file``):

1. Read (outside any transaction): the file is detected, every row parsed and validated, and
   the good rows streamed into a staging table (``COPY`` on PostgreSQL, batched inserts on
   SQLite). Memory does not grow with the file. Any bad row, or a repeated id found in the
   staging table, ends the import here: nothing is written and the report lists the rows.
2. Write (one short ``transaction.atomic()``): under a lock so that two imports queue rather
   than interleave, set-based statements create the missing clients, update changed rows,
   insert new ones (``ON CONFLICT (identity) DO NOTHING``: identities never duplicate), and
   ``clients.stats.refresh_clients`` brings every affected client's aggregates, cycle and
   status up to date. A dry run does all of it and rolls back, which is how the preview
   counts what would be created, updated and left unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from clients.importing import errors, fastpath, fields
from clients.importing.reader import Table, open_table
from clients.importing.result import ImportResult
from clients.importing.rows import COLUMNS, Lookups, RowParser
from clients.importing.writes import Staging, check_repeats, write
from clients.models import ImportJob, Segment

CHUNK_ROWS = 50_000
SAMPLE_ROWS = 10

ERR_JOB_NOT_READY = "The import is not ready to run."

Progress = Callable[[int, int], None]


def clients_import(*, path: str | Path, **options: Any) -> ImportResult:
    """Import a clients file (see ``import_file`` for the options)."""
    return import_file(kind=fields.CLIENTS, path=path, **options)


def transactions_import(*, path: str | Path, **options: Any) -> ImportResult:
    """Import a transactions file; clients it names that do not exist are created."""
    return import_file(kind=fields.TRANSACTIONS, path=path, **options)


def import_file(
    *,
    kind: str,
    path: str | Path,
    encoding: str | None = None,
    delimiter: str | None = None,
    mapping: dict[str, int] | None = None,
    dry_run: bool = False,
    job_id: int | None = None,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Read, check and (unless ``dry_run`` or a row is bad) write one file. Steps:

    1. open the file, detect encoding and separator (unless given), map the headers;
    2. parse every row into the staging table, collecting bad rows;
    3. find ids repeated within the file (set-wise, in the staging table);
    4. if anything is bad, stop: nothing is written;
    5. write everything in one atomic block under the import lock, then refresh the clients.
    """
    result = ImportResult(kind=kind, dry_run=dry_run)
    try:
        table = open_table(path, encoding=encoding or None, delimiter=delimiter or None)
    except errors.ImportFileError as exc:
        result.file_error = exc
        return result
    result.format, result.encoding, result.delimiter = table.format, table.encoding, table.delimiter
    result.headers = table.headers
    result.mapping = (
        _clean_mapping(mapping, len(table.headers))
        if mapping
        else fields.guess_mapping(kind, table.headers)
    )
    missing = fields.missing_required(kind, result.mapping)
    if missing:
        result.file_error = errors.ImportFileError(errors.MISSING_COLUMNS, columns=missing)
        return result

    staging = Staging(kind)
    staging.create()
    try:
        if not _read_fast(table, staging, result, progress):
            parser = RowParser(
                kind, mapping=result.mapping, headers=table.headers, lookups=_lookups()
            )
            try:
                _read(table, parser, staging, result, progress)
            except errors.ImportFileError as exc:
                result.file_error = exc
                return result
            staging.analyze()
            check_repeats(kind, staging, result)
        if not result.ok:
            result.report.sort()
            return result
        write(
            kind,
            staging,
            result,
            job_id=job_id,
            as_of=as_of or timezone.localdate(),
            dry_run=dry_run,
        )
    finally:
        staging.drop()
    return result


def _clean_mapping(mapping: dict[str, int], width: int) -> dict[str, int]:
    return {str(k): int(v) for k, v in mapping.items() if v is not None and 0 <= int(v) < width}


def _lookups() -> Lookups:
    segments: dict[str, int] = {}
    for pk, code, name in Segment.objects.values_list("pk", "code", "name"):
        segments.setdefault(name.strip().lower(), pk)
        segments[code.lower()] = pk  # a code wins over another segment's name
    managers = {
        username.lower(): pk
        for pk, username in get_user_model()
        .objects.filter(is_active=True)
        .values_list("pk", "username")
    }
    return Lookups(segments=segments, managers=managers)


def _read_fast(
    table: Table, staging: Staging, result: ImportResult, progress: Progress | None
) -> bool:
    """Step 2 by PostgreSQL itself (``fastpath``) when it can vouch for the file; False (and
    nothing staged) sends the file to the Python reader, which reports whatever is wrong."""
    if not fastpath.applies(result.kind, table, result.mapping):
        return False
    try:
        rows = fastpath.load(table, result.mapping, staging.name, progress)
    except fastpath.NotVouched:
        staging.truncate()
        return False
    result.rows = rows
    staging.analyze()
    check_repeats(result.kind, staging, result)
    if result.report:  # a repeated id: the Python path reports it with everything else
        result.report, result.rows = errors.ErrorReport(), 0
        staging.truncate()
        return False
    result.sample = staging.sample(SAMPLE_ROWS)
    if progress:
        progress(rows, rows)
    return True


def _read(
    table: Table,
    parser: RowParser,
    staging: Staging,
    result: ImportResult,
    progress: Progress | None,
) -> None:
    """Step 2: parse rows in chunks; good rows go to staging, bad ones to the report."""
    report = result.report
    columns = COLUMNS[parser.kind]
    rows = table.rows()
    total = max(table.estimated_rows, 1)
    while True:
        chunk = list(islice(rows, CHUNK_ROWS))
        if not chunk:
            break
        good = []
        for number, cells in chunk:
            values = parser.parse(number, cells, report)
            if values is not None:
                good.append(values)
                if len(result.sample) < SAMPLE_ROWS:
                    result.sample.append(dict(zip(columns, values, strict=True)))
        result.rows += len(chunk)
        if good and not report:  # once a row is bad nothing will be written: stop staging
            staging.load(good)
        elif (
            good and parser.kind == fields.TRANSACTIONS and fields.TRANSACTION_ID in parser.mapping
        ):
            staging.load(good)  # still find repeated ids, so the report is complete
        elif good and parser.kind == fields.CLIENTS:
            staging.load(good)
        if progress:
            progress(result.rows, max(total, result.rows))
    if progress:
        progress(result.rows, result.rows)


# --- Import jobs (the page and the commands) --------------------------------------------------------


def import_job_run(
    *, job_id: int, dry_run: bool, progress: Progress | None = None
) -> ImportJob | None:
    """Run a queued job (a preview when ``dry_run``) and record its outcome on the row.

    The job is claimed with a compare-and-set from ``queued`` to ``running``, so a task that is
    delivered twice runs once; a job that is gone or not queued is left alone.
    """
    claimed = ImportJob.objects.filter(pk=job_id, state=ImportJob.State.QUEUED).update(
        state=ImportJob.State.RUNNING, started_at=timezone.now(), finished_at=None, processed_rows=0
    )
    if not claimed:
        return None
    job = ImportJob.objects.get(pk=job_id)
    options = dict(job.options)
    path = job.file.path if job.file else options["path"]

    def record(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(processed_rows=done, total_rows=total)
        if progress:
            progress(done, total)

    try:
        result = import_file(
            kind=job.kind,
            path=path,
            encoding=options.get("encoding"),
            delimiter=options.get("delimiter"),
            mapping=options.get("mapping"),
            dry_run=dry_run,
            job_id=None if dry_run else job.pk,
            progress=record,
        )
    except Exception as exc:
        ImportJob.objects.filter(pk=job_id).update(
            state=ImportJob.State.FAILED, finished_at=timezone.now(), message=str(exc)[:2000]
        )
        raise
    job_record_result(job=job, result=result)
    return job


def job_record_result(*, job: ImportJob, result: ImportResult) -> None:
    """Store what an import found on its job row (the page and the commands read it back)."""
    options = dict(job.options)
    options.update(
        stage="preview" if result.dry_run else "import",
        detected={
            "format": result.format,
            "encoding": result.encoding,
            "delimiter": result.delimiter,
        },
        headers=result.headers,
        used_mapping=result.mapping,
        sample=[{k: _jsonable(v) for k, v in row.items()} for row in result.sample],
        file_error={"code": result.file_error.code, "params": result.file_error.params}
        if result.file_error
        else None,
        errors_by_reason=dict(result.report.by_reason),
    )
    job.options = options
    job.counts = result.counts
    job.errors = result.report.errors
    job.error_count = result.report.bad_rows
    job.total_rows = result.rows
    job.processed_rows = result.rows
    job.state = ImportJob.State.DONE if result.ok else ImportJob.State.FAILED
    job.finished_at = timezone.now()
    job.save(
        update_fields=[
            "options",
            "counts",
            "errors",
            "error_count",
            "total_rows",
            "processed_rows",
            "state",
            "finished_at",
        ]
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def import_job_queue(*, job: ImportJob, run: bool) -> ImportJob:
    """Mark a job queued for a preview (``run=False``) or the real import, and enqueue it."""
    from clients import tasks

    if run and not (job.options.get("stage") == "preview" and job.state == ImportJob.State.DONE):
        raise ValueError(ERR_JOB_NOT_READY)
    options = dict(job.options)
    options["stage"] = "import" if run else "preview"
    job.options = options
    job.state = ImportJob.State.QUEUED
    job.processed_rows = 0
    job.save(update_fields=["options", "state", "processed_rows"])
    task = tasks.import_run if run else tasks.import_preview
    transaction.on_commit(lambda: task.delay(job.pk))
    return job
