"""The weekly assignment, reassigning by admins, and a leaving manager's cases."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from reactivation.models import BusinessSettings, Case
from reactivation.services import cases as services
from tests.factories import UserFactory
from tests.reactivation.queue_helpers import TODAY, open_case

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 11, 16)


def test_the_assignment_day_is_configurable():
    assert services.is_assignment_day(MONDAY)
    assert not services.is_assignment_day(TODAY)
    BusinessSettings.objects.update_or_create(pk=1, defaults={"assignment_weekday": 2})
    assert services.is_assignment_day(TODAY)


def test_a_clients_own_manager_gets_the_case(alice, bob):
    own = open_case(client_manager=bob)
    result = services.cases_assign_week(as_of=MONDAY)
    own.refresh_from_db()
    assert own.assigned_to == bob and own.assigned_on == MONDAY
    assert result.to_own_manager == 1


def test_the_rest_is_balanced_by_open_load(alice, bob):
    carol = UserFactory(username="carol", role="manager")
    for _ in range(4):
        open_case(manager=alice)  # alice already carries four open cases
    open_case(manager=bob)
    new = [open_case(priority=float(n)) for n in range(10)]
    result = services.cases_assign_week(as_of=MONDAY)
    assert result.balanced == 10
    load = {
        u.username: Case.objects.filter(assigned_to=u, status="open").count()
        for u in (alice, bob, carol)
    }
    assert load == {"alice": 5, "bob": 5, "carol": 5}
    assert all(c.assigned_on == MONDAY for c in Case.objects.filter(pk__in=[c.pk for c in new]))


def test_control_cases_closed_cases_and_future_cases_are_not_assigned(alice):
    control = open_case(is_control=True)
    closed = open_case(status="declined", closed_on=TODAY)
    future = open_case(opened_on=MONDAY + dt.timedelta(days=1))
    services.cases_assign_week(as_of=MONDAY)
    for case in (control, closed, future):
        case.refresh_from_db()
        assert case.assigned_to is None


def test_inactive_managers_and_other_roles_get_nothing(alice, owner):
    gone = UserFactory(username="gone", role="manager", is_active=False)
    case = open_case(client_manager=gone)
    services.cases_assign_week(as_of=MONDAY)
    case.refresh_from_db()
    assert case.assigned_to == alice


def test_assignment_is_idempotent(alice, bob):
    open_case()
    first = services.cases_assign_week(as_of=MONDAY)
    second = services.cases_assign_week(as_of=MONDAY)
    assert (first.total, second.total) == (1, 0)


def test_a_leaving_manager_hands_open_cases_back(alice, bob):
    mine = [open_case(manager=alice) for _ in range(3)]
    closed = open_case(manager=alice, status="won_back", closed_on=TODAY)
    open_case(manager=bob)
    assert services.manager_release_cases(manager=alice) == 3
    assert (
        Case.objects.filter(
            pk__in=[c.pk for c in mine], assigned_to__isnull=True, assigned_on__isnull=True
        ).count()
        == 3
    )
    closed.refresh_from_db()
    assert closed.assigned_to == alice


def test_admins_reassign_many_cases_through_the_pool_page(alice, bob, admin_user, login):
    cases = [open_case(manager=alice) for _ in range(3)]
    response = login(admin_user).post(
        "/queue/pool/reassign/", {"manager": bob.pk, "cases": [c.pk for c in cases[:2]]}
    )
    assert response.status_code == 302
    assert Case.objects.filter(assigned_to=bob).count() == 2
    login(admin_user).post("/queue/pool/reassign/", {"manager": "", "cases": [cases[2].pk]})
    cases[2].refresh_from_db()
    assert cases[2].assigned_to is None


def test_admins_release_a_manager_through_the_pool_page(alice, admin_user, login):
    open_case(manager=alice)
    assert login(admin_user).post("/queue/pool/release/", {"manager": alice.pk}).status_code == 302
    assert not Case.objects.filter(assigned_to=alice).exists()


def test_managers_cannot_reassign_or_release(alice, bob, login):
    case = open_case(manager=bob)
    client = login(alice)
    assert (
        client.post("/queue/pool/reassign/", {"manager": alice.pk, "cases": [case.pk]}).status_code
        == 403
    )
    assert client.post("/queue/pool/release/", {"manager": bob.pk}).status_code == 403
    case.refresh_from_db()
    assert case.assigned_to == bob


def test_reassigning_to_someone_who_is_not_a_manager_is_refused(alice, owner):
    case = open_case(manager=alice)
    with pytest.raises(services.CaseError) as error:
        services.case_assign(case=case, manager=owner)
    assert error.value.message == services.ERR_NOT_A_MANAGER


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_give_the_case_to_exactly_one_manager():
    managers = [UserFactory(username=f"racer{n}", role="manager") for n in range(8)]
    case = open_case()
    barrier = threading.Barrier(len(managers))
    won, told = [], []

    def claim(user):
        try:
            barrier.wait()
            services.case_claim(case_id=case.pk, user=user)
            won.append(user.pk)
        except services.CaseError as exc:
            told.append(exc.message)
        finally:
            # Kept connections (CONN_MAX_AGE) outlive the thread: close this one, or the
            # test database cannot be dropped at the end of the run.
            connection.close()

    threads = [threading.Thread(target=claim, args=(m,)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert told == [services.ERR_ALREADY_CLAIMED] * (len(managers) - 1)
    case.refresh_from_db()
    assert case.assigned_to_id == won[0]
