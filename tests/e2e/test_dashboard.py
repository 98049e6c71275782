"""An owner reads the dashboard in a real browser: charts drawn from data, numbers that match
them, a recalculated estimate, a phone-sized screen, and no console errors (the CSP holds)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.reactivation import dashboard_data

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUERY = "period=custom&start=2026-06-01&end=2026-06-30"


def chart_data(page, name: str) -> list[list]:
    return page.evaluate(
        """(name) => {
            const chart = Chart.getChart(document.querySelector(`canvas[data-chart="chart-${name}"]`));
            return chart.data.datasets.map((d) => d.data);
        }""",
        name,
    )


def column(page, table: str, index: int) -> list[str]:
    return page.eval_on_selector_all(
        f'table[data-table="{table}"] tbody tr',
        f"rows => rows.map(r => r.cells[{index}].dataset.raw)",
    )


def test_charts_render_with_data_and_the_numbers_match(
    live_server, page, log_in, owner, alice, bob, console_errors
):
    dashboard_data.build(manager=alice, colleague=bob)
    log_in(owner)
    page.goto(f"{live_server.url}/dashboard/?{QUERY}")

    for name in (
        "status",
        "retention",
        "funnel",
        "uplift",
        "reasons",
        "reasons-share",
        "managers",
        "ltv",
        "abc",
    ):
        expect(page.locator(f'canvas[data-chart="chart-{name}"]')).to_be_visible()
    funnel = chart_data(page, "funnel")
    assert funnel == [[10, 6, 4, 3, 2]]

    for name in ("funnel", "status", "retention"):
        page.click(f'[data-numbers-toggle="{name}"]')
        expect(page.locator(f'table[data-table="{name}-0"]')).to_be_visible()
    assert [int(v) for v in column(page, "funnel-0", 1)] == funnel[0]
    status = chart_data(page, "status")
    assert [int(v) for v in column(page, "status-0", 1)] == status[0]
    assert [int(v) for v in column(page, "status-0", 3)] == status[2]
    assert [float(v) for v in column(page, "retention-0", 8)] == chart_data(page, "retention")[0]
    managers = chart_data(page, "managers")  # shown open: calls against plan, in percent
    # A manager who did not work in the period (joined after it) has no plan to be measured by.
    shares = [float(v) if v else None for v in column(page, "managers-0", 3)]
    assert shares == managers[0] and any(share is not None for share in shares)
    expect(page.locator("#left-on-table")).to_have_text("2,493")  # 24 x 20% x 0.5 x 18,700 / 18
    expect(page.locator('table[data-table="cohort-heat"] td.heat-6').first).to_have_text("60")
    assert console_errors == []


def test_return_share_recalculates_the_estimate(
    live_server, page, log_in, owner, alice, bob, console_errors
):
    dashboard_data.build(manager=alice, colleague=bob)
    log_in(owner)
    page.goto(f"{live_server.url}/dashboard/?{QUERY}")

    page.fill("#id_return_share", "30")
    page.get_by_role("button", name="Recalculate").click()

    expect(page.locator("#left-on-table")).to_have_text("3,740")
    expect(page).to_have_url(
        f"{live_server.url}/dashboard/?{QUERY}&segment=&manager=&return_share=30"
    )
    # the 50% bar: 24 clients ever x 50% x 0.5 purchases a year x 18,700 / 18
    assert chart_data(page, "ltv")[0][-1] == round(24 * 0.5 * 0.5 * 18_700 / 18, 2)
    assert console_errors == []


def test_the_dashboard_fits_a_phone(live_server, page, log_in, owner, alice, bob, console_errors):
    dashboard_data.build(manager=alice, colleague=bob)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(owner)
    page.goto(f"{live_server.url}/dashboard/?{QUERY}")

    expect(page.locator('canvas[data-chart="chart-status"]')).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert console_errors == []


def test_figures_being_computed_fill_in_by_themselves(
    live_server, page, log_in, owner, alice, bob, console_errors, settings, monkeypatch
):
    """With a broker, a view whose figures are not stored shows them as being computed and
    polls; once the worker has stored them they are swapped in without a reload."""
    from reactivation import dashboard_tasks
    from reactivation.celery import app
    from reactivation.services.figures import View, figures_compute

    dashboard_data.build(manager=alice, colleague=bob)
    sent: list[tuple] = []
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr(
        dashboard_tasks.period_figures_compute, "delay", lambda *args: sent.append(args)
    )
    try:
        log_in(owner)
        page.goto(f"{live_server.url}/dashboard/?{QUERY}")
        expect(page.locator("#figures-pending")).to_be_visible()
        expect(page.locator('[data-pending="retention"] .progress')).to_be_visible()
        expect(page.locator('canvas[data-chart="chart-funnel"]')).to_be_visible()
        assert page.locator('canvas[data-chart="chart-retention"]').count() == 0
        view = ("2026-06-01", "2026-06-30", "all", 0)
        assert sent.count(view) == 1  # (the owner's landing page asked for its own view)

        figures_compute(View(start=dashboard_data.START, end=dashboard_data.END))  # the worker

        expect(page.locator("#kpi-retention")).to_have_text("80.0 %", timeout=10_000)
        expect(page.locator('canvas[data-chart="chart-retention"]')).to_be_visible()
        expect(page.locator("#figures-pending")).to_have_count(0)
        page.wait_for_timeout(3500)  # no further poll swaps anything away
        expect(page.locator("#left-on-table")).to_have_text("2,493")
        assert sent.count(view) == 1
        assert page.url == f"{live_server.url}/dashboard/?{QUERY}"
    finally:
        app.conf.task_always_eager = previous
    assert console_errors == []
