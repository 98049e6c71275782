"""The import page (admins) and the exports of the client list and the queue (members)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from clients import exporting, selectors
from clients.forms import DELIMITER_CHOICES, ImportOptionsForm, ImportUploadForm
from clients.importing import errors as import_errors
from clients.importing import fields
from clients.importing.messages import FIELD_LABELS, describe, reason, reason_title
from clients.importing.rows import COLUMNS
from clients.models import ImportJob, Segment
from clients.paginator import paginate
from clients.services import import_job_queue, import_jobs_watch
from reactivation.models import Case
from reactivation.roles import admin_required, member_required

MSG_PREVIEW_QUEUED = _("The file is being checked.")
MSG_IMPORT_QUEUED = _("The import has started.")
MSG_NOT_READY = _("Only a checked file without errors can be imported.")

# Staging column -> the field whose label heads it in the preview.
SAMPLE_FIELDS = {
    "external_id": fields.TRANSACTION_ID,
    "segment_id": fields.SEGMENT,
    "manager_id": fields.MANAGER,
}


@admin_required
def import_start(request: HttpRequest) -> HttpResponse:
    """Upload a file (a preview is prepared at once) and see the imports made so far."""
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            job = ImportJob(
                kind=form.cleaned_data["kind"],
                original_name=upload.name[:255],
                created_by=request.user,
                options={
                    "encoding": form.cleaned_data["encoding"] or None,
                    "delimiter": form.cleaned_data["delimiter"] or None,
                },
            )
            job.file.save(upload.name, upload, save=False)
            job.save()
            import_job_queue(job=job, run=False)
            return redirect("import_job", job_id=job.pk)
        status = 400
    else:
        form = ImportUploadForm()
        status = 200
    import_jobs_watch()  # a job whose worker died shows as ended or started again, not running
    jobs = paginate(ImportJob.objects.select_related("created_by"), request.GET.get("page"), 20)
    return render(request, "clients/import.html", {"form": form, "jobs": jobs}, status=status)


def _job(job_id: int) -> ImportJob:
    return get_object_or_404(ImportJob, pk=job_id)


def _delimiter_label(delimiter: str) -> str:
    return str(dict(DELIMITER_CHOICES).get(delimiter, repr(delimiter)))


def _sample_table(job: ImportJob) -> tuple[list[str], list[list[Any]]]:
    """The preview's first rows as they will be stored, only the columns the file fills."""
    mapping = job.options.get("used_mapping") or {}
    columns = [c for c in COLUMNS[job.kind][1:] if SAMPLE_FIELDS.get(c, c) in mapping]
    sample = job.options.get("sample") or []
    segments = dict(Segment.objects.values_list("pk", "name")) if "segment_id" in columns else {}
    users = (
        dict(
            get_user_model()
            .objects.filter(pk__in={r.get("manager_id") for r in sample})
            .values_list("pk", "username")
        )
        if "manager_id" in columns
        else {}
    )
    rows = []
    for row in sample:
        values = [row.get("line")]
        for column in columns:
            value = row.get(column)
            if column == "segment_id":
                value = segments.get(value, value)
            elif column == "manager_id":
                value = users.get(value, value)
            values.append("" if value is None else value)
        rows.append(values)
    return [str(FIELD_LABELS[SAMPLE_FIELDS.get(c, c)]) for c in columns], rows


def _column_selects(form: ImportOptionsForm | None) -> tuple[list, list[dict[str, Any]]]:
    """One select a column, rendered by the page itself: a header may have hundreds of columns,
    and a form renderer's template for each of them made the page take seconds."""
    if form is None or not form.headers:
        return [], []
    columns = []
    for bound in form.column_fields():
        value = bound.value()
        columns.append(
            {
                "name": bound.html_name,
                "id": bound.auto_id,
                "label": bound.label,
                "value": "" if value is None else str(value),
                "errors": bound.errors,
            }
        )
    return [(str(v), t) for v, t in form.fields["column_0"].choices], columns


def _job_context(job: ImportJob, options_form: ImportOptionsForm | None = None) -> dict[str, Any]:
    stage = job.options.get("stage", "preview")
    detected = job.options.get("detected") or {}
    headers = job.options.get("headers") or []
    if options_form is None and headers:
        mapping = job.options.get("used_mapping") or {}
        by_index = {index: field for field, index in mapping.items()}
        initial = {f"column_{i}": by_index.get(i, "") for i in range(len(headers))}
        initial.update(
            encoding=job.options.get("encoding") or "", delimiter=job.options.get("delimiter") or ""
        )
        options_form = ImportOptionsForm(kind=job.kind, headers=headers, initial=initial)
    sample_header, sample_rows = _sample_table(job)
    column_choices, column_selects = _column_selects(options_form)
    file_error = job.options.get("file_error")
    failed = job.state == ImportJob.State.FAILED
    if file_error:
        failure = reason(file_error["code"], file_error.get("params"))
    else:  # a job failed before reasons were stored as codes: its message is all there is
        failure = job.message if failed and not job.errors else ""
    internal = bool(file_error) and file_error["code"] == import_errors.INTERNAL
    by_reason = job.options.get("errors_by_reason") or {}
    busy = job.state in (ImportJob.State.QUEUED, ImportJob.State.RUNNING)
    return {
        "job": job,
        "stage": stage,
        "busy": busy,
        "previewed": stage == "preview" and job.state == ImportJob.State.DONE,
        "imported": stage == "import" and job.state == ImportJob.State.DONE,
        "detected": detected,
        "delimiter_label": _delimiter_label(detected.get("delimiter", "")),
        "options_form": options_form,
        "column_choices": column_choices,
        "column_selects": column_selects,
        "sample_header": sample_header,
        "sample_rows": sample_rows,
        "counts": job.counts or {},
        "file_error": failure,
        "failure_detail": job.message if internal else "",
        "errors": [{**e, "text": describe(e)} for e in job.errors],
        "more_errors": max(0, sum(by_reason.values()) - len(job.errors)),
        "by_reason": sorted(
            ((reason_title(c), n) for c, n in by_reason.items()), key=lambda x: -x[1]
        ),
        "is_transactions": job.kind == fields.TRANSACTIONS,
    }


@admin_required
@vary_on_headers("HX-Request")
@require_GET
def import_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """A job's preview, progress or result; htmx polls the ``status`` partial while it runs."""
    job = _job(job_id)
    if job.state in (ImportJob.State.QUEUED, ImportJob.State.RUNNING):
        if import_jobs_watch(job_ids=[job.pk]):  # its worker died: restarted, or failed
            job.refresh_from_db()
    template = "clients/import_job.html#status" if request.htmx else "clients/import_job.html"
    return render(request, template, _job_context(job))


@require_POST
@admin_required
def import_preview(request: HttpRequest, job_id: int) -> HttpResponse:
    """Check the file again with another encoding, separator or column mapping."""
    job = _job(job_id)
    if (
        job.state in (ImportJob.State.QUEUED, ImportJob.State.RUNNING)
        or job.options.get("stage") == "import"
    ):
        messages.error(request, MSG_NOT_READY)
        return redirect("import_job", job_id=job.pk)
    form = ImportOptionsForm(request.POST, kind=job.kind, headers=job.options.get("headers") or [])
    if not form.is_valid():
        return render(request, "clients/import_job.html", _job_context(job, form), status=400)
    options = dict(job.options)
    options.update(
        encoding=form.cleaned_data["encoding"] or None,
        delimiter=form.cleaned_data["delimiter"] or None,
        mapping=form.cleaned_data["mapping"],
    )
    if (options["encoding"], options["delimiter"]) != (
        job.options.get("encoding"),
        job.options.get("delimiter"),
    ):
        options["mapping"] = None  # other columns: map them afresh
    job.options = options
    job.save(update_fields=["options"])
    import_job_queue(job=job, run=False)
    messages.info(request, MSG_PREVIEW_QUEUED)
    return redirect("import_job", job_id=job.pk)


@require_POST
@admin_required
def import_run(request: HttpRequest, job_id: int) -> HttpResponse:
    """Import a checked file (a large one runs in the background; the page shows progress)."""
    job = _job(job_id)
    if not (job.options.get("stage") == "preview" and job.state == ImportJob.State.DONE):
        messages.error(request, MSG_NOT_READY)
        return redirect("import_job", job_id=job.pk)
    options = dict(job.options)
    options["mapping"] = options.get("used_mapping")  # import exactly what the preview showed
    job.options = options
    job.save(update_fields=["options"])
    import_job_queue(job=job, run=True)
    messages.info(request, MSG_IMPORT_QUEUED)
    return redirect("import_job", job_id=job.pk)


def _export_response(
    request: HttpRequest, name: str, columns: list[exporting.Column], rows: Any
) -> HttpResponse:
    """XLSX with ``?format=xlsx``; the machine CSV with ``?format=machine``; else a CSV that a
    spreadsheet opens right in the page's language (see ``exporting.CsvFormat``)."""
    stamp = timezone.localdate().isoformat()
    wanted = request.GET.get("format")
    fmt = exporting.MACHINE if wanted == "machine" else exporting.excel_format(get_language())
    if wanted == "xlsx":
        made = exporting.write_xlsx(exporting.header(columns, fmt), rows, sheet=name)
        return FileResponse(made.handle, as_attachment=True, filename=f"{name}-{stamp}.xlsx")
    response = StreamingHttpResponse(
        exporting.csv_lines(columns, rows, fmt), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


@member_required
@require_GET
def client_export(request: HttpRequest) -> HttpResponse:
    """The client list with the filters of the list page, as CSV (streamed) or XLSX."""
    filters = request.GET.copy()
    for key in ("format", "page"):
        filters.pop(key, None)
    queryset = selectors.client_list(filters=filters, user=request.user).qs
    rows = exporting.client_rows(queryset, as_of=timezone.localdate())
    return _export_response(request, "clients", exporting.CLIENT_COLUMNS, rows)


@member_required
@require_GET
def queue_export(request: HttpRequest) -> HttpResponse:
    """The open cases the user may see, A class first, then by priority."""
    queryset = Case.objects.visible_to(request.user).open().order_by("abc_class", "-priority", "id")
    return _export_response(
        request, "queue", exporting.QUEUE_COLUMNS, exporting.queue_rows(queryset)
    )
