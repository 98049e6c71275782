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
import logging
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from clients.importing import errors, fastpath, fields, runlock
from clients.importing.messages import reason
from clients.importing.reader import Caps, Table, open_table
from clients.importing.result import ImportResult
from clients.importing.rows import COLUMNS, Lookups, RowParser
from clients.importing.writes import Staging, check_repeats, write
from clients.models import ImportJob, Segment
from reactivation.webhooks import outbox

CHUNK_ROWS = 50_000
SAMPLE_ROWS = 10

ERR_JOB_NOT_READY = "The import is not ready to run."

log = logging.getLogger(__name__)

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
    before_commit: Callable[[ImportResult], None] | None = None,
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
        table = open_table(
            path, encoding=encoding or None, delimiter=delimiter or None, caps=import_caps()
        )
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
        try:
            fast = _read_fast(table, staging, result, progress)
        except errors.ImportFileError as exc:
            result.file_error = exc
            return result
        if not fast:
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
            before_commit=before_commit,
        )
    finally:
        staging.drop()
    return result


def import_caps() -> Caps:
    """What a file may hold, from the settings (``IMPORT_MAX_*``)."""
    return Caps(
        unpacked_bytes=settings.IMPORT_MAX_UNPACKED_BYTES,
        cell_bytes=settings.IMPORT_MAX_CELL_BYTES,
        columns=settings.IMPORT_MAX_COLUMNS,
        rows=settings.IMPORT_MAX_ROWS,
    )


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
    if rows > table.caps.rows:
        raise errors.ImportFileError(errors.TOO_MANY_ROWS, limit=table.caps.rows)
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
            progress(result.rows, table.estimate(result.rows))
    if progress:
        progress(result.rows, result.rows)


# --- Import jobs (the page and the commands) --------------------------------------------------------
#
# A job is queued, then running, then done or failed, and always ends: whatever raises in a run
# fails the job with a reason; a run whose worker died is started again from the start (the
# import writes everything in one transaction, which died with it, so nothing of it is stored);
# and the watchdog fails a job that outlives its time limit. Reasons are stored as codes
# (``options["file_error"]``) and put into words in the reader's language when shown.

# How long a task that finds its job's previous run still holding the lock waits to try again
# (that run's database session is still finishing its last statement).
BUSY_RETRY_SECONDS = 15


class JobBusy(Exception):
    """A live run holds the job: try again later."""


class JobLost(Exception):
    """The job was ended (by the watchdog) while this run went on: its writes roll back."""


def _stage(dry_run: bool) -> str:
    return "preview" if dry_run else "import"


def import_job_run(
    *, job_id: int, dry_run: bool, progress: Progress | None = None
) -> ImportJob | None:
    """Run a job's stage (a preview when ``dry_run``) and record its outcome on the row. Steps:

    1. take the job's run lock (``runlock``); a live run holding it raises ``JobBusy``;
    2. claim the job with a compare-and-set: ``queued`` to ``running``, or, holding the lock,
       ``running`` to ``running`` again with one more attempt (the run that marked it died),
       failing it instead once it has had ``IMPORT_JOB_MAX_ATTEMPTS`` runs; a job that is gone,
       done, failed or queued for the other stage is left alone (returns None);
    3. run the import; whatever it raises fails the job with a reason;
    4. record the outcome, only if this run still owns the job: for an import that writes,
       inside its write transaction (the rows and "done" commit together); then release the
       lock.

    A task delivered twice therefore runs once, and a redelivered one restarts a dead run.
    """
    with runlock.hold(job_id) as held:
        if held is False:
            raise JobBusy(job_id)
        job = _job_claim(job_id, stage=_stage(dry_run), lock_held=bool(held))
        if job is None:
            return None
        options = dict(job.options)

        def record(done: int, total: int) -> None:
            ImportJob.objects.filter(pk=job_id).update(processed_rows=done, total_rows=total)
            if progress:
                progress(done, total)

        recorded = []

        def record_with_the_rows(result: ImportResult) -> None:
            # Inside the write's transaction: the rows and "done" commit together, and a run
            # that has lost its job (the watchdog failed it meanwhile) writes nothing.
            if not job_record_result(job=job, result=result):
                raise JobLost(job_id)
            recorded.append(True)

        try:
            path = job.file.path if job.file else options["path"]
            result = import_file(
                kind=job.kind,
                path=path,
                encoding=options.get("encoding"),
                delimiter=options.get("delimiter"),
                mapping=options.get("mapping"),
                dry_run=dry_run,
                job_id=None if dry_run else job.pk,
                progress=record,
                before_commit=record_with_the_rows,
            )
            if not recorded:
                job_record_result(job=job, result=result)
        except JobLost:
            log.warning("import job %s: ended by the watchdog while it ran; rolled back", job_id)
        except SoftTimeLimitExceeded:  # the worker's time limit, minutes before it kills the run
            minutes = max(1, settings.CELERY_TASK_SOFT_TIME_LIMIT // 60)
            _job_fail(job, errors.TIMED_OUT, minutes=minutes)
        except Exception as exc:  # anything at all: the job must end, and say why
            log.exception("import job %s failed", job_id)
            _job_fail(job, errors.INTERNAL, detail=errors.detail(exc))
        job.refresh_from_db()
        return job


def _job_claim(job_id: int, *, stage: str, lock_held: bool) -> ImportJob | None:
    """Step 2 of ``import_job_run``."""
    now = timezone.now()
    run = {
        "state": ImportJob.State.RUNNING,
        "started_at": now,
        "finished_at": None,
        "processed_rows": 0,
        "message": "",
        "attempts": F("attempts") + 1,
    }
    jobs = ImportJob.objects.filter(pk=job_id, options__stage=stage)
    if jobs.filter(state=ImportJob.State.QUEUED).update(**run):
        return ImportJob.objects.get(pk=job_id)
    job = jobs.filter(state=ImportJob.State.RUNNING).first()
    if job is None or not lock_held:
        return None  # nothing to do, or (SQLite) no way to tell a dead run from a live one
    if job.attempts >= settings.IMPORT_JOB_MAX_ATTEMPTS:
        _job_fail(job, errors.INTERRUPTED, attempts=job.attempts)
        return None
    if not jobs.filter(state=ImportJob.State.RUNNING, attempts=job.attempts).update(**run):
        return None
    log.warning("import job %s: its previous run stopped; started again from the start", job_id)
    return ImportJob.objects.get(pk=job_id)


def _job_fail(job: ImportJob, code: str, *, detail: str = "", **params: Any) -> bool:
    """End a busy job as failed for ``code``, unless another run has taken it since."""
    options = dict(job.options)
    options["file_error"] = {"code": code, "params": params}
    return bool(
        ImportJob.objects.filter(
            pk=job.pk,
            state__in=(ImportJob.State.QUEUED, ImportJob.State.RUNNING),
            attempts=job.attempts,
        ).update(
            state=ImportJob.State.FAILED,
            finished_at=timezone.now(),
            options=errors.clean(options),
            message=errors.clean_text(detail or reason(code, params))[:2000],
        )
    )


def job_record_result(*, job: ImportJob, result: ImportResult) -> bool:
    """Store what an import found on its job row (the page and the commands read it back);
    False if this run no longer owns the job.

    Everything a file put into the report (its headers, values, messages) is cleaned first:
    PostgreSQL stores no NUL character, and a file may hold any byte.
    """
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
    message = reason(result.file_error.code, result.file_error.params) if result.file_error else ""
    return bool(
        ImportJob.objects.filter(
            pk=job.pk, state=ImportJob.State.RUNNING, attempts=job.attempts
        ).update(
            options=errors.clean(options),
            counts=result.counts,
            errors=errors.clean(result.report.errors),
            error_count=result.report.bad_rows,
            total_rows=result.rows,
            processed_rows=result.rows,
            state=ImportJob.State.DONE if result.ok else ImportJob.State.FAILED,
            finished_at=timezone.now(),
            message=errors.clean_text(message)[:2000],
        )
    ) and outbox.import_finished(job_id=job.pk)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def import_job_queue(*, job: ImportJob, run: bool) -> ImportJob:
    """Mark a job queued for a preview (``run=False``) or the real import, and enqueue it."""
    if run and not (job.options.get("stage") == "preview" and job.state == ImportJob.State.DONE):
        raise ValueError(ERR_JOB_NOT_READY)
    options = dict(job.options)
    options["stage"] = "import" if run else "preview"
    job.options = options
    job.state = ImportJob.State.QUEUED
    job.processed_rows = 0
    job.attempts = 0
    job.queued_at = timezone.now()
    job.message = ""
    job.save(
        update_fields=["options", "state", "processed_rows", "attempts", "queued_at", "message"]
    )
    _enqueue(job.pk, run=run)
    return job


def _enqueue(job_id: int, *, run: bool) -> None:
    from clients import tasks  # the tasks call these services: enqueueing is their one way back

    task = tasks.import_run if run else tasks.import_preview
    transaction.on_commit(lambda: task.delay(job_id))


def import_jobs_watch(*, job_ids: list[int] | None = None) -> int:
    """End or restart the busy jobs whose run ended without saying so. Steps, for each job:

    1. running past ``IMPORT_JOB_TIME_LIMIT``: failed, timed out (the worker's own time limit
       has stopped the run, or will);
    2. running, with its run lock free (its worker died): queued again for the same stage, to
       be started from the start, or failed once it has had ``IMPORT_JOB_MAX_ATTEMPTS`` runs;
    3. queued for longer than the time limit (no worker took it): failed.

    Beat runs it every minute (``clients.import_watchdog``); the import pages run it for the
    jobs they show. Returns the number of jobs changed.
    """
    now = timezone.now()
    limit = dt.timedelta(seconds=settings.IMPORT_JOB_TIME_LIMIT)
    minutes = max(1, settings.IMPORT_JOB_TIME_LIMIT // 60)
    jobs = ImportJob.objects.filter(state__in=(ImportJob.State.QUEUED, ImportJob.State.RUNNING))
    if job_ids is not None:
        jobs = jobs.filter(pk__in=job_ids)
    changed = 0
    for job in jobs.order_by("pk"):  # only the busy jobs: a handful
        if job.state == ImportJob.State.QUEUED:
            since = job.queued_at or job.created_at
            changed += since < now - limit and _job_fail(job, errors.NOT_STARTED, minutes=minutes)
            continue
        # 1.
        if job.started_at and job.started_at < now - limit:
            changed += _job_fail(job, errors.TIMED_OUT, minutes=minutes)
            continue
        # 2.
        with runlock.hold(job.pk) as held:
            if not held:
                continue  # a live run, or (SQLite) no way to tell: the time limit will do
            if job.attempts >= settings.IMPORT_JOB_MAX_ATTEMPTS:
                changed += _job_fail(job, errors.INTERRUPTED, attempts=job.attempts)
                continue
            requeued = ImportJob.objects.filter(
                pk=job.pk, state=ImportJob.State.RUNNING, attempts=job.attempts
            ).update(state=ImportJob.State.QUEUED, queued_at=now, processed_rows=0)
        if requeued:
            log.warning("import job %s: its worker stopped; queued to start again", job.pk)
            _enqueue(job.pk, run=job.options.get("stage") == "import")
            changed += 1
    return changed
