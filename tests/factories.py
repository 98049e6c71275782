"""factory_boy factories for the domain. Roles are given with ``UserFactory(role="manager")``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from clients.models import STATS_FIELDS, Client, ClientStats, Segment, Transaction
from reactivation.models import Case, OfferTemplate

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            # get_or_create: a transactional test's flush removes the groups the migration made.
            self.groups.add(Group.objects.get_or_create(name=extracted)[0])
        if create:
            self.save()


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"segment-{n}")
    name = factory.LazyAttribute(lambda s: s.code.title())


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    external_id = factory.Sequence(lambda n: f"X{n:06d}")
    name = factory.Sequence(lambda n: f"Client {n}")
    phone = factory.Sequence(lambda n: f"+7916{n:07d}")
    email = factory.LazyAttribute(lambda c: f"{c.external_id.lower()}@example.com")
    segment = None
    manager = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Statistics given by name (``status="lost"``, ``cycle_days=30``...) go to the
        client's statistics row, as if the engine had computed them."""
        stats = {name: kwargs.pop(name) for name in STATS_FIELDS if name in kwargs}
        client = super()._create(model_class, *args, **kwargs)
        if stats:
            ClientStats.objects.filter(client=client).update(**stats)
            client.refresh_from_db()
        return client


def set_stats(client: Client, **values) -> Client:
    """Give ``client`` these statistics (as if the engine had computed them) and reload it."""
    ClientStats.objects.update_or_create(client=client, defaults=values)
    client.refresh_from_db()
    return client


class TransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transaction

    client = factory.SubFactory(ClientFactory)
    identity = factory.Sequence(lambda n: f"test:{n}")
    date = dt.date(2026, 1, 15)
    amount = Decimal("1000.00")
    margin = None


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    client = factory.SubFactory(ClientFactory)
    opened_on = dt.date(2026, 11, 2)
    status = Case.Status.OPEN


class OfferTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OfferTemplate

    name = factory.Sequence(lambda n: f"10% off #{n}")
    kind = OfferTemplate.Kind.PERCENT
    value = Decimal("10")
    validity_days = 14
    cost = Decimal("300")
