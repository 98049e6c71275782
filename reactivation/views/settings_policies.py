"""Policies per segment, with a live preview of what the thresholds would do now and a backtest
of what they would have done on a past date; and the fitted model parameters per segment.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from clients.models import Client, Segment
from clients.tally import status_counts
from reactivation.models import Policy
from reactivation.policies import cycle_prior, cycle_priors, policy_for_segments
from reactivation.roles import admin_required
from reactivation.services import admin as services
from reactivation.services import backlog
from reactivation.settings_forms import BacktestForm, ModelFitForm, PolicyCreateForm, PolicyForm
from reactivation.views.settings import _errors_to_form

BACKTEST_DEFAULT_DAYS = 60
BACKTEST_DEFAULT_LOOKBACK_DAYS = 90


@admin_required
def settings_policies(request: HttpRequest) -> HttpResponse:
    policies = policy_for_segments()
    # Clients per segment and status from the status tally (no count of the whole base).
    counts: dict[int | None, dict[str, int]] = defaultdict(lambda: {"total": 0})
    for (segment_id, status), clients in status_counts().items():
        counts[segment_id]["total"] += clients
        counts[segment_id][status] = clients
    priors = cycle_priors()
    rows = [
        {
            "segment": None,
            "policy": policies[None],
            "counts": counts.get(None, {}),
            "own": True,
            "prior": priors[None],
        }
    ]
    for segment in Segment.objects.order_by("name"):
        own = segment.pk in policies
        rows.append(
            {
                "segment": segment,
                "policy": policies.get(segment.pk) or policies[None],
                "counts": counts.get(segment.pk, {}),
                "own": own,
                "prior": priors.get(segment.pk),
            }
        )
    context = {"rows": rows, "create_form": PolicyCreateForm(), "backlog": backlog.backlog_count()}
    return render(request, "reactivation/settings/policies.html", context)


@require_POST
@admin_required
def settings_backlog(request: HttpRequest) -> HttpResponse:
    """Judge the clients who were lost before the engine ever judged them (in the background)."""
    from reactivation.tasks import backlog_queue_task

    count = backlog.backlog_count()
    if not count:
        messages.info(request, _("Every lost client has been judged already."))
        return redirect("settings_policies")
    transaction.on_commit(lambda: backlog_queue_task.delay(timezone.localdate().isoformat()))
    messages.success(
        request,
        _(
            "%(count)s lost clients are being judged: the queue fills with their cases as it "
            "goes, and the client cards say why the others stay out."
        )
        % {"count": intcomma(count)},
    )
    return redirect("settings_policies")


@require_POST
@admin_required
def settings_policy_create(request: HttpRequest) -> HttpResponse:
    """A segment gets its own policy, starting from a copy of the default one."""
    form = PolicyCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Pick a segment that has no policy of its own yet."))
        return redirect("settings_policies")
    default = Policy.objects.filter(segment__isnull=True).first() or Policy(segment=None)
    policy = Policy(segment=form.cleaned_data["segment"])
    for name in PolicyForm.Meta.fields:
        setattr(policy, name, getattr(default, name))
    try:
        services.policy_save(policy=policy, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("settings_policies")
    messages.success(request, _("The segment now has its own policy; adjust its thresholds."))
    return redirect("settings_policy_edit", policy_id=policy.pk)


def _unsaved_policy(policy: Policy, data: Any) -> tuple[PolicyForm, Policy | None]:
    """The policy as typed, not saved: for the preview and the backtest."""
    candidate = Policy.objects.get(pk=policy.pk)
    form = PolicyForm(data, instance=candidate)
    if not form.is_valid():
        return form, None
    return form, form.instance


def _preview(policy: Policy) -> Any:
    from reactivation.backtest import policy_preview

    return policy_preview(policy=policy)


def _backtest(policy: Policy, form: BacktestForm) -> Any:
    from reactivation.backtest import backtest

    data = form.cleaned_data
    return backtest(policy=policy, as_of=data["as_of"], days=data["days"], window=data["window"])


def _prior(policy: Policy) -> Any:
    """The cycle prior this policy uses for its own segment's clients (the default policy: for
    the clients without a segment), with the fitted and the typed candidates."""
    holder = policy.segment if policy.segment_id else policy_for_segments()[None]
    return cycle_prior(policy, holder)


def _backtest_form(data: Any) -> BacktestForm:
    if data is not None and "as_of" in data:
        return BacktestForm(data)
    today = timezone.localdate()
    return BacktestForm(
        {
            "as_of": (today - dt.timedelta(days=BACKTEST_DEFAULT_LOOKBACK_DAYS)).isoformat(),
            "days": BACKTEST_DEFAULT_DAYS,
            "window": 7,
        }
    )


@admin_required
def settings_policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = get_object_or_404(Policy.objects.select_related("segment"), pk=policy_id)
    backtest_form = _backtest_form(request.GET)
    if request.method == "POST":
        form, candidate = _unsaved_policy(policy, request.POST)
        if candidate is not None and "preview" not in request.POST:
            try:
                services.policy_save(policy=candidate, user=request.user)
            except ValidationError as error:
                _errors_to_form(form, error)
            else:
                messages.success(
                    request, _("Policy saved; client statuses follow the new thresholds.")
                )
                return redirect("settings_policy_edit", policy_id=policy.pk)
        shown = candidate if candidate is not None and not form.errors else policy
    else:
        form, shown = PolicyForm(instance=policy), policy
    context = {
        "policy": policy,
        "form": form,
        "preview": _preview(shown),
        "backtest_form": backtest_form,
        "backtest": _backtest(shown, backtest_form) if backtest_form.is_valid() else None,
        "prior": _prior(shown),
        "previewing_unsaved": request.method == "POST",
    }
    return render(request, "reactivation/settings/policy_form.html", context)


@admin_required
@vary_on_headers("HX-Request")
def settings_policy_preview(request: HttpRequest, policy_id: int) -> HttpResponse:
    """The live preview for the thresholds typed so far (nothing is saved)."""
    policy = get_object_or_404(Policy, pk=policy_id)
    form, candidate = _unsaved_policy(policy, request.GET)
    context = {
        "policy": policy,
        "form": form,
        "preview": _preview(candidate) if candidate else None,
    }
    return render(request, "reactivation/settings/policy_form.html#preview", context)


@admin_required
@vary_on_headers("HX-Request")
def settings_policy_backtest(request: HttpRequest, policy_id: int) -> HttpResponse:
    """The backtest of the thresholds typed so far, for the date and window asked."""
    policy = get_object_or_404(Policy, pk=policy_id)
    form, candidate = _unsaved_policy(policy, request.GET)
    backtest_form = _backtest_form(request.GET)
    result = None
    if candidate is not None and backtest_form.is_valid():
        result = _backtest(candidate, backtest_form)
    context = {"policy": policy, "form": form, "backtest_form": backtest_form, "backtest": result}
    return render(request, "reactivation/settings/policy_form.html#backtest", context)


# --- Fitted model parameters -------------------------------------------------------------------
UNSEGMENTED = 0  # the models page's key of the clients without a segment


def _fit_segment(segment_id: int) -> Segment | None:
    if segment_id == UNSEGMENTED:
        return None
    return get_object_or_404(Segment, pk=segment_id)


def _fit_name(segment: Segment | None) -> str:
    return segment.name if segment is not None else _("clients without a segment")


@admin_required
def settings_models(request: HttpRequest) -> HttpResponse:
    segments = Segment.objects.annotate(clients_count=Count("clients")).order_by("name")
    fits = request.session.get("model_fits", {})
    rows = [{"segment": s, "key": s.pk, "holder": s, "fit": fits.get(str(s.pk))} for s in segments]
    # The clients without a segment are a segment of their own: their fit lives on the default
    # policy; their row's key is 0.
    unsegmented = Client.objects.filter(segment__isnull=True).count()
    if unsegmented:
        rows.append(
            {
                "segment": None,
                "key": UNSEGMENTED,
                "holder": policy_for_segments()[None],
                "clients": unsegmented,
                "fit": fits.get(str(UNSEGMENTED)),
            }
        )
    return render(
        request,
        "reactivation/settings/models.html",
        {"rows": rows, "fit_form": ModelFitForm(request.GET or None)},
    )


@require_POST
@admin_required
def settings_model_fit(request: HttpRequest, segment_id: int) -> HttpResponse:
    """Fit the segment's parameters for review; nothing is applied until the admin says so."""
    from reactivation.services.modelfit import model_fit

    segment = _fit_segment(segment_id)
    form = ModelFitForm(request.POST)
    until = form.cleaned_data.get("until") if form.is_valid() else None
    fit = model_fit(segment=segment, until=until or timezone.localdate())
    fits = request.session.get("model_fits", {})
    fits[str(segment_id)] = fit.as_json()
    request.session["model_fits"] = fits
    if not fit.ok:
        messages.warning(
            request,
            _("Too little data in %(segment)s to fit a model; the rule alone applies.")
            % {"segment": _fit_name(segment)},
        )
    return redirect("settings_models")


@require_POST
@admin_required
def settings_model_apply(request: HttpRequest, segment_id: int) -> HttpResponse:
    """Apply the fit the admin reviewed (kept in their session), not a fresh one."""
    from reactivation.services.modelfit import SegmentFit, model_apply

    segment = _fit_segment(segment_id)
    fits = request.session.get("model_fits", {})
    data = fits.get(str(segment_id))
    if not data or data.get("r") is None:
        messages.error(request, _("Fit the segment first, then apply what you reviewed."))
        return redirect("settings_models")
    fit = SegmentFit(**{**data, "until": dt.date.fromisoformat(data["until"])})
    model_apply(segment=segment, fit=fit)
    fits.pop(str(segment_id), None)
    request.session["model_fits"] = fits
    messages.success(
        request,
        _(
            "Model parameters applied to %(segment)s; one-time buyers' cycles follow the fitted "
            "prior unless the policy pins the typed one."
        )
        % {"segment": _fit_name(segment)},
    )
    return redirect("settings_models")
