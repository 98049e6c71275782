"""The queue gate: who gets a case, every exclusion reason, the control draw, value and priority."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from clients.models import Client
from clients.stats import refresh_clients
from reactivation.models import Case, Policy, QueueExclusion
from reactivation.services.gate import (
    DEFAULT_YEARLY_CHURN,
    cases_open_for_lost,
    control_draw,
    measure_yearly_churn,
)
from tests.factories import CaseFactory, ClientFactory, OfferTemplateFactory, TransactionFactory

AS_OF = dt.date(2026, 11, 23)


def lost_client(*, amount: str = "1000", **kwargs) -> Client:
    """One purchase 200 days ago: default cycle 30 days, lost after 90."""
    client = ClientFactory(**kwargs)
    TransactionFactory(client=client, date=AS_OF - dt.timedelta(days=200), amount=Decimal(amount))
    refresh_clients(client_ids=[client.pk], as_of=AS_OF)
    client.refresh_from_db()
    assert client.status == "lost"
    return client


def exclusion_of(client: Client) -> QueueExclusion:
    return QueueExclusion.objects.get(client=client, as_of=AS_OF)


@pytest.mark.django_db
def test_a_newly_lost_client_gets_one_case_with_value_and_priority():
    client = lost_client(abc_class="A")

    result = cases_open_for_lost(as_of=AS_OF, client_ids=[client.pk])

    case = Case.objects.get(client=client)
    assert (result.opened, result.control, result.excluded) == (1, 0, {})
    assert (case.status, case.opened_on, case.abc_class, case.is_control) == (
        "open",
        AS_OF,
        "A",
        False,
    )
    assert case.assigned_to is None
    # 1000 x 30% margin a purchase, one purchase a month, 12 / 0.3 = 40 months.
    assert case.potential_value == Decimal("12000.00")
    assert case.priority == pytest.approx(12000)  # no fitted model: the value alone
    assert not QueueExclusion.objects.exists()


@pytest.mark.django_db
def test_do_not_contact_is_excluded_with_its_reason():
    client = lost_client(do_not_contact=True)
    result = cases_open_for_lost(as_of=AS_OF, client_ids=[client.pk])
    assert result.excluded == {"do_not_contact": 1}
    assert exclusion_of(client).reason == QueueExclusion.Reason.DO_NOT_CONTACT
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_an_open_case_is_not_doubled():
    client = lost_client()
    existing = CaseFactory(client=client, opened_on=AS_OF - dt.timedelta(days=3))

    cases_open_for_lost(as_of=AS_OF, client_ids=[client.pk])

    assert list(Case.objects.filter(client=client)) == [existing]
    assert exclusion_of(client).reason == QueueExclusion.Reason.OPEN_CASE


@pytest.mark.django_db
def test_a_case_closed_within_the_cooldown_keeps_the_client_out():
    recent = lost_client()
    CaseFactory(
        client=recent,
        opened_on=AS_OF - dt.timedelta(days=60),
        status="expired",
        closed_on=AS_OF - dt.timedelta(days=30),
    )
    long_ago = lost_client()
    CaseFactory(
        client=long_ago,
        opened_on=AS_OF - dt.timedelta(days=200),
        status="expired",
        closed_on=AS_OF - dt.timedelta(days=100),
    )

    result = cases_open_for_lost(as_of=AS_OF, client_ids=[recent.pk, long_ago.pk])

    assert result.opened == 1
    assert exclusion_of(recent).reason == QueueExclusion.Reason.COOLDOWN
    assert exclusion_of(recent).detail == (AS_OF - dt.timedelta(days=30)).isoformat()
    assert Case.objects.filter(client=long_ago, status="open").exists()


@pytest.mark.django_db
def test_an_excluded_abc_class_stays_out_and_another_gets_in():
    c_client = lost_client(abc_class="C")
    b_client = lost_client(abc_class="B")

    cases_open_for_lost(as_of=AS_OF, client_ids=[c_client.pk, b_client.pk])

    assert exclusion_of(c_client).reason == QueueExclusion.Reason.EXCLUDED_CLASS
    assert Case.objects.filter(client=b_client).exists()


@pytest.mark.django_db
def test_a_client_worth_less_than_winning_back_costs_is_excluded():
    OfferTemplateFactory(cost=Decimal("300"))
    cheap = lost_client(amount="20")  # 20 x 0.3 x 40 = 240 < 300 + 50
    worth_it = lost_client(amount="100")  # 1200 >= 350

    cases_open_for_lost(as_of=AS_OF, client_ids=[cheap.pk, worth_it.pk])

    assert exclusion_of(cheap).reason == QueueExclusion.Reason.LOW_VALUE
    assert exclusion_of(cheap).detail == "240.00 < 350.00"
    assert Case.objects.filter(client=worth_it).exists()


@pytest.mark.django_db
def test_reasons_are_checked_in_order_and_recorded_once_a_day():
    client = lost_client(do_not_contact=True, abc_class="C")
    cases_open_for_lost(as_of=AS_OF, client_ids=[client.pk])
    cases_open_for_lost(as_of=AS_OF, client_ids=[client.pk])
    assert list(QueueExclusion.objects.values_list("reason", flat=True)) == ["do_not_contact"]


@pytest.mark.django_db
def test_the_control_share_is_held_out_reproducibly_and_unassigned():
    policy = Policy.objects.get(segment=None)
    policy.control_share = 0.5
    policy.save()
    clients = [lost_client() for _ in range(40)]
    ids = [c.pk for c in clients]

    result = cases_open_for_lost(as_of=AS_OF, client_ids=ids)

    expected_control = {pk for pk in ids if control_draw(client_id=pk, as_of=AS_OF) < 0.5}
    control = set(Case.objects.filter(is_control=True).values_list("client_id", flat=True))
    assert control == expected_control
    assert 0 < result.control == len(control) < 40
    assert result.opened == 40 - len(control)
    assert not Case.objects.filter(is_control=True, assigned_to__isnull=False).exists()


def test_the_control_draw_is_uniform_and_fixed_by_client_and_date():
    draws = [control_draw(client_id=i, as_of=AS_OF) for i in range(4000)]
    assert draws == [control_draw(client_id=i, as_of=AS_OF) for i in range(4000)]
    assert all(0 <= d < 1 for d in draws)
    assert sum(d < 0.1 for d in draws) == pytest.approx(400, abs=60)
    assert control_draw(client_id=1, as_of=AS_OF) != control_draw(
        client_id=1, as_of=AS_OF + dt.timedelta(days=1)
    )


@pytest.mark.django_db
def test_the_model_refines_the_priority():
    from clients.models import Segment

    segment = Segment.objects.create(
        code="coffee", name="Coffee", model_r=0.5, model_alpha=10, model_a=0.8, model_b=2.5
    )
    client = lost_client(segment=segment)
    cases_open_for_lost(as_of=AS_OF, client_ids=[client.pk])
    case = Case.objects.get(client=client)
    assert float(case.potential_value) * 0.5 <= case.priority < float(case.potential_value)


@pytest.mark.django_db
def test_yearly_churn_is_measured_from_the_base():
    for index in range(40):
        client = ClientFactory()
        TransactionFactory(client=client, date=AS_OF - dt.timedelta(days=600))
        if index % 4:  # three in four bought again in the last year
            TransactionFactory(client=client, date=AS_OF - dt.timedelta(days=100))
    refresh_clients(client_ids=None, as_of=AS_OF)
    assert measure_yearly_churn(as_of=AS_OF) == pytest.approx(0.25)


@pytest.mark.django_db
def test_yearly_churn_on_too_small_a_base_is_the_default():
    lost_client()
    assert measure_yearly_churn(as_of=AS_OF) == DEFAULT_YEARLY_CHURN


@pytest.mark.django_db
def test_the_exclusion_is_shown_on_the_client_card(owner, login):
    client = lost_client(do_not_contact=True)
    cases_open_for_lost(as_of=AS_OF, client_ids=[client.pk])

    response = login(owner).get(reverse("client_detail", args=[client.pk]))

    assert response.status_code == 200
    assert str(QueueExclusion.Reason.DO_NOT_CONTACT.label) in response.content.decode()
