"""What ``import_clients`` and ``import_transactions`` share: options, progress and the report."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clients.importing import fields
from clients.importing.messages import describe, reason, reason_title
from clients.models import ImportJob
from clients.services import import_job_run

DELIMITERS = {
    "comma": ",",
    "semicolon": ";",
    "tab": "\t",
    "pipe": "|",
    ",": ",",
    ";": ";",
    "|": "|",
    "\\t": "\t",
}


class ImportCommand(BaseCommand):
    kind = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a CSV or XLSX file")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument(
            "--encoding",
            choices=["utf-8", "cp1251", "utf-16"],
            help="override the detected encoding",
        )
        parser.add_argument(
            "--delimiter",
            choices=sorted(DELIMITERS),
            help="override the detected separator (comma, semicolon, tab, pipe)",
        )

    def handle(self, *args, **options) -> None:
        path = Path(options["path"]).resolve()
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        job = ImportJob.objects.create(
            kind=self.kind,
            state=ImportJob.State.QUEUED,
            original_name=path.name,
            options={
                "path": str(path),
                "encoding": options.get("encoding"),
                "delimiter": DELIMITERS.get(options.get("delimiter") or "", None),
                "stage": "preview" if options["dry_run"] else "import",
                "source": "command",
            },
        )
        show = sys.stderr.isatty() or options["verbosity"] > 1

        def progress(done: int, total: int) -> None:
            if show:
                self.stderr.write(f"\r{done:>12,} / {total:,} rows", ending="")
                self.stderr.flush()

        import_job_run(job_id=job.pk, dry_run=options["dry_run"], progress=progress)
        if show:
            self.stderr.write("")
        job.refresh_from_db()
        self.report(job, dry_run=options["dry_run"])

    def report(self, job: ImportJob, *, dry_run: bool) -> None:
        detected = job.options.get("detected") or {}
        if detected.get("format") == "csv":
            self.stdout.write(
                f"file: {job.original_name} (CSV, {detected.get('encoding')}, separator {detected.get('delimiter')!r})"
            )
        mapping = job.options.get("used_mapping") or {}
        headers = job.options.get("headers") or []
        if mapping:
            self.stdout.write(
                "columns: "
                + ", ".join(
                    f"{headers[i]!r} -> {field}"
                    for field, i in sorted(mapping.items(), key=lambda x: x[1])
                )
            )
        file_error = job.options.get("file_error")
        if file_error:
            raise CommandError(reason(file_error["code"], file_error.get("params")))
        if job.error_count:
            for error in job.errors:
                column = f", {error['column']}" if error.get("column") else ""
                value = f" [{error['value']}]" if error.get("value") else ""
                self.stderr.write(f"row {error['row']}{column}: {describe(error)}{value}")
            shown = len(job.errors)
            by_reason = job.options.get("errors_by_reason") or {}
            if sum(by_reason.values()) > shown:
                self.stderr.write(
                    f"... and {sum(by_reason.values()) - shown} more errors; all errors by reason:"
                )
                for code, count in sorted(by_reason.items(), key=lambda x: -x[1]):
                    self.stderr.write(f"  {reason_title(code)}: {count}")
            raise CommandError(f"{job.error_count} bad rows: nothing was written.")
        counts = job.counts
        prefix = "dry run, would be " if dry_run else ""
        line = (
            f"{prefix}created: {counts.get('created', 0)}, updated: {counts.get('updated', 0)}, "
            f"unchanged: {counts.get('unchanged', 0)}"
        )
        if self.kind == fields.TRANSACTIONS:
            line += f", clients created: {counts.get('clients_created', 0)}"
        self.stdout.write(line)
