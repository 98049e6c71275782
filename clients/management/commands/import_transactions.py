"""``manage.py import_transactions PATH [--dry-run] [--encoding E] [--delimiter D]``."""

from __future__ import annotations

from clients.importing import fields
from clients.management.commands._importing import ImportCommand


class Command(ImportCommand):
    help = (
        "Import transactions from a CSV or XLSX file: all rows or, if any row is bad, none. "
        "Clients the file names that do not exist yet are created."
    )
    kind = fields.TRANSACTIONS
