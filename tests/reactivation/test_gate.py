"""The queue gate: who gets a case, every exclusion reason, the control draw, the value, the
measured uplift by P(alive) band and the expected gain that orders the queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from clients.models import Client
from clients.stats import refresh_clients
from reactivation.models import Case, Policy, QueueExclusion
from reactivation.services.gate import (
    BASE,
    DEFAULT_YEARLY_CHURN,
    band_of,
    cases_open_for_lost,
    control_draw,
    figures_from_counts,
    gate_context,
    measure_uplift_bands,
    measure_value_figures,
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
    # A base this small measures nothing: 1 purchase a year and churn 0.3 (1 / 0.3 years).
    # 1000 x 30% margin a purchase x 1 x 3.33 years = 1000; a call buys the policy's prior 10%
    # extra return share and costs 50: 1000 x 0.1 - 50 = 50.
    assert case.potential_value == Decimal("1000.00")
    assert case.priority == pytest.approx(50)
    assert case.p_alive is None  # no fitted model
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
def test_a_client_whose_call_would_not_pay_is_excluded_with_the_sum():
    OfferTemplateFactory(cost=Decimal("300"))
    cheap = lost_client(amount="20")  # value 20: 20 x 0.1 - 350 < 0
    worth_it = lost_client(amount="5000")  # value 5000: 5000 x 0.1 - 350 = 150

    cases_open_for_lost(as_of=AS_OF, client_ids=[cheap.pk, worth_it.pk])

    assert exclusion_of(cheap).reason == QueueExclusion.Reason.LOW_VALUE
    assert exclusion_of(cheap).detail == "20.00 x 0.100 - 350.00 = -348.00"
    assert Case.objects.get(client=worth_it).priority == pytest.approx(150)


@pytest.mark.django_db
def test_the_queue_order_is_the_expected_gain_not_the_value():
    """Two clients of equal value: the one in the band where calls measurably work goes first."""
    segment_model = {"model_r": 0.5, "model_alpha": 10.0, "model_a": 0.8, "model_b": 2.5}
    from clients.models import Segment

    segment = Segment.objects.create(code="coffee", name="Coffee", **segment_model)
    regular = lost_client(segment=segment)
    one_time = lost_client()  # no model: band "none"
    # The control group measured, in band "none", a 40% extra return share of a call.
    _measured_cases(band_p_alive=None, called=(30, 18), control=(30, 6))

    cases_open_for_lost(as_of=AS_OF, client_ids=[regular.pk, one_time.pk])

    first, second = Case.objects.filter(opened_on=AS_OF).order_by("-priority")
    assert first.client == one_time and second.client == regular
    assert first.potential_value == second.potential_value
    assert first.priority == pytest.approx(float(first.potential_value) * 0.4 - 50)
    assert second.p_alive is not None  # its P(alive) band had no measurement: the prior 10%
    assert second.priority == pytest.approx(float(second.potential_value) * 0.1 - 50)


def _measured_cases(*, band_p_alive, called: tuple[int, int], control: tuple[int, int]):
    """Closed cases whose 60-day window has ended, of which the given numbers bought in it."""
    opened = AS_OF - dt.timedelta(days=100)
    for is_control, (cases, returned) in ((False, called), (True, control)):
        for index in range(cases):
            client = ClientFactory()
            CaseFactory(
                client=client,
                opened_on=opened,
                is_control=is_control,
                p_alive=band_p_alive,
                status="control" if is_control else "expired",
                closed_on=opened + dt.timedelta(days=60),
            )
            TransactionFactory(client=client, date=opened - dt.timedelta(days=200))
            if index < returned:
                TransactionFactory(client=client, date=opened + dt.timedelta(days=30))
            elif index == returned:  # bought, but only after the window: not a return
                TransactionFactory(client=client, date=opened + dt.timedelta(days=61))


@pytest.mark.django_db
def test_the_uplift_is_measured_per_band_once_both_groups_have_enough_cases():
    _measured_cases(band_p_alive=0.3, called=(30, 15), control=(30, 6))
    _measured_cases(band_p_alive=0.9, called=(30, 20), control=(29, 1))  # too few controls

    bands = measure_uplift_bands(as_of=AS_OF)

    assert bands["0.2"].called_returned == 15 and bands["0.2"].control_returned == 6
    assert bands["0.2"].uplift == pytest.approx(0.5 - 0.2)
    assert bands["0.8"].uplift is None
    context = gate_context(as_of=AS_OF, figures=[{"group": BASE, "start": 0}])
    assert context.uplift(None, 0.25) == (pytest.approx(0.3), True)
    assert context.uplift(None, 0.95) == (pytest.approx(0.1), False)  # the policy's prior
    assert context.uplift(None, None) == (pytest.approx(0.1), False)


def test_p_alive_bands():
    assert [band_of(p) for p in (None, 0.0, 0.19, 0.2, 0.5, 0.79, 0.8, 1.0)] == [
        "none",
        "0.0",
        "0.0",
        "0.2",
        "0.5",
        "0.5",
        "0.8",
        "0.8",
    ]


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
def test_value_figures_are_the_customers_own_retention_and_purchases():
    """40 customers a year ago (two purchases, 200 days apart: cycle 115 days, active then);
    three in four bought again 100 days ago and are still customers, one in four is lost now."""
    for index in range(40):
        client = ClientFactory()
        TransactionFactory(client=client, date=AS_OF - dt.timedelta(days=600))
        TransactionFactory(client=client, date=AS_OF - dt.timedelta(days=400))
        if index % 4:
            TransactionFactory(client=client, date=AS_OF - dt.timedelta(days=100))

    figures = {row["group"]: row for row in measure_value_figures(as_of=AS_OF)}

    assert figures[BASE] == {
        "group": BASE,
        "start": 40,
        "retained": 30,
        "purchase_days": 30,
        "customers": 40,
    }
    value = figures_from_counts(figures[BASE])
    assert value.yearly_churn == pytest.approx(0.25)  # 1 - retention 30 / 40
    assert value.lifetime_years == pytest.approx(4.0)
    assert value.purchases_per_year == pytest.approx(0.75)  # not 365 / cycle
    assert value.measured


@pytest.mark.django_db
def test_value_figures_of_too_small_a_base_are_the_defaults():
    lost_client()
    figures = {row["group"]: row for row in measure_value_figures(as_of=AS_OF)}
    value = figures_from_counts(figures[BASE])
    assert value.yearly_churn == DEFAULT_YEARLY_CHURN and not value.measured


@pytest.mark.django_db
def test_the_exclusion_is_shown_on_the_client_card(owner, login):
    client = lost_client(do_not_contact=True)
    cases_open_for_lost(as_of=AS_OF, client_ids=[client.pk])

    response = login(owner).get(reverse("client_detail", args=[client.pk]))

    assert response.status_code == 200
    assert str(QueueExclusion.Reason.DO_NOT_CONTACT.label) in response.content.decode()


@pytest.mark.django_db
def test_abc_by_margin_ranks_by_the_gates_margin():
    """One client with an imported margin on one line only, one with none: the class follows the
    margin the gate values (imported margin where there is any, else revenue x margin rate)."""
    from reactivation.models import BusinessSettings
    from reactivation.services.abc import abc_recompute

    settings_row = BusinessSettings.load()
    settings_row.abc_by_margin = True
    settings_row.abc_a_share = 0.5
    settings_row.save()
    partly = ClientFactory()
    day = AS_OF - dt.timedelta(days=10)
    TransactionFactory(client=partly, date=day, amount=Decimal("1000"), margin=Decimal("100"))
    TransactionFactory(client=partly, date=day, amount=Decimal("1000"), margin=None)
    plain = ClientFactory()
    TransactionFactory(client=plain, date=day, amount=Decimal("1000"))  # 1000 x 0.3 = 300

    abc_recompute(as_of=AS_OF)

    partly.refresh_from_db()
    plain.refresh_from_db()
    # The gate values "partly" at its imported margin 100, "plain" at 300: "plain" is A, and
    # "partly" has 300 of 400 above it, past A + B (65%). Line by line "partly" would be 400.
    assert (plain.abc_class, partly.abc_class) == ("A", "C")


@pytest.mark.django_db
def test_the_weekly_record_carries_the_bands_and_the_nights_reuse_them():
    _measured_cases(band_p_alive=None, called=(30, 18), control=(30, 6))
    record = measure_value_figures(as_of=AS_OF)
    Case.objects.all().delete()  # a night must not read the cases again

    context = gate_context(as_of=AS_OF, figures=record)

    assert context.uplift(None, None) == (pytest.approx(0.6 - 0.2), True)
