"""The policy page: live preview and backtest counts against a known base, saving, validation,
and the fitted model review."""

from __future__ import annotations

import datetime as dt
import random
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from clients import stats
from clients.models import Client, Segment
from reactivation.models import ERR_FLAG_NOT_ABOVE_SLEEPING, Policy
from tests.factories import ClientFactory, SegmentFactory, TransactionFactory

TODAY = dt.date(2026, 11, 20)
FIELDS = [
    "sleeping_after",
    "flag_after",
    "cycle_prior",
    "default_cycle_days",
    "prior_strength",
    "min_cycle_days",
    "max_cycle_days",
    "excluded_classes",
    "cooldown_days",
    "cost_per_call",
    "prior_uplift",
    "case_lifetime_days",
    "attempt_cap",
    "control_share",
]


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def policy(db):
    return Policy.objects.get(segment__isnull=True)


def _figure(response, name: str) -> int:
    """The number shown in the element marked ``data-testid=name`` (fragments carry no context)."""
    match = re.search(rf'data-testid="{name}">([\d\s\xa0,]+)<', response.content.decode())
    assert match, name
    return int(re.sub(r"\D", "", match.group(1)))


def _data(policy, **changes):
    data = {name: getattr(policy, name) for name in FIELDS}
    data.update(changes)
    return data


def _buyer(days_ago: int, *, name: str, margin: str = "0") -> Client:
    """A client with one purchase ``days_ago`` days before today: their cycle is the default
    policy's 30 days, so 30 days is the sleeping line and 90 the lost line."""
    day = TODAY - dt.timedelta(days=days_ago)
    client = ClientFactory(name=name)
    TransactionFactory(client=client, date=day, amount=Decimal("1000"), margin=Decimal(margin))
    return client


@pytest.fixture
def base(db):
    """Active (20 days), sleeping (50), lost (100), and one at 70 days: sleeping under the
    default 3 cycles, lost under 2 cycles, and worth a call (high margin)."""
    clients = {
        "active": _buyer(20, name="Active"),
        "sleeping": _buyer(50, name="Sleeping"),
        "lost": _buyer(100, name="Lost"),
        "borderline": _buyer(70, name="Borderline", margin="100000"),
    }
    stats.refresh_clients(client_ids=[c.pk for c in clients.values()], as_of=TODAY)
    return clients


def test_the_page_shows_the_preview_of_the_saved_thresholds(login, admin_user, policy, base):
    response = login(admin_user).get(reverse("settings_policy_edit", args=[policy.pk]))
    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.active, preview.sleeping, preview.lost) == (1, 2, 1)
    assert preview.newly_lost == 0


def test_the_live_preview_and_the_backtest_keep_the_form_token_out_of_their_urls(
    login, admin_user, policy, base
):
    """Their GETs carry the form's fields; the CSRF token would land in URLs and server logs."""
    body = login(admin_user).get(reverse("settings_policy_edit", args=[policy.pk])).content
    gets = re.findall(rb"<form[^>]*hx-get=[^>]*>", body)
    assert len(gets) == 2
    assert all(b'hx-params="not csrfmiddlewaretoken"' in form for form in gets)


def test_the_live_preview_counts_the_typed_thresholds_without_saving(
    login, admin_user, policy, base
):
    response = login(admin_user).get(
        reverse("settings_policy_preview", args=[policy.pk]),
        _data(policy, flag_after="2.0"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["Vary"] and "HX-Request" in response["Vary"]
    assert _figure(response, "preview-lost") == 2
    assert _figure(response, "preview-sleeping") == 1
    assert _figure(response, "preview-queue") == 1  # the borderline client, newly lost
    assert "<html" not in response.content.decode()
    policy.refresh_from_db()
    assert policy.flag_after == 3.0


def test_the_preview_reports_invalid_thresholds(login, admin_user, policy, base):
    response = login(admin_user).get(
        reverse("settings_policy_preview", args=[policy.pk]),
        _data(policy, flag_after="0.5"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'data-testid="preview-lost"' not in response.content.decode()
    assert str(ERR_FLAG_NOT_ABOVE_SLEEPING) in response.content.decode()


def test_saving_rejudges_the_clients_at_once(login, admin_user, policy, base):
    response = login(admin_user).post(
        reverse("settings_policy_edit", args=[policy.pk]), _data(policy, flag_after="2.0")
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.flag_after == 2.0
    base["borderline"].refresh_from_db()
    assert base["borderline"].status == "lost"


def test_an_invalid_policy_is_not_saved_and_keeps_what_was_typed(login, admin_user, policy, base):
    response = login(admin_user).post(
        reverse("settings_policy_edit", args=[policy.pk]),
        _data(policy, flag_after="0.5", cooldown_days="45"),
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert str(ERR_FLAG_NOT_ABOVE_SLEEPING) in body
    assert 'value="45"' in body
    policy.refresh_from_db()
    assert (policy.flag_after, policy.cooldown_days) == (3.0, 90)


def test_preview_without_saving_as_a_plain_form_post(login, admin_user, policy, base):
    response = login(admin_user).post(
        reverse("settings_policy_edit", args=[policy.pk]),
        {**_data(policy, flag_after="2.0"), "preview": "1"},
    )
    assert response.status_code == 200
    assert response.context["preview"].lost == 2
    policy.refresh_from_db()
    assert policy.flag_after == 3.0


@pytest.fixture
def history(db):
    """On 1 June 2026, under the default policy (cycle 30 days, lost from the 91st day): three
    clients became lost in the week before (last seen 93, 92 and 91 days before), one was lost
    long before. One buys again within 60 days, one only later, one never; one is active and
    never buys again (a miss)."""
    plan = {
        "within": [dt.date(2026, 2, 28), dt.date(2026, 6, 20)],
        "later": [dt.date(2026, 3, 1), dt.date(2026, 9, 1)],
        "never": [dt.date(2026, 3, 2)],
        "long lost": [dt.date(2026, 1, 2)],
        "active": [dt.date(2026, 5, 20)],
    }
    for name, days in plan.items():
        client = ClientFactory(name=name)
        for day in days:
            TransactionFactory(client=client, date=day, amount=Decimal("500"))
    return plan


def test_the_backtest_counts_who_came_back_on_their_own(login, admin_user, policy, history):
    response = login(admin_user).get(
        reverse("settings_policy_backtest", args=[policy.pk]),
        {**_data(policy), "as_of": "2026-06-01", "days": "60"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert _figure(response, "backtest-flagged") == 3
    assert _figure(response, "backtest-within") == 1
    assert _figure(response, "backtest-never") == 1
    assert _figure(response, "backtest-later") == 1
    assert _figure(response, "backtest-missed") == 1
    assert "33%" in response.content.decode()
    # Only the client who came back within 60 days (93 days since) is a positive; the rule
    # (fewer days since / cycle ranks higher) puts them above "long lost" (150) only, below
    # "later" (92), "never" (91) and "active" (12): 1 of 4 pairs.
    auc = re.search(r'data-testid="backtest-auc-rule">([\d.,]+)<', response.content.decode())
    assert float(auc.group(1).replace(",", ".")) == pytest.approx(0.25)
    assert 'data-testid="backtest-auc-model">—' in response.content.decode()  # too few to fit


def test_a_one_night_window_judges_only_the_client_lost_that_night(
    login, admin_user, policy, history
):
    response = login(admin_user).get(
        reverse("settings_policy_backtest", args=[policy.pk]),
        {**_data(policy), "as_of": "2026-06-01", "days": "60", "window": "1"},
        headers={"HX-Request": "true"},
    )
    assert _figure(response, "backtest-flagged") == 1  # last seen 2 March, lost on 1 June


def test_the_backtest_follows_the_typed_thresholds(login, admin_user, policy, history):
    # Lost after 3.05 cycles (from the 92nd day): on 1 June the client last seen on 2 March is
    # not lost yet.
    response = login(admin_user).get(
        reverse("settings_policy_backtest", args=[policy.pk]),
        {**_data(policy, flag_after="3.05"), "as_of": "2026-06-01", "days": "60"},
    )
    assert _figure(response, "backtest-flagged") == 2


def test_the_backtest_refuses_a_future_date(login, admin_user, policy, history):
    response = login(admin_user).get(
        reverse("settings_policy_backtest", args=[policy.pk]),
        {**_data(policy), "as_of": "2027-01-01", "days": "60"},
    )
    assert response.status_code == 200
    assert 'data-testid="backtest-flagged"' not in response.content.decode()
    assert (
        "Pick a date in the past" in response.content.decode()
        or "Выберите" in response.content.decode()
    )


def test_a_segment_gets_its_own_policy_from_the_default(login, admin_user, policy):
    segment = SegmentFactory(code="coffee")
    response = login(admin_user).post(reverse("settings_policy_create"), {"segment": segment.pk})
    created = Policy.objects.get(segment=segment)
    assert response.status_code == 302
    assert response["Location"] == reverse("settings_policy_edit", args=[created.pk])
    assert created.flag_after == policy.flag_after


def test_the_policies_page_counts_statuses_per_segment(
    login, admin_user, base, django_assert_max_num_queries
):
    user_client = login(admin_user)
    with django_assert_max_num_queries(12):
        response = user_client.get(reverse("settings_policies"))
    assert response.status_code == 200
    row = response.context["rows"][0]
    assert (row["counts"]["active"], row["counts"]["sleeping"], row["counts"]["lost"]) == (1, 2, 1)


@pytest.fixture
def coffee(db):
    """A segment with enough buyers and repeaters for the model fit."""
    segment = SegmentFactory(code="coffee", name="Coffee")
    rng = random.Random(7)
    for number in range(80):
        client = ClientFactory(segment=segment, name=f"Buyer {number}")
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 200))
        for _purchase in range(rng.randint(1, 8)):
            TransactionFactory(client=client, date=day, amount=Decimal("700"))
            day += dt.timedelta(days=rng.randint(10, 60))
            if day >= TODAY:
                break
    return segment


def test_the_model_is_fitted_for_review_then_applied(login, admin_user, coffee):
    user_client = login(admin_user)
    response = user_client.post(reverse("settings_model_fit", args=[coffee.pk]))
    assert response.status_code == 302
    coffee.refresh_from_db()
    assert not coffee.has_model  # reviewed first, applied only on request
    page = user_client.get(reverse("settings_models"))
    fit = page.context["rows"][0]["fit"]
    assert fit["r"] > 0 and fit["clients"] == 80
    response = user_client.post(reverse("settings_model_apply", args=[coffee.pk]))
    assert response.status_code == 302
    coffee.refresh_from_db()
    assert coffee.has_model
    assert coffee.model_r == pytest.approx(fit["r"])
    assert coffee.history.first().history_user == admin_user


def test_a_segment_with_too_little_data_is_not_applied(login, admin_user):
    segment = SegmentFactory(code="tiny")
    user_client = login(admin_user)
    user_client.post(reverse("settings_model_fit", args=[segment.pk]))
    response = user_client.post(reverse("settings_model_apply", args=[segment.pk]))
    assert response.status_code == 302
    segment.refresh_from_db()
    assert not segment.has_model
    assert Segment.objects.filter(model_r__isnull=False).count() == 0


def test_the_policy_page_shows_the_fitted_and_the_typed_cycle_and_the_pin_is_kept(
    login, admin_user, policy
):
    policy.model_r, policy.model_alpha, policy.model_a, policy.model_b = 0.5, 40.0, 0.8, 2.5
    policy.save()
    user_client = login(admin_user)

    page = user_client.get(reverse("settings_policy_edit", args=[policy.pk]))

    prior = page.context["prior"]
    assert (prior.source, prior.default_cycle, prior.fitted_cycle, prior.typed_cycle) == (
        "fitted",
        80.0,
        80.0,
        30.0,
    )
    assert 'data-testid="cycle-prior"' in page.content.decode()

    response = user_client.post(
        reverse("settings_policy_edit", args=[policy.pk]), _data(policy, cycle_prior="typed")
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.cycle_prior == "typed"
    page = user_client.get(reverse("settings_policy_edit", args=[policy.pk]))
    assert (page.context["prior"].source, page.context["prior"].default_cycle) == ("typed", 30.0)


def test_the_clients_without_a_segment_are_fitted_and_applied_as_a_segment_of_their_own(
    login, admin_user, policy
):
    rng = random.Random(3)
    for number in range(80):
        client = ClientFactory(name=f"Walk-in {number}")
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 200))
        for _purchase in range(rng.randint(1, 8)):
            TransactionFactory(client=client, date=day, amount=Decimal("700"))
            day += dt.timedelta(days=rng.randint(10, 60))
    user_client = login(admin_user)

    page = user_client.get(reverse("settings_models"))
    row = page.context["rows"][-1]
    assert (row["segment"], row["key"], row["clients"]) == (None, 0, 80)

    user_client.post(reverse("settings_model_fit", args=[0]))
    fit = user_client.get(reverse("settings_models")).context["rows"][-1]["fit"]
    assert fit["segment"] is None and fit["clients"] == 80
    response = user_client.post(reverse("settings_model_apply", args=[0]))

    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.has_model and policy.model_r == pytest.approx(fit["r"])


def test_the_policies_list_shows_the_cycle_in_use_with_its_source(login, admin_user, policy):
    coffee = SegmentFactory(code="coffee", model_r=0.5, model_alpha=40.0, model_a=0.8, model_b=2.5)

    response = login(admin_user).get(reverse("settings_policies"))

    rows = {row["segment"]: row for row in response.context["rows"]}
    assert (rows[None]["prior"].source, rows[None]["prior"].default_cycle) == ("typed", 30.0)
    fitted = rows[coffee]["prior"]
    assert (fitted.source, fitted.default_cycle, fitted.typed_cycle) == ("fitted", 80.0, 30.0)
