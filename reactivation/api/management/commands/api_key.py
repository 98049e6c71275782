"""``manage.py api_key create NAME --role admin|manager|owner [--user LOGIN]``,
``manage.py api_key revoke NAME`` and ``manage.py api_key list``.

``create`` prints the key once, alone on its last line (scripts read that line); only its hash
is stored, so a lost key is revoked and replaced, never recovered.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from reactivation.api import services
from reactivation.api.models import ApiKey
from reactivation.roles import Role


class Command(BaseCommand):
    help = "Create, revoke or list API keys."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a key and print it once")
        create.add_argument("name")
        create.add_argument("--role", required=True, choices=Role.values)
        create.add_argument(
            "--user", help="the login the key acts as (required for --role manager)"
        )
        revoke = actions.add_parser("revoke", help="revoke the key in use with this name")
        revoke.add_argument("name")
        actions.add_parser("list", help="list the keys")

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "revoke":
            try:
                key = services.key_revoke(name=options["name"])
            except services.ApiKeyError as exc:
                raise CommandError(f"{exc.message}: {options['name']}") from exc
            self.stdout.write(f"revoked: {key.name} ({key.prefix}…)")
        else:
            for key in ApiKey.objects.select_related("user").order_by("revoked", "name"):
                state = "revoked" if key.revoked else "in use"
                user = key.user.username if key.user else "-"
                self.stdout.write(f"{key.name}\t{key.role}\t{user}\t{key.prefix}…\t{state}")

    def _create(self, options: dict) -> None:
        user = None
        if options.get("user"):
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No such user: {options['user']}")
        try:
            key, secret = services.key_create(name=options["name"], role=options["role"], user=user)
        except services.ApiKeyError as exc:
            raise CommandError(str(exc.message)) from exc
        acts_as = f", acts as {user.username}" if user else ""
        self.stdout.write(
            f"created: {key.name} (role {key.role}{acts_as}); only its hash is stored."
        )
        self.stdout.write("The key, shown this once:")
        self.stdout.write(secret)
