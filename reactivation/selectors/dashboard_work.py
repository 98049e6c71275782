"""The dashboard's panels of the managers' work, from the case, manager and reason activity
tables: the funnel, the uplift over the control group, the reasons and each manager against
plan (definitions: docs/metrics.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db.models import Min, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from calls.models import Reason
from clients.models import Segment
from reactivation import metrics
from reactivation.dashboard_forms import DashboardFilters
from reactivation.models import (
    BusinessSettings,
    CaseCohortDaily,
    ManagerDaily,
    ReasonDaily,
    WeeklyPlan,
)
from reactivation.roles import Role
from reactivation.selectors.dashboard_common import (
    COLOURS,
    PALETTE,
    Column,
    Panel,
    Table,
    months_between,
    pct,
)
from reactivation.selectors.dashboard_figures import PeriodFigures


def _cohort_totals(filters: DashboardFilters, *, by_manager: bool = True) -> dict[str, float]:
    """Sums of the case cohort table over the cases opened in the period (one query)."""
    rows = CaseCohortDaily.objects.filter(day__gte=filters.start, day__lte=filters.end)
    if filters.segment_id:
        rows = rows.filter(segment_id=filters.segment_id)
    if by_manager and filters.manager_id:
        rows = rows.filter(manager_id=filters.manager_id)
    fields = (
        "flagged",
        "contacted",
        "reached",
        "offered",
        "won",
        "control",
        "control_returned",
        "revenue_won_back",
        "offers_cost",
        "calls",
        "calls_cost",
    )
    totals = rows.aggregate(**{name: Sum(name) for name in fields})
    return {name: float(totals[name] or 0) for name in fields}


def funnel_panel(*, filters: DashboardFilters, settings: BusinessSettings) -> Panel:
    """Cases opened in the period (the control group aside): flagged, contacted, reached, offer
    issued, won back; revenue won back against the cost of the offers and calls."""
    totals = _cohort_totals(filters)
    counts = {
        key: int(totals[key]) for key in ("flagged", "contacted", "reached", "offered", "won")
    }
    labels = [_("Flagged"), _("Contacted"), _("Reached"), _("Offer issued"), _("Won back")]
    keys = ["flagged", "contacted", "reached", "offered", "won"]
    steps = metrics.funnel([counts[k] for k in keys])
    revenue, offers_cost = totals["revenue_won_back"], totals["offers_cost"]
    calls_made, calls_cost = int(totals["calls"]), totals["calls_cost"]
    cost = offers_cost + calls_cost
    table = Table(
        _("Reactivation funnel"),
        [
            Column(_("Step"), "text"),
            Column(_("Cases")),
            Column(_("Of the step before"), "percent"),
            Column(_("Of flagged"), "percent"),
        ],
        [
            [label, step.count, step.of_previous, step.of_first]
            for label, step in zip(labels, steps, strict=True)
        ],
    )
    money = Table(
        _("Revenue won back against cost"),
        [Column(_("Figure"), "text"), Column(_("Amount"), "money")],
        [
            [
                _("Revenue won back (%(days)s days after each win)")
                % {"days": settings.won_back_window_days},
                revenue,
            ],
            [_("Cost of redeemed offers"), offers_cost],
            [_("Cost of calls (%(calls)s calls)") % {"calls": calls_made}, calls_cost],
            [_("Total cost"), cost],
            [_("Revenue per unit of cost"), metrics.share(revenue, cost)],
        ],
    )
    chart = {
        "type": "bar",
        "horizontal": True,
        "labels": labels,
        "datasets": [
            {
                "label": _("Cases"),
                "data": [s.count for s in steps],
                "colors": ["#6c757d", "#6ea8fe", "#0d6efd", "#e0a800", COLOURS["active"]],
            }
        ],
    }
    data = {
        "steps": dict(zip(keys, steps, strict=True)),
        "revenue": revenue,
        "offers_cost": offers_cost,
        "calls_cost": calls_cost,
        "calls": calls_made,
        "cost": cost,
        "won": counts["won"],
        "flagged": counts["flagged"],
        "roi": metrics.share(revenue, cost),
    }
    return Panel("funnel", [table, money], chart if counts["flagged"] else None, data)


def uplift_panel(*, filters: DashboardFilters, funnel: Panel, figures: PeriodFigures) -> Panel:
    """Return rate of the called cases against the control cases opened in the period, by one
    outcome for both (a purchase within the case's lifetime), with Newcombe's 95% interval."""
    result = figures.uplift
    revenue_per_win = metrics.share(funnel.data["revenue"], funnel.data["won"]) or 0.0
    incremental_revenue = (
        result.incremental_returns * revenue_per_win
        if result.incremental_returns is not None
        else None
    )
    table = Table(
        _("Called clients against the control group"),
        [
            Column(_("Group"), "text"),
            Column(_("Cases")),
            Column(_("Bought within the case lifetime")),
            Column(_("Rate"), "percent"),
        ],
        [
            [
                _("Called (cases to call)"),
                result.treated,
                result.treated_returned,
                result.treated_rate,
            ],
            [
                _("Control group (not called)"),
                result.control,
                result.control_returned,
                result.control_rate,
            ],
        ],
    )
    estimate = Table(
        _("Uplift"),
        [Column(_("Figure"), "text"), Column(_("Value"), "number")],
        [
            [_("Uplift, points"), pct(result.uplift)],
            [_("Low end of the 95 percent interval, points"), pct(result.low)],
            [_("High end of the 95 percent interval, points"), pct(result.high)],
            [_("Returns caused by the calls"), result.incremental_returns],
            [_("Incremental revenue"), incremental_revenue],
        ],
    )
    chart = {
        "type": "bar",
        "percent": True,
        "labels": [_("Called"), _("Control group")],
        "datasets": [
            {
                "label": _("Bought within the case lifetime"),
                "data": [pct(result.treated_rate), pct(result.control_rate)],
                "colors": [COLOURS["treated"], COLOURS["control"]],
            }
        ],
    }
    notes = []
    no_control = None
    if filters.manager_id and figures.manager_comparable is False:
        no_control = _(
            "No control cases were opened in the weeks and segments of this manager's cases, so "
            "their cases cannot be compared with clients who were not called."
        )
    elif not result.has_control:
        no_control = _(
            "There is no control group in this period, so the return rate cannot be separated "
            "from clients who would have come back on their own. Set a control share in the "
            "policy to measure it."
        )
    elif not result.enough_control:
        notes.append(
            _(
                "Only %(cases)s control cases: the interval is wide, and the measured share is "
                "not used for the revenue left on the table below %(needed)s."
            )
            % {"cases": result.control, "needed": metrics.MIN_CONTROL_CASES}
        )
    if filters.manager_id and figures.manager_comparable:
        notes.append(
            _(
                "This manager's cases against the control cases opened in the same weeks and "
                "segments."
            )
        )
    comparable = result.has_control and no_control is None
    return Panel(
        "uplift",
        [table, estimate],
        chart if comparable else None,
        {
            "uplift": result,
            "no_control": no_control,
            "comparable": comparable,
            "incremental_revenue": incremental_revenue,
        },
        notes,
    )


def reasons_panel(*, filters: DashboardFilters) -> Panel:
    """Why clients leave: reasons given in calls of the period, by month and by segment."""
    rows = ReasonDaily.objects.filter(day__gte=filters.start, day__lte=filters.end)
    if filters.segment_id:
        rows = rows.filter(segment_id=filters.segment_id)
    if filters.manager_id:
        rows = rows.filter(manager_id=filters.manager_id)
    grouped = (
        rows.annotate(month=TruncMonth("day"))
        .values("month", "segment_id", "reason_id")
        .annotate(n=Sum("calls"))
        .order_by()
    )
    by_month: dict[tuple[dt.date, int], int] = defaultdict(int)
    by_segment: dict[tuple[int | None, int], int] = defaultdict(int)
    totals: dict[int, int] = defaultdict(int)
    for item in grouped:
        month = item["month"].date() if isinstance(item["month"], dt.datetime) else item["month"]
        by_month[(month, item["reason_id"])] += item["n"]
        by_segment[(item["segment_id"], item["reason_id"])] += item["n"]
        totals[item["reason_id"]] += item["n"]
    reasons = [r for r in Reason.objects.order_by("position", "name") if r.pk in totals]
    months = months_between(filters.start, filters.end)
    everything = sum(totals.values())
    segments = {pk: name for pk, name in Segment.objects.values_list("pk", "name")}
    segment_ids = sorted({key[0] for key in by_segment}, key=lambda pk: segments.get(pk, ""))
    overall = Table(
        _("Reasons for leaving"),
        [
            Column(_("Reason"), "text"),
            Column(_("Calls")),
            Column(_("Share"), "percent"),
            *[Column(segments.get(pk, _("No segment"))) for pk in segment_ids],
            *[
                Column(
                    _("Share in %(segment)s") % {"segment": segments.get(pk, _("No segment"))},
                    "percent",
                )
                for pk in segment_ids
            ],
        ],
        [
            [
                r.name,
                totals[r.pk],
                metrics.share(totals[r.pk], everything),
                *[by_segment.get((pk, r.pk), 0) for pk in segment_ids],
                *[
                    metrics.share(
                        by_segment.get((pk, r.pk), 0),
                        sum(by_segment.get((pk, x.pk), 0) for x in reasons),
                    )
                    for pk in segment_ids
                ],
            ]
            for r in reasons
        ],
    )
    monthly = Table(
        _("Reasons by month"),
        [Column(_("Month"), "month"), *[Column(r.name) for r in reasons]],
        [[month, *[by_month.get((month, r.pk), 0) for r in reasons]] for month in months],
    )
    chart = {
        "type": "bar",
        "stacked": True,
        "labels": [m.strftime("%Y-%m") for m in months],
        "datasets": [
            {
                "label": r.name,
                "data": [by_month.get((m, r.pk), 0) for m in months],
                "color": PALETTE[index % len(PALETTE)],
            }
            for index, r in enumerate(reasons)
        ],
    }
    share_chart = {
        "type": "doughnut",
        "labels": [r.name for r in reasons],
        "datasets": [
            {
                "label": _("Calls"),
                "data": [totals[r.pk] for r in reasons],
                "colors": [PALETTE[i % len(PALETTE)] for i in range(len(reasons))],
            }
        ],
    }
    return Panel(
        "reasons", [monthly, overall], chart, {"total": everything, "share_chart": share_chart}
    )


def _plan_versions(manager_ids: list[int]) -> dict[int, list[tuple[dt.date, WeeklyPlan]]]:
    """Each manager's weekly plan as it changed: (in force from, the plan's values), from the
    plan's history (a deleted plan gives way to the default one)."""
    versions: dict[int, list[tuple[dt.date, WeeklyPlan]]] = defaultdict(list)
    for record in WeeklyPlan.history.filter(manager_id__in=manager_ids).order_by("history_date"):
        plan = WeeklyPlan() if record.history_type == "-" else record.instance
        day = timezone.localdate(record.history_date)
        mine = versions[record.manager_id]
        if mine and mine[-1][0] == day:
            mine[-1] = (day, plan)  # the day's last change is the day's plan
        else:
            mine.append((day, plan))
    return versions


def managers_panel(*, filters: DashboardFilters, settings: BusinessSettings) -> Panel:
    """Each manager's calls, reached, offers, wins and revenue won back in the period, against
    their weekly plan prorated over the days of the period they worked, each day under the
    plan then in force (``metrics.prorated_plan``)."""
    User = get_user_model()
    people = User.objects.filter(groups__name=Role.MANAGER).order_by("first_name", "username")
    if filters.manager_id:
        people = people.filter(pk=filters.manager_id)
    people = list(people)
    ids = [person.pk for person in people]
    rows = ManagerDaily.objects.filter(
        manager_id__in=ids, day__gte=filters.start, day__lte=filters.end
    )
    if filters.segment_id:
        rows = rows.filter(segment_id=filters.segment_id)
    done = {
        item["manager_id"]: item
        for item in rows.values("manager_id")
        .annotate(
            calls=Sum("calls"),
            reached=Sum("reached"),
            offers=Sum("offers"),
            wins=Sum("wins"),
            revenue=Sum("revenue_won_back"),
        )
        .order_by()
    }
    plans = _plan_versions(ids)
    first_activity = dict(
        ManagerDaily.objects.filter(manager_id__in=ids)
        .values("manager_id")
        .annotate(first=Min("day"))
        .values_list("manager_id", "first")
        .order_by()
    )
    rows, chart_sets = [], defaultdict(list)
    for person in people:
        mine = done.get(person.pk, {})
        # A manager works from when they joined, or from their first recorded call if the
        # account was made after the work began (an import of past calls, a recreated user).
        joined = person.date_joined.date()
        worked_from = min(joined, first_activity.get(person.pk) or joined)
        versions = plans.get(person.pk) or [(worked_from, WeeklyPlan())]
        row = [person.get_full_name() or person.username]
        for key in ("calls", "reached", "offers", "wins"):
            actual = mine.get(key) or 0
            target = metrics.prorated_plan(
                start=filters.start,
                end=filters.end,
                worked_from=worked_from,
                versions=[(since, getattr(plan, key)) for since, plan in versions],
            )
            row += [actual, target, metrics.share(actual, target)]
            chart_sets[key].append(pct(metrics.share(actual, target)))
        row.append(float(mine.get("revenue") or 0))
        rows.append(row)
    columns = [Column(_("Manager"), "text")]
    names = {"calls": _("Calls"), "reached": _("Reached"), "offers": _("Offers"), "wins": _("Wins")}
    for key in ("calls", "reached", "offers", "wins"):
        columns += [
            Column(names[key]),
            Column(_("%(what)s plan") % {"what": names[key]}),
            Column(_("%(what)s, %% of plan") % {"what": names[key]}, "percent"),
        ]
    columns.append(Column(_("Revenue won back"), "money"))
    table = Table(_("Managers against their weekly plan"), columns, rows)
    chart = {
        "type": "bar",
        "percent": True,
        "plan_line": 100,
        "labels": [row[0] for row in rows],
        "datasets": [
            {
                "label": _("%(what)s, %% of plan") % {"what": names[key]},
                "data": chart_sets[key],
                "color": PALETTE[index],
            }
            for index, key in enumerate(("calls", "reached", "offers", "wins"))
        ],
    }
    return Panel("managers", [table], chart, {"weeks": filters.days / 7})
