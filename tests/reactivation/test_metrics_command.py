"""manage.py metrics: the dashboard's figures for a period as one JSON object."""

from __future__ import annotations

import io
import json

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.reactivation import dashboard_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The forecast is cached per end date; each test builds its own business."""
    cache.clear()


KEYS = {
    "from",
    "to",
    "customers",
    "retention_rate",
    "yearly_churn",
    "lifetime_years",
    "ltv",
    "forecast",
    "uplift",
    "revenue_left",
}


def _metrics(*args: str) -> dict:
    out = io.StringIO()
    call_command("metrics", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_json_object_holds_the_issues_keys_and_the_hand_computed_figures(alice, bob):
    dashboard_data.build(manager=alice, colleague=bob)

    data = _metrics("--from", "2026-06-01", "--to", "2026-06-30")

    assert set(data) == KEYS
    assert data["customers"] == {"start": 10, "end": 17, "retained": 8, "returned": 6, "new": 3}
    assert data["retention_rate"] == pytest.approx(0.8)
    assert data["yearly_churn"] == pytest.approx(0.5)
    assert data["lifetime_years"] == pytest.approx(2.0)
    per_purchase = 18_700 * 0.3 / 18
    assert data["ltv"] == {
        "value": pytest.approx(per_purchase * 0.5 * 2),
        "margin_per_purchase": pytest.approx(per_purchase),
        "purchases_per_year": pytest.approx(0.5),
        "lifetime_years": pytest.approx(2.0),
    }
    # 24 clients are too few for a model fit: no forecast, and no crash.
    assert data["forecast"] == {"horizon_days": 90, "expected_purchases": None}
    assert data["uplift"] == {
        "called": 10,
        "called_returned": 2,
        "control": 10,
        "control_returned": 1,
        "uplift": pytest.approx(0.1),
        "ci_low": pytest.approx(-0.236225, abs=1e-5),
        "ci_high": pytest.approx(0.420536, abs=1e-5),
    }
    assert data["revenue_left"] == {
        "rule_of_thumb": pytest.approx(24 * 0.2 * 0.5 * 18_700 / 18),
        "return_share": 0.2,
        "measured": None,
        "measured_return_share": None,
        "lost_clients": 7,
        "clients_ever": 24,
        "purchases_per_year": pytest.approx(0.5),
        "average_check": pytest.approx(18_700 / 18),
    }


def test_the_command_and_the_page_show_the_same_figures(alice, bob, owner, login):
    dashboard_data.build(manager=alice, colleague=bob)
    panels = login(owner).get("/dashboard/", dashboard_data.PERIOD).context["panels"]

    data = _metrics("--from", "2026-06-01", "--to", "2026-06-30")

    retention = panels["retention"].data
    assert data["customers"] == {
        "start": retention["s"],
        "end": retention["e"],
        "retained": retention["retained"],
        "returned": retention["returned"],
        "new": retention["new"],
    }
    assert data["ltv"]["value"] == pytest.approx(panels["ltv"].data["ltv"])
    assert data["revenue_left"]["rule_of_thumb"] == pytest.approx(panels["ltv"].data["left"])
    assert data["uplift"]["ci_low"] == pytest.approx(panels["uplift"].data["uplift"].low)


def test_a_segment_and_the_clients_without_one(alice, bob):
    business = dashboard_data.build(manager=alice, colleague=bob)

    coffee = _metrics("--from", "2026-06-01", "--to", "2026-06-30", "--segment", "coffee")
    none = _metrics("--from", "2026-06-01", "--to", "2026-06-30", "--segment", "none")
    office = _metrics("--from", "2026-06-01", "--to", "2026-06-30", "--segment", "office")

    assert coffee["customers"]["end"] == 17  # every buyer of the business is a coffee client
    assert none["customers"] == {"start": 0, "end": 0, "retained": 0, "returned": 0, "new": 0}
    assert none["retention_rate"] is None and none["ltv"]["value"] is None
    assert office["uplift"]["called"] == 0 and office["uplift"]["uplift"] is None
    assert business["office"].code == "office"


def test_an_empty_database_prints_nulls_not_a_crash(db):
    data = _metrics("--from", "2026-01-01", "--to", "2026-12-31", "--horizon", "30")

    assert set(data) == KEYS
    assert data["retention_rate"] is None
    assert data["yearly_churn"] is None and data["lifetime_years"] is None
    assert data["forecast"] == {"horizon_days": 30, "expected_purchases": None}
    assert data["revenue_left"]["rule_of_thumb"] is None


@pytest.mark.parametrize(
    "args",
    [
        ("--from", "2026-06-30", "--to", "2026-06-01"),
        ("--from", "30.06.2026", "--to", "2026-07-01"),
        ("--from", "2026-06-01", "--to", "2026-06-30", "--segment", "nowhere"),
        ("--from", "2026-06-01", "--to", "2026-06-30", "--horizon", "0"),
    ],
)
def test_bad_input_is_a_clear_error(db, args):
    with pytest.raises(CommandError):
        call_command("metrics", *args, "--json", stdout=io.StringIO())


def test_without_json_it_prints_readable_lines(db):
    out = io.StringIO()
    call_command("metrics", "--from", "2026-06-01", "--to", "2026-06-30", stdout=out)
    assert "Customers: start 0, end 0 = retained 0 + returned 0 + new 0" in out.getvalue()
