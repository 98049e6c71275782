"""Fitting the model per segment, the fit_model command's contract, and P(alive) on the card."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from clients.models import Client, Segment, Transaction
from clients.stats import rebuild_stats, refresh_clients, refresh_clients_orm
from reactivation import bgnbd
from reactivation.models import Policy
from reactivation.policies import cycle_priors
from reactivation.selectors.model import NO_MODEL_NOTE, client_estimate, estimates
from reactivation.services.admin import policy_save
from tests.factories import ClientFactory, SegmentFactory, TransactionFactory

UNTIL = dt.date(2026, 11, 23)


def simulated_segment(code: str | None, customers: int = 300) -> Segment | None:
    """Clients whose purchase days follow an MBG/NBD process (alpha in days); code None: clients
    without a segment."""
    segment = SegmentFactory(code=code) if code else None
    truth = bgnbd.Params(r=0.6, alpha=25.0, a=0.8, b=3.0)
    x, t_x, _T = bgnbd.simulate(truth, customers=customers, T=365, seed=5)
    rng = np.random.default_rng(5)
    rows = []
    for count, recency in zip(x.astype(int), t_x, strict=True):
        client = ClientFactory(segment=segment)
        first = UNTIL - dt.timedelta(days=365)
        offsets = {0, int(recency)} | set(
            rng.integers(1, max(int(recency), 1), size=max(count - 1, 0)).tolist()
        )
        for offset in sorted(offsets)[: count + 1]:
            rows.append(
                Transaction(
                    client=client,
                    identity=f"sim:{client.pk}:{offset}",
                    date=first + dt.timedelta(days=offset),
                    amount=1000,
                )
            )
    Transaction.objects.bulk_create(rows)
    refresh_clients(client_ids=None, as_of=UNTIL)
    return segment


@pytest.mark.django_db
def test_fit_model_prints_the_json_contract_and_applies_only_when_asked(capsys):
    segment = simulated_segment("coffee")

    call_command("fit_model", "--segment", "coffee", "--until", UNTIL.isoformat(), "--json")

    payload = json.loads(capsys.readouterr().out.strip())
    assert set(payload) == {"segment", "r", "alpha", "a", "b", "clients"}
    assert payload["segment"] == "coffee" and payload["clients"] == 300
    assert all(payload[name] > 0 for name in ("r", "alpha", "a", "b"))
    segment.refresh_from_db()
    assert not segment.has_model

    call_command("fit_model", "--segment", "coffee", "--until", UNTIL.isoformat(), "--apply")

    segment.refresh_from_db()
    assert segment.has_model
    assert segment.model_r == pytest.approx(payload["r"])
    assert (segment.model_clients, segment.model_fitted_until) == (300, UNTIL)


@pytest.mark.django_db
def test_a_segment_with_too_little_data_gets_a_note_not_numbers(capsys):
    segment = SegmentFactory(code="tiny")
    client = ClientFactory(segment=segment)
    TransactionFactory(client=client, date=UNTIL - dt.timedelta(days=3))

    call_command("fit_model", "--segment", "tiny", "--json")

    payload = json.loads(capsys.readouterr().out.strip())
    assert payload["r"] is None and payload["clients"] == 1
    assert "customers" in payload["note"]


@pytest.mark.django_db
def test_fit_model_refuses_an_unknown_segment_and_a_bad_date():
    SegmentFactory(code="coffee")
    with pytest.raises(CommandError, match="No segment"):
        call_command("fit_model", "--segment", "tea")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("fit_model", "--until", "23.11.2026")


@pytest.mark.django_db
def test_estimates_need_a_fitted_segment_and_a_purchase():
    fitted = SegmentFactory(code="fitted")
    Segment.objects.filter(pk=fitted.pk).update(
        model_r=0.6, model_alpha=25.0, model_a=0.8, model_b=3.0
    )
    fitted.refresh_from_db()
    regular = ClientFactory(segment=fitted)
    for days_ago in (300, 200, 100, 10):
        TransactionFactory(client=regular, date=UNTIL - dt.timedelta(days=days_ago))
    gone = ClientFactory(segment=fitted)
    for days_ago in (360, 350, 340):
        TransactionFactory(client=gone, date=UNTIL - dt.timedelta(days=days_ago))
    unfitted = ClientFactory(segment=SegmentFactory(code="plain"))
    TransactionFactory(client=unfitted, date=UNTIL - dt.timedelta(days=10))
    never = ClientFactory(segment=fitted)
    refresh_clients(client_ids=None, as_of=UNTIL)

    result = estimates(
        type(regular)
        .objects.select_related("segment")
        .filter(pk__in=[regular.pk, gone.pk, unfitted.pk, never.pk]),
        UNTIL,
    )

    assert 0 < result[gone.pk].p_alive < result[regular.pk].p_alive <= 1
    assert result[regular.pk].expected_purchases > result[gone.pk].expected_purchases > 0
    assert result[unfitted.pk].p_alive is None and result[unfitted.pk].note == str(NO_MODEL_NOTE)
    assert result[never.pk].p_alive is None


@pytest.mark.django_db
def test_the_client_card_shows_p_alive_or_why_not(owner, login):
    fitted = SegmentFactory(code="fitted")
    Segment.objects.filter(pk=fitted.pk).update(
        model_r=0.6, model_alpha=25.0, model_a=0.8, model_b=3.0
    )
    client = ClientFactory(segment=fitted)
    TransactionFactory(client=client, date=dt.date.today() - dt.timedelta(days=20))
    TransactionFactory(client=client, date=dt.date.today() - dt.timedelta(days=5))
    other = ClientFactory()
    TransactionFactory(client=other, date=dt.date.today() - dt.timedelta(days=5))
    refresh_clients(client_ids=None, as_of=dt.date.today())
    client.refresh_from_db()
    percent = round(100 * client_estimate(client, dt.date.today()).p_alive)

    page = login(owner).get(reverse("client_detail", args=[client.pk])).content.decode()
    other_page = login(owner).get(reverse("client_detail", args=[other.pk])).content.decode()

    assert f"{percent}%" in page
    assert str(NO_MODEL_NOTE) in other_page


def one_time_buyer(segment: Segment | None) -> Client:
    client = ClientFactory(segment=segment)
    TransactionFactory(client=client, date=UNTIL - dt.timedelta(days=20))
    refresh_clients(client_ids=[client.pk], as_of=UNTIL)
    return Client.objects.select_related("stats").get(pk=client.pk)


@pytest.mark.django_db
def test_applying_a_fit_gives_one_time_buyers_the_fitted_typical_gap_and_a_pin_brings_back_the_typed():
    segment = simulated_segment("coffee")
    buyer = one_time_buyer(segment)
    assert buyer.stats.cycle_days == pytest.approx(30.0)  # no fit yet: the typed default

    call_command("fit_model", "--segment", "coffee", "--until", UNTIL.isoformat(), "--apply")

    segment.refresh_from_db()
    buyer.stats.refresh_from_db()
    fitted = segment.model_alpha / segment.model_r
    assert fitted != pytest.approx(30.0)
    assert buyer.stats.cycle_days == pytest.approx(fitted)  # re-statused on apply
    # The full rebuild computes the same.
    rebuild_stats(as_of=UNTIL)
    buyer.stats.refresh_from_db()
    assert buyer.stats.cycle_days == pytest.approx(fitted)
    prior = cycle_priors()[segment.pk]
    assert (prior.source, prior.fitted_cycle, prior.typed_cycle) == ("fitted", fitted, 30.0)

    # The admin pins the typed prior: the typed 30 days come back.
    policy = Policy.objects.get(segment=None)
    policy.cycle_prior = Policy.CyclePrior.TYPED
    policy_save(policy=policy, user=None, as_of=UNTIL)
    buyer.stats.refresh_from_db()
    assert buyer.stats.cycle_days == pytest.approx(30.0)
    assert cycle_priors()[segment.pk].source == "typed"


@pytest.mark.django_db
def test_fit_model_without_a_segment_fits_every_segment_and_the_clients_without_one(capsys):
    simulated_segment("coffee")
    simulated_segment(None, customers=200)
    buyer = one_time_buyer(None)

    call_command("fit_model", "--until", UNTIL.isoformat(), "--json")

    payloads = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [p["segment"] for p in payloads] == ["coffee", None]
    assert payloads[1]["clients"] == 201 and payloads[1]["r"] > 0
    default = Policy.objects.get(segment=None)
    assert not default.has_model  # shown, not applied

    call_command("fit_model", "--until", UNTIL.isoformat(), "--apply")

    default.refresh_from_db()
    assert default.has_model and default.model_clients == 201
    assert default.model_r == pytest.approx(payloads[1]["r"])
    buyer.stats.refresh_from_db()
    assert buyer.stats.cycle_days == pytest.approx(default.model_alpha / default.model_r)
    estimate = client_estimate(Client.objects.get(pk=buyer.pk), UNTIL)
    assert estimate.p_alive is not None  # P(alive) from the fit of the clients without a segment


@pytest.mark.django_db
def test_the_set_wise_statistics_and_the_reference_path_agree_with_the_fitted_prior():
    segment = simulated_segment("coffee")
    for _ in range(5):
        one_time_buyer(segment)
    call_command("fit_model", "--segment", "coffee", "--until", UNTIL.isoformat(), "--apply")
    rebuild_stats(as_of=UNTIL)  # the SQL path, with the fitted prior

    # The per-client reference path (Python rules) finds nothing to change.
    assert refresh_clients_orm(client_ids=None, as_of=UNTIL) == 0


@pytest.mark.django_db
def test_the_weekly_run_fits_what_has_no_fit_yet_and_refits_only_on_request():
    from reactivation.services.modelfit import models_refit

    unfitted = simulated_segment("coffee")
    pinned = SegmentFactory(code="tea", model_r=0.5, model_alpha=10.0, model_a=0.8, model_b=2.5)
    simulated_segment(None, customers=100)

    fits = models_refit(until=UNTIL)

    assert [fit.segment for fit in fits] == ["coffee", None]
    unfitted.refresh_from_db()
    pinned.refresh_from_db()
    assert unfitted.has_model and unfitted.model_fitted_until == UNTIL
    assert pinned.model_alpha == 10.0  # fitted once already, no weekly refit asked: kept
    assert Policy.objects.get(segment=None).has_model
    assert models_refit(until=UNTIL) == []  # everything has a fit now


@pytest.mark.django_db
def test_the_sql_caps_a_fitted_strength_as_the_rule_does():
    segment = SegmentFactory(code="furniture", model_r=1500.0, model_alpha=900_000.0)
    segment.model_a, segment.model_b = 0.01, 500.0
    segment.save()
    client = ClientFactory(segment=segment)
    for days_ago in (700, 400, 300):  # gaps of 300 and 100 days
        TransactionFactory(client=client, date=UNTIL - dt.timedelta(days=days_ago))
    rebuild_stats(as_of=UNTIL)

    client = Client.objects.select_related("stats").get(pk=client.pk)
    # (600 x 10 + 400) / (10 + 3 - 1): the strength capped at 10, the typical gap 600 days.
    assert client.stats.cycle_days == pytest.approx(6400 / 12)
    assert refresh_clients_orm(client_ids=None, as_of=UNTIL) == 0


@pytest.mark.django_db
def test_a_first_rebuild_fits_the_segments_without_a_fit_so_one_time_buyers_get_the_fitted_cycle(
    capsys,
):
    segment = simulated_segment("coffee")
    pinned = SegmentFactory(code="tea", model_r=0.5, model_alpha=10.0, model_a=0.8, model_b=2.5)
    buyer = one_time_buyer(segment)
    assert buyer.stats.cycle_days == pytest.approx(30.0)  # no fit yet: the typed default

    call_command("rebuild_stats", "--as-of", UNTIL.isoformat())

    segment.refresh_from_db()
    pinned.refresh_from_db()
    buyer.stats.refresh_from_db()
    assert segment.has_model and segment.model_fitted_until == UNTIL
    assert buyer.stats.cycle_days == pytest.approx(segment.model_alpha / segment.model_r)
    assert pinned.model_alpha == 10.0  # a segment fitted already is left alone
    assert "Fitted coffee on 301 clients" in capsys.readouterr().out  # with the one-time buyer


@pytest.mark.django_db
def test_rebuild_stats_no_fit_keeps_the_typed_cycle():
    segment = simulated_segment("coffee")
    buyer = one_time_buyer(segment)
    call_command("rebuild_stats", "--as-of", UNTIL.isoformat(), "--no-fit")
    segment.refresh_from_db()
    buyer.stats.refresh_from_db()
    assert not segment.has_model
    assert buyer.stats.cycle_days == pytest.approx(30.0)
