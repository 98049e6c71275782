"""``manage.py phone_recordings_purge``: delete the copies of recordings past
PHONE_RECORDING_RETENTION_DAYS (each copy made also purges; this is for a schedule or by hand)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from reactivation.telephony.services import recordings_purge


class Command(BaseCommand):
    help = "Delete copied call recordings older than PHONE_RECORDING_RETENTION_DAYS."

    def handle(self, *args, **options):
        self.stdout.write(f"recordings deleted: {recordings_purge()}")
