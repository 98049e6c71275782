from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from clients.models import Client
from reactivation.demo import demo_create


class Command(BaseCommand):
    help = "Create a realistic demo business (segments, clients, years of purchases, users) and print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=3000, help="How many clients (default 3000).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed gives the same business.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the database already has clients.")

    def handle(self, *args, clients: int, seed: int, if_empty: bool, **options):
        if clients < 1 or clients > 2_000_000:
            raise CommandError("--clients must be between 1 and 2000000.")
        if if_empty and Client.objects.exists():
            self.stdout.write("The database already has clients; demo data left as it is.")
            from reactivation.demo import demo_users

            self._print_logins(demo_users())
            return
        result = demo_create(clients=clients, seed=seed, today=timezone.localdate())
        self.stdout.write(
            self.style.SUCCESS(f"Demo business created: {result.clients} clients, {result.transactions} transactions.")
        )
        self._print_logins(result.users)

    def _print_logins(self, users) -> None:
        self.stdout.write("Log in at http://127.0.0.1:8000/accounts/login/ as:")
        for username, password, role in users:
            self.stdout.write(f"  {role:<8} {username:<10} password: {password}")
