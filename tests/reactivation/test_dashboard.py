"""The owners' dashboard: every figure against the hand-computed business in dashboard_data,
the filters, the CSV exports and who may open it."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from reactivation.dashboard_forms import ERR_END_BEFORE_START
from reactivation.models import WeeklyPlan
from tests.reactivation import dashboard_data
from tests.reactivation.dashboard_data import PERIOD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test builds its own business; none may read another's cached dashboard."""
    cache.clear()


URL = reverse("dashboard")


@pytest.fixture
def business(alice, bob):
    return dashboard_data.build(manager=alice, colleague=bob)


@pytest.fixture
def panels(business, owner, login):
    response = login(owner).get(URL, PERIOD)
    assert response.status_code == 200
    return response.context["panels"]


def test_customers_split_into_retained_returned_and_new(panels):
    retention = panels["retention"].data
    assert (retention["s"], retention["e"]) == (10, 17)
    assert (retention["retained"], retention["returned"], retention["new"]) == (8, 6, 3)
    assert retention["retention"] == pytest.approx(0.80)
    june = panels["retention"].tables[0].rows[0]
    assert june[3:] == [10, 17, 8, 6, 3, pytest.approx(0.80)]
    assert panels["retention"].chart["datasets"][0]["data"] == [80.0]
    assert panels["retention"].chart["datasets"][1]["data"] == [60.0]  # returned, % of S


def test_the_page_shows_retained_over_s_not_the_seeds_crr(panels, business, owner, login):
    body = login(owner).get(URL, PERIOD).content.decode()
    assert 'id="kpi-retention">80.0 %' in body
    assert 'id="kpi-returned">6<' in body
    assert "CRR" not in body


def test_status_mix_shares_and_change_against_the_previous_period(panels):
    mix = {item["status"]: item for item in panels["status"].data["mix"]}
    # 30 June: 85 / 10 / 55 of 150; 31 May (end of the previous 30 days): 80 / 20 / 50 of 150.
    assert mix["active"]["count"] == 85
    assert mix["active"]["share"] == pytest.approx(85 / 150)
    assert mix["active"]["previous"] == 80
    assert mix["active"]["change"] == pytest.approx(5 / 80)
    assert mix["lost"]["share_change"] == pytest.approx(5 / 150)
    assert mix["lost"]["good"] is False and mix["active"]["good"] is True


def test_funnel_counts_and_conversions(panels):
    funnel = panels["funnel"]
    steps = funnel.data["steps"]
    assert [steps[k].count for k in ("flagged", "contacted", "reached", "offered", "won")] == [
        10,
        6,
        4,
        3,
        2,
    ]
    assert steps["contacted"].of_previous == pytest.approx(0.6)
    assert steps["won"].of_previous == pytest.approx(2 / 3)
    assert steps["won"].of_first == pytest.approx(0.2)


def test_revenue_won_back_counts_90_days_from_the_win_against_cost(panels):
    funnel = panels["funnel"]
    assert funnel.data["revenue"] == pytest.approx(3800)
    assert funnel.data["offers_cost"] == pytest.approx(600)
    assert funnel.data["calls_cost"] == pytest.approx(400)
    assert funnel.data["calls"] == 8
    assert funnel.data["roi"] == pytest.approx(3.8)


def test_uplift_counts_purchases_within_the_case_lifetime_for_both_groups(panels):
    result = panels["uplift"].data["uplift"]
    # Two called clients bought; of the control cases one bought and one was only typed in
    # as won back, which is no purchase.
    assert (result.treated, result.treated_returned, result.control, result.control_returned) == (
        10,
        2,
        10,
        1,
    )
    assert result.uplift == pytest.approx(0.10)
    assert result.low == pytest.approx(-0.236225, abs=1e-5)
    assert result.high == pytest.approx(0.420536, abs=1e-5)
    assert result.possibly_chance
    assert panels["uplift"].data["incremental_revenue"] == pytest.approx(1900)
    assert panels["uplift"].data["no_control"] is None


def test_a_case_closed_won_back_without_a_purchase_is_no_return(business, owner, login):
    from reactivation.models import Case

    typed = business["cases"][5]
    typed.status, typed.closed_on = Case.Status.WON_BACK, dt.date(2026, 6, 6)
    typed.save()
    result = login(owner).get(URL, PERIOD).context["panels"]["uplift"].data["uplift"]

    assert result.treated_returned == 2


def test_a_purchase_after_the_case_lifetime_or_the_period_does_not_count(business, owner, login):
    from tests.factories import TransactionFactory

    late = business["cases"][6].client
    TransactionFactory(client=late, date=dt.date(2026, 7, 1))  # after the period's end
    result = login(owner).get(URL, PERIOD).context["panels"]["uplift"].data["uplift"]
    assert result.treated_returned == 2

    july = {"period": "custom", "start": "2026-06-01", "end": "2026-08-31"}
    cache.clear()
    result = login(owner).get(URL, july).context["panels"]["uplift"].data["uplift"]
    assert result.treated_returned == 3  # within 60 days of 2 June once the period holds it


def test_a_managers_cases_are_compared_with_control_cases_of_the_same_weeks(
    business, owner, alice, bob, login
):
    dashboard_data.build_others(business, manager=alice, colleague=bob)

    mine = login(owner).get(URL, {**PERIOD, "manager": alice.pk}).context["panels"]["uplift"]
    theirs = login(owner).get(URL, {**PERIOD, "manager": bob.pk}).context["panels"]["uplift"]

    # Alice's ten coffee cases of the week of 2 June meet the ten control cases of that week
    # (her office case of 9 June has none in its week and segment).
    assert (mine.data["uplift"].treated, mine.data["uplift"].control) == (11, 10)
    assert mine.data["comparable"]
    # Bob's one case (8 June) has no control case in its week: no comparison.
    assert not theirs.data["comparable"]
    assert "cannot be compared" in theirs.data["no_control"]


def test_without_a_control_group_the_page_says_it_cannot_separate_natural_returns(
    business, owner, login
):
    from reactivation.models import Case

    Case.objects.filter(is_control=True).delete()
    dashboard_data.refresh()
    response = login(owner).get(URL, PERIOD)

    assert response.context["panels"]["uplift"].data["uplift"].uplift is None
    assert "cannot be separated" in response.content.decode()


CHECK = 18_700 / 18
MARGIN_PER_PURCHASE = 18_700 * 0.3 / 18


def test_lifetime_value_from_what_customers_really_buy(panels):
    ltv = panels["ltv"].data
    assert ltv["check"] == pytest.approx(CHECK)
    assert ltv["margin_per_purchase"] == pytest.approx(MARGIN_PER_PURCHASE)
    assert ltv["per_year"] == pytest.approx(0.5)  # 5 purchase days of 10 customers a year ago
    assert ltv["churn"] == pytest.approx(0.5)
    assert ltv["years"] == pytest.approx(2.0) and not ltv["lifetime_capped"]
    assert ltv["ltv"] == pytest.approx(MARGIN_PER_PURCHASE * 0.5 * 2)


def test_revenue_left_on_the_table_both_ways(panels):
    ltv = panels["ltv"].data
    assert ltv["clients_ever"] == 24 and ltv["lost"] == 7
    assert ltv["return_share"] == pytest.approx(0.20)
    assert ltv["left"] == pytest.approx(24 * 0.2 * 0.5 * CHECK)
    # Ten control cases measure nothing yet: the page says so instead of a number.
    assert ltv["measured"] is None and not ltv["enough_control"]
    assert any("Not enough control cases" in note for note in panels["ltv"].notes)


def test_return_share_is_adjustable_on_the_page(business, owner, login):
    response = login(owner).get(URL, {**PERIOD, "return_share": "30"})

    assert response.context["panels"]["ltv"].data["left"] == pytest.approx(24 * 0.3 * 0.5 * CHECK)
    assert 'value="30"' in response.content.decode()


def test_another_return_share_does_not_read_the_purchases_again(
    business, owner, login, monkeypatch
):
    from reactivation.selectors.customers import PurchaseLog

    reads = []
    original = PurchaseLog.load.__func__

    def counted(cls, **kwargs):
        reads.append(kwargs)
        return original(cls, **kwargs)

    monkeypatch.setattr(PurchaseLog, "load", classmethod(counted))
    client = login(owner)
    first = client.get(URL, {**PERIOD, "return_share": "20"}).context["panels"]["ltv"].data
    second = client.get(URL, {**PERIOD, "return_share": "50"}).context["panels"]["ltv"].data

    assert len(reads) == 1
    assert second["left"] == pytest.approx(first["left"] * 2.5)
    assert second["measured"] == first["measured"]


def test_the_return_share_field_holds_a_plain_number_in_russian(business, owner, login):
    client = login(owner)
    client.cookies["django_language"] = "ru"
    body = client.get(URL, {**PERIOD, "return_share": "20.5"}, HTTP_ACCEPT_LANGUAGE="ru").content
    assert 'id="id_return_share" form="dashboard-filters"' in body.decode()
    assert 'value="20.5"' in body.decode()


def test_reasons_counts_and_shares(panels):
    overall = panels["reasons"].tables[1]
    assert [row[:3] for row in overall.rows] == [
        ["Too expensive", 3, pytest.approx(0.75)],
        ["Quality", 1, pytest.approx(0.25)],
    ]
    assert panels["reasons"].chart["datasets"][0]["data"] == [3]  # June only


def test_managers_against_their_weekly_plan_prorated_over_the_days_worked(panels, alice):
    rows = {row[0]: row for row in panels["managers"].tables[0].rows}
    row = rows[alice.get_full_name()]
    # Alice's first recorded call is on 5 June: her plan of 7 a week counts from then,
    # 26 days of June, as a whole number.
    target = round(7 * 26 / 7)
    # calls, plan, share; reached...; offers...; wins...; revenue won back
    assert row[1] == 8 and row[2] == target == 26
    assert row[3] == pytest.approx(8 / 26)
    assert (row[4], row[7], row[10]) == (4, 3, 2)
    assert row[13] == pytest.approx(3800)


def test_a_plan_changed_mid_period_counts_each_version_for_its_days(business, owner, alice, login):
    plan = WeeklyPlan.objects.get(manager=alice)
    for day, calls in ((dt.datetime(2026, 6, 1, 9), 7), (dt.datetime(2026, 6, 16, 9), 14)):
        with time_machine.travel(day.replace(tzinfo=dt.UTC)):
            plan.calls = calls
            plan.save()
    rows = login(owner).get(URL, PERIOD).context["panels"]["managers"].tables[0].rows
    row = {r[0]: r for r in rows}[alice.get_full_name()]
    # 5 to 15 June at 7 a week (11 days), 16 to 30 June at 14 a week (15 days).
    assert row[2] == round(7 * 11 / 7 + 14 * 15 / 7)


def test_cohort_shares(panels):
    matrix = {row["cohort"].isoformat(): row for row in panels["cohorts"].data["matrix"]}
    january = matrix["2026-01-01"]
    assert january["size"] == 10
    assert [cell["value"] for cell in january["cells"][:4]] == [
        1.0,
        pytest.approx(0.6),
        pytest.approx(0.3),
        0.0,
    ]
    assert january["cells"][6]["value"] is None  # July is after the period


def test_a_month_the_period_ends_inside_is_marked_partial(business, owner, login):
    response = login(owner).get(
        URL, {"period": "custom", "start": "2026-02-01", "end": "2026-03-10"}
    )
    cohorts = response.context["panels"]["cohorts"]
    january = {row["cohort"].isoformat(): row for row in cohorts.data["matrix"]}["2026-01-01"]

    assert [cell["partial"] for cell in january["cells"][:3]] == [False, False, True]
    assert "first 10 days" in cohorts.notes[0]
    assert 'data-partial="true">30*<' in response.content.decode()


def test_a_period_ending_on_a_months_last_day_has_no_partial_month(panels):
    assert not panels["cohorts"].data["partial"] and not panels["cohorts"].notes


def test_value_asleep_in_sleeping_and_lost_a_and_b_clients(panels):
    assert panels["abc"].data["asleep"] == pytest.approx(120_000)
    assert panels["abc"].data["asleep_clients"] == 50


def test_segment_filter(business, owner, login):
    dashboard_data.build_others(business, manager=None, colleague=None)
    response = login(owner).get(URL, {**PERIOD, "segment": business["office"].pk})
    panels = response.context["panels"]

    assert panels["funnel"].data["flagged"] == 1
    assert panels["status"].data["now"] is None  # no office snapshot


def test_segment_filter_reads_the_segments_snapshots(business, owner, login):
    response = login(owner).get(URL, {**PERIOD, "segment": business["coffee"].pk})
    mix = {
        item["status"]: item["count"] for item in response.context["panels"]["status"].data["mix"]
    }

    assert mix == {"active": 30, "sleeping": 10, "lost": 20}


def test_manager_filter(business, owner, alice, bob, login):
    dashboard_data.build_others(business, manager=alice, colleague=bob)

    mine = login(owner).get(URL, {**PERIOD, "manager": alice.pk}).context["panels"]
    theirs = login(owner).get(URL, {**PERIOD, "manager": bob.pk}).context["panels"]

    assert mine["funnel"].data["flagged"] == 11  # her ten, and the office case
    assert theirs["funnel"].data["flagged"] == 1
    assert [row[0] for row in theirs["managers"].tables[0].rows] == [bob.get_full_name()]


def test_period_filter(business, owner, alice, bob, login):
    dashboard_data.build_others(business, manager=alice, colleague=bob)

    june = login(owner).get(URL, PERIOD).context["panels"]
    may = (
        login(owner)
        .get(URL, {"period": "custom", "start": "2026-05-01", "end": "2026-05-31"})
        .context["panels"]
    )

    assert june["funnel"].data["flagged"] == 12
    assert may["funnel"].data["flagged"] == 1


def test_preset_period_ends_on_the_last_snapshot(business, owner, login):
    filters = login(owner).get(URL, {"period": "90"}).context["filters"]

    assert filters.end.isoformat() == "2026-06-30"
    assert filters.days == 90


def test_an_inverted_period_shows_the_error_and_keeps_the_dates(business, owner, login):
    response = login(owner).get(
        URL, {"period": "custom", "start": "2026-06-30", "end": "2026-06-01"}
    )

    assert response.status_code == 200
    assert str(ERR_END_BEFORE_START) in response.content.decode()
    assert 'value="2026-06-30"' in response.content.decode()


def test_csv_export_holds_the_numbers_of_the_chart(business, owner, login):
    response = login(owner).get(reverse("dashboard_export", args=["funnel"]), PERIOD)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Step", "Cases", "Of the step before", "Of flagged"]
    assert [row[1] for row in rows[1:]] == ["10", "6", "4", "3", "2"]
    assert rows[2][2] == "60.00"


def test_csv_export_of_a_further_table(business, owner, login):
    response = login(owner).get(
        reverse("dashboard_export", args=["funnel"]), {**PERIOD, "table": "1"}
    )

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][1] == "3800.00"


def test_csv_export_of_an_unknown_chart_is_404(owner, login):
    assert login(owner).get(reverse("dashboard_export", args=["nonsense"])).status_code == 404
    assert (
        login(owner).get(reverse("dashboard_export", args=["funnel"]), {"table": "9"}).status_code
        == 404
    )


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_managers_and_people_without_a_role_cannot_open_the_dashboards(who, request, login):
    user = request.getfixturevalue(who)
    client = login(user)

    assert client.get(URL).status_code == 403
    assert client.get(reverse("dashboard_export", args=["status"])).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("who", ["owner", "admin_user"])
def test_owners_and_admins_open_the_dashboards(who, request, login, business):
    assert login(request.getfixturevalue(who)).get(URL, PERIOD).status_code == 200


def test_the_page_is_served_in_a_bounded_number_of_queries(
    business, owner, login, django_assert_max_num_queries
):
    client = login(owner)
    with django_assert_max_num_queries(45):
        client.get(URL, {**PERIOD, "x": "cold"})


def test_htmx_gets_only_the_panels(business, owner, login):
    response = login(owner).get(URL, PERIOD, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and 'data-chart="chart-status"' in body
    assert "HX-Request" in response["Vary"]


def test_an_empty_install_shows_empty_states(owner, login):
    response = login(owner).get(URL)

    assert response.status_code == 200
    assert "No nightly snapshot has been written yet." in response.content.decode()


def test_numbers_of_a_chart_load_as_a_fragment_or_a_page(business, owner, login):
    client = login(owner)
    url = reverse("dashboard_numbers", args=["funnel"])

    fragment = client.get(url, PERIOD, HTTP_HX_REQUEST="true")
    page = client.get(url, PERIOD)

    assert fragment.status_code == 200 and page.status_code == 200
    assert "<html" not in fragment.content.decode()
    assert 'data-table="funnel-0"' in fragment.content.decode()
    assert 'data-raw="10"' in fragment.content.decode()
    assert "<html" in page.content.decode()
    assert client.get(reverse("dashboard_numbers", args=["nonsense"])).status_code == 404


def test_managers_cannot_read_the_numbers_either(alice, login):
    assert login(alice).get(reverse("dashboard_numbers", args=["funnel"])).status_code == 403


def test_the_dashboard_shows_what_the_next_nightly_run_wrote(business, owner, alice, login):
    client = login(owner)
    assert client.get(URL, PERIOD).context["panels"]["funnel"].data["flagged"] == 10

    dashboard_data.build_others(business, manager=alice, colleague=alice)

    assert client.get(URL, PERIOD).context["panels"]["funnel"].data["flagged"] == 12
