"""``manage.py phone_extension LOGIN EXTENSION``: set a manager's extension on the phone system
(``--clear`` takes it away)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from reactivation.telephony.services import PhoneError, extension_set


class Command(BaseCommand):
    help = "Set a user's extension on the phone system (calls on it are theirs)."

    def add_arguments(self, parser):
        parser.add_argument("login")
        parser.add_argument("extension", nargs="?", default="")
        parser.add_argument("--clear", action="store_true", help="take the extension away")

    def handle(self, *args, login: str, extension: str, clear: bool, **options):
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: login}).first()
        if user is None:
            raise CommandError(f"no user with the login {login!r}")
        extension = extension.strip()
        if not extension and not clear:
            raise CommandError("give the extension, or --clear to take it away")
        if extension and not extension.isalnum():
            raise CommandError(f"an extension is letters and digits, not {extension!r}")
        try:
            row = extension_set(user=user, extension="" if clear else extension)
        except PhoneError as exc:
            raise CommandError(str(exc.message)) from exc
        if row is None:
            self.stdout.write(f"{login}: no extension")
        else:
            self.stdout.write(f"{login}: extension {row.extension}")
