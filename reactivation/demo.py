"""A believable demo business: segments with different rhythms, clients who stay, drift and
leave over three years of purchases, the people who run it, what they work with, and eight
weeks of their calls (``demo_calls``).

Deterministic for a seed: the same seed and size give the same rows on a fresh database (dates
are relative to ``today``, which the caller passes; the control draw, and so which cases are
called, depends on the clients' ids).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from calls.seed import seed_catalogue
from clients.models import Client, Segment, Transaction
from reactivation.demo_calls import DEMO_PLAN, demo_activity, demo_calls_day
from reactivation.models import BusinessSettings, Policy, WeeklyPlan
from reactivation.roles import Role
from reactivation.services.pipeline import pipeline_replay

DEMO_PASSWORD = "reactivation-demo"
DEMO_COMPANY = "Торговый дом «Зерно и бумага»"
HISTORY_DAYS = 3 * 365
REPLAY_DAYS = 56  # nights of the engine replayed at the end of the history (eight weeks)


@dataclass(frozen=True)
class SegmentSpec:
    code: str
    name: str
    cycle: float  # typical days between purchases
    check: float  # typical purchase amount, roubles
    margin_rate: float
    share: float  # share of clients


SEGMENTS = [
    SegmentSpec("coffee", "Кофе в зёрнах", 21, 2400, 0.35, 0.45),
    SegmentSpec("office", "Канцтовары для офиса", 30, 7800, 0.25, 0.40),
    SegmentSpec("furniture", "Офисная мебель", 540, 96000, 0.30, 0.15),
]

USERS = [
    ("admin", "Анна", "Смирнова", Role.ADMIN),
    ("owner", "Олег", "Воронцов", Role.OWNER),
    ("manager1", "Мария", "Кузнецова", Role.MANAGER),
    ("manager2", "Дмитрий", "Попов", Role.MANAGER),
    ("manager3", "Елена", "Соколова", Role.MANAGER),
]

COMPANY_WORDS = [
    "Альфа",
    "Вектор",
    "Гранит",
    "Дельта",
    "Импульс",
    "Кристалл",
    "Меридиан",
    "Норд",
    "Орион",
    "Прогресс",
    "Радуга",
    "Сфера",
    "Технолайн",
    "Урал",
    "Феникс",
    "Эталон",
    "Юнона",
    "Янтарь",
    "Сигма",
    "Полюс",
    "Парус",
    "Северстрой",
    "Бриз",
    "Вершина",
    "Горизонт",
    "Исток",
    "Калина",
]
FORMS = ["ООО", "ИП", "АО", "ООО", "ООО"]
LAST_NAMES = [
    "Иванов",
    "Петров",
    "Сидоров",
    "Козлов",
    "Новиков",
    "Морозов",
    "Волков",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
]
# (first name, whether it is a woman's): a woman's surname takes the feminine ending.
FIRST_NAMES = [
    ("Алексей", False),
    ("Сергей", False),
    ("Андрей", False),
    ("Ирина", True),
    ("Ольга", True),
    ("Наталья", True),
    ("Павел", False),
    ("Татьяна", True),
    ("Юлия", True),
    ("Игорь", False),
]


@dataclass
class DemoResult:
    clients: int = 0
    transactions: int = 0
    users: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, role)


def demo_users() -> list[tuple[str, str, str]]:
    """The admin, the owner and three managers, with one known password (printed)."""
    User = get_user_model()
    made = []
    for username, first, last, role in USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=role))
        if role == Role.ADMIN:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        made.append((username, DEMO_PASSWORD, str(role)))
    return made


def _name(rng: np.random.Generator, index: int) -> str:
    if rng.random() < 0.7:
        return f"{FORMS[rng.integers(len(FORMS))]} «{COMPANY_WORDS[rng.integers(len(COMPANY_WORDS))]}-{index}»"
    surname = LAST_NAMES[rng.integers(len(LAST_NAMES))]
    first, woman = FIRST_NAMES[rng.integers(len(FIRST_NAMES))]
    # Every surname listed ends in -ов or -ев, whose feminine form adds -а.
    return f"{surname}{'а' if woman else ''} {first}"


def _purchase_days(rng: np.random.Generator, spec: SegmentSpec, start: int, end: int) -> list[int]:
    """Day offsets of one client's purchases: a personal cycle, noisy gaps, and a life that
    may end (the client leaves) or drift (the gaps grow)."""
    personal = spec.cycle * rng.gamma(6.0, 1 / 6.0)
    kind = rng.choice(["loyal", "drifting", "leaving"], p=[0.5, 0.2, 0.3])
    life_end = end if kind != "leaving" else start + int(rng.exponential(spec.cycle * 8)) + 1
    drift = 1.0 + (rng.uniform(0.004, 0.02) if kind == "drifting" else 0.0)
    days, day, gap = [], start, personal
    while day <= min(end, life_end):
        days.append(day)
        day += max(1, int(round(rng.gamma(3.0, gap / 3.0))))
        gap *= drift ** max(1.0, gap / 7)
    return days


@transaction.atomic
def demo_create(*, clients: int = 3000, seed: int = 1, today: dt.date) -> DemoResult:
    """Create the demo business; see the module docstring."""
    rng = np.random.default_rng(seed)
    result = DemoResult(users=demo_users())
    BusinessSettings.objects.filter(pk=1, company_name="").update(company_name=DEMO_COMPANY)
    seed_catalogue()
    User = get_user_model()
    managers = list(User.objects.filter(groups__name=Role.MANAGER).order_by("username"))

    segments = []
    for spec in SEGMENTS:
        segment, _ = Segment.objects.get_or_create(code=spec.code, defaults={"name": spec.name})
        Policy.objects.get_or_create(
            segment=segment,
            defaults={
                "default_cycle_days": spec.cycle,
                "min_cycle_days": max(1.0, spec.cycle / 5),
                "max_cycle_days": spec.cycle * 6,
            },
        )
        segments.append((spec, segment))

    first_day = today - dt.timedelta(days=HISTORY_DAYS)
    shares = np.array([spec.share for spec, _ in segments])
    existing = Client.objects.count()
    new_clients, rows = [], []
    for index in range(clients):
        spec, segment = segments[rng.choice(len(segments), p=shares / shares.sum())]
        number = existing + index + 1
        manager = managers[rng.integers(len(managers))] if managers and rng.random() < 0.6 else None
        client = Client(
            external_id=f"C{number:06d}",
            name=_name(rng, number),
            phone=f"+79{rng.integers(10**8, 10**9 - 1)}",
            email=f"client{number}@example.ru" if rng.random() < 0.7 else "",
            segment=segment,
            manager=manager,
            do_not_contact=bool(rng.random() < 0.02),
        )
        new_clients.append(client)
        start = int(rng.integers(0, HISTORY_DAYS - 30))
        for offset in _purchase_days(rng, spec, start, HISTORY_DAYS):
            amount = round(float(spec.check * rng.lognormal(0, 0.35)), 2)
            rows.append((len(new_clients) - 1, offset, amount, spec.margin_rate))
            if rng.random() < 0.02:  # now and then part of a purchase comes back
                rows.append(
                    (len(new_clients) - 1, offset + 3, -round(amount * 0.3, 2), spec.margin_rate)
                )
    Client.objects.bulk_create(new_clients, batch_size=2000)
    transactions = []
    repeats: dict[tuple, int] = {}
    for client_index, offset, amount, margin_rate in rows:
        client = new_clients[client_index]
        date = first_day + dt.timedelta(days=min(offset, HISTORY_DAYS))
        key = (client.external_id, date, amount)
        repeats[key] = repeats.get(key, 0) + 1
        transactions.append(
            Transaction(
                client=client,
                identity=f"k:{client.external_id}|{date.isoformat()}|{Decimal(str(amount)):.2f}|{repeats[key]}",
                date=date,
                amount=Decimal(str(amount)),
                margin=Decimal(str(round(amount * margin_rate, 2))),
            )
        )
    Transaction.objects.bulk_create(transactions, batch_size=5000)
    # The engine as if it had run every night for eight weeks: classes, fitted models, open
    # cases, exclusions. Coffee clients buy small but often, so the business calls every class
    # of them. Every segment holds 15% of its newly lost out as a control group, so that
    # the called and the control groups have the same mix of segments.
    Policy.objects.filter(segment__code="coffee").update(excluded_classes="")
    Policy.objects.update(control_share=0.15)
    for manager in managers:
        WeeklyPlan.objects.get_or_create(manager=manager, defaults=DEMO_PLAN)
    # Every working day of those weeks, the managers call their cases (``demo_calls``).
    calls_rng = random.Random(seed)
    pipeline_replay(
        end=today,
        days=REPLAY_DAYS,
        each_day=lambda day: demo_calls_day(day=day, end=today, rng=calls_rng),
    )
    result.clients = len(new_clients)
    result.transactions = len(transactions)
    demo_activity(today=today, seed=seed)  # calls and offers on the cases opened above
    # Last: three years of daily snapshots, so the owners' dashboard has history from day one.
    from reactivation.services.history import snapshots_backfill

    snapshots_backfill(start=first_day, end=today)
    # And the dashboard's figures of its default views, so that its first page is complete.
    from reactivation.services.figures import figures_defaults_compute

    figures_defaults_compute(as_of=today)
    return result
