"""A synthetic business at any size, loaded into the product's own tables by COPY.

    from benchmarks.synth import load_synthetic_base
    summary = load_synthetic_base(clients=1_000_000, transactions=10_000_000, seed=1)

PostgreSQL only (the DATABASE_URL database): it empties the product tables first, so never
point it at a database whose rows matter. Deterministic for a seed. What it makes:

- three segments with their policies (coffee every ~3 weeks, office supplies monthly,
  furniture every year and a half) and three managers (``bench-manager-1..3``) if the database
  has no manager yet;
- clients, each with an active span inside three years of history (60% still buying at the
  end, the rest stopped somewhere), transactions spread over that span (2% returns, a few zero
  lines, several lines on one day now and then), 60% assigned to a manager, 2% do-not-contact;
- every client's aggregates, cycle, status, ``due_on`` and ABC class current as of ``as_of``
  (computed here with the vectorised rules, identical to what ``rebuild_stats`` writes);
- optionally ``cases`` cases (open ones for lost clients, the rest closed in the past) and
  ``snapshots_days`` days of daily snapshots per segment and in total.

The indexes of the big tables are dropped during the COPY and rebuilt after it (much faster
than maintaining them row by row), then the tables are analysed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from reactivation import rules

HISTORY_DAYS = 3 * 365

SEGMENTS = [
    # code, name, typical cycle (days), typical check, margin rate, share of clients
    ("coffee", "Кофе в зёрнах", 21.0, 2400.0, 0.35, 0.45),
    ("office", "Канцтовары для офиса", 30.0, 7800.0, 0.25, 0.40),
    ("furniture", "Офисная мебель", 540.0, 96000.0, 0.30, 0.15),
]

PRODUCT_TABLES = [
    "calls_call",
    "reactivation_offer",
    "reactivation_queueexclusion",
    "reactivation_case",
    "reactivation_dailysnapshot",
    "reactivation_pipelinerun",
    "clients_transaction",
    "clients_clientstats",
    "clients_client",
]


@dataclass
class SynthSummary:
    clients: int
    transactions: int
    purchase_days: int
    as_of: dt.date
    first_day: dt.date
    status_counts: dict
    cases: int
    snapshots: int
    seconds: float


def _log(progress: Callable[[str], None] | None, message: str) -> None:
    if progress is not None:
        progress(message)


def _copy(cursor, table: str, columns: list[str], lines: list[str]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write("".join(lines))


STR = np.dtypes.StringDType()


def _text(values) -> np.ndarray:
    """A column as numpy variable-width strings (C-speed formatting; floats in their shortest
    round-trip form, which PostgreSQL reads back to the same double)."""
    array = np.asarray(values)
    return array if array.dtype == STR else array.astype(STR)


def _copy_columns(cursor, table: str, columns: list, arrays: list, chunk: int = 1_000_000) -> None:
    """COPY aligned columns (numbers or strings, ``\\N`` for NULL) in text format."""
    total = len(arrays[0])
    names = ", ".join(columns)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for start in range(0, total, chunk):
            rows = _text(arrays[0][start : start + chunk])
            for column in arrays[1:]:
                rows = np.strings.add(
                    np.strings.add(rows, "\t"), _text(column[start : start + chunk])
                )
            copy.write("\n".join(rows.tolist()) + "\n")


def _drop_indexes(cursor, table: str) -> list[str]:
    """Drop a table's secondary indexes and unique/foreign-key constraints; return the DDL that
    recreates them."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
        [table],
    )
    constraints = cursor.fetchall()
    recreate = [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for name, definition in constraints
    ]
    for name, _definition in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        [table],
    )
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    # Indexes first, then the constraints (a foreign key may rely on a unique index).
    return [definition for _name, definition in indexes] + recreate


def _managers(cursor) -> list[int]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from reactivation.roles import Role

    User = get_user_model()
    group, _created = Group.objects.get_or_create(name=Role.MANAGER)
    existing = list(User.objects.filter(groups=group).order_by("pk").values_list("pk", flat=True))
    if existing:
        return existing
    ids = []
    for number in (1, 2, 3):
        user, _created = User.objects.get_or_create(
            username=f"bench-manager-{number}",
            defaults={"first_name": "Bench", "last_name": f"Manager {number}"},
        )
        user.groups.add(group)
        ids.append(user.pk)
    return ids


def _segments() -> list[tuple[int, float, float, float, float, object]]:
    from clients.models import Segment
    from reactivation.models import Policy

    made = []
    for code, name, cycle, check, margin_rate, share in SEGMENTS:
        segment, _created = Segment.objects.get_or_create(code=code, defaults={"name": name})
        policy, _created = Policy.objects.get_or_create(
            segment=segment,
            defaults={
                "default_cycle_days": cycle,
                "min_cycle_days": max(1.0, cycle / 5),
                "max_cycle_days": cycle * 6,
            },
        )
        made.append((segment.pk, cycle, check, margin_rate, share, policy))
    Policy.objects.get_or_create(segment=None)
    return made


def load_synthetic_base(
    *,
    clients: int,
    transactions: int,
    seed: int = 1,
    cases: int = 0,
    snapshots_days: int = 0,
    as_of: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
) -> SynthSummary:
    """Empty the product tables and load a synthetic base (see the module docstring)."""
    # One transaction: the indexes dropped for the COPY come back even if the load fails
    # half-way (PostgreSQL's DDL is transactional).
    with transaction.atomic():
        return _fill(
            clients=clients,
            transactions=transactions,
            seed=seed,
            cases=cases,
            snapshots_days=snapshots_days,
            as_of=as_of,
            progress=progress,
        )


def _fill(
    *,
    clients: int,
    transactions: int,
    seed: int,
    cases: int,
    snapshots_days: int,
    as_of: dt.date | None,
    progress: Callable[[str], None] | None,
) -> SynthSummary:
    if connection.vendor != "postgresql":
        raise RuntimeError("The synthetic base is loaded by COPY: DATABASE_URL must be PostgreSQL.")
    if clients <= 0 or transactions < 0:
        raise ValueError("clients must be positive and transactions not negative")
    started = time.perf_counter()
    as_of = as_of or timezone.localdate()
    first_day = as_of - dt.timedelta(days=HISTORY_DAYS)
    rng = np.random.default_rng(seed)

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(PRODUCT_TABLES)} RESTART IDENTITY CASCADE")
    segments = _segments()
    with connection.cursor() as cursor:
        manager_ids = np.array(_managers(cursor), dtype=np.int64)

    # 1. Clients: segment, active span, how many transaction lines each.
    shares = np.array([s[4] for s in segments])
    seg_index = rng.choice(len(segments), size=clients, p=shares / shares.sum())
    seg_ids = np.array([s[0] for s in segments], dtype=np.int64)[seg_index]
    seg_cycle = np.array([s[1] for s in segments])[seg_index]
    seg_check = np.array([s[2] for s in segments])[seg_index]
    seg_margin = np.array([s[3] for s in segments])[seg_index]
    start = rng.integers(0, HISTORY_DAYS - 30, size=clients)
    still_buying = rng.random(clients) < 0.6
    stop = np.where(
        still_buying,
        HISTORY_DAYS,
        np.minimum(HISTORY_DAYS, start + 1 + rng.exponential(seg_cycle * 8)),
    ).astype(np.int64)
    span = stop - start + 1
    # Lines per client in proportion to how many cycles their span holds, summing exactly to
    # ``transactions`` (every client has at least one line when there are enough).
    weight = span / (seg_cycle * rng.gamma(6.0, 1 / 6.0, size=clients))
    weight = weight / weight.sum()
    base = 1 if transactions >= clients else 0
    extra = transactions - base * clients
    lines = base + rng.multinomial(extra, weight) if extra > 0 else np.full(clients, base)
    lines = lines.astype(np.int64)

    # 2. Transactions: days uniform inside each client's span, amounts around the segment's check.
    owner = np.repeat(np.arange(clients, dtype=np.int64), lines)
    day = start[owner] + np.floor(rng.random(owner.size) * span[owner]).astype(np.int64)
    amount = np.round(seg_check[owner] * rng.lognormal(0.0, 0.35, size=owner.size), 2)
    kind = rng.random(owner.size)
    amount = np.where(kind < 0.02, -np.round(amount * 0.3, 2), amount)  # returns
    amount = np.where((kind >= 0.02) & (kind < 0.025), 0.0, amount)  # zero lines
    margin = np.round(amount * seg_margin[owner], 2)
    _log(progress, f"generated {owner.size:,} transactions for {clients:,} clients")

    # 3. Aggregates, as the product computes them: purchase days are distinct days with a
    # positive amount; revenue and margin sum every line (returns included).
    purchase = amount > 0
    keys = np.unique(owner[purchase] * (HISTORY_DAYS + 1) + day[purchase])
    key_owner, key_day = keys // (HISTORY_DAYS + 1), keys % (HISTORY_DAYS + 1)
    n_days = np.bincount(key_owner, minlength=clients)
    first = np.full(clients, -1, dtype=np.int64)
    last = np.full(clients, -1, dtype=np.int64)
    # keys are sorted by owner then day: first/last occurrence per owner.
    if keys.size:
        boundaries = np.flatnonzero(np.diff(key_owner)) + 1
        starts = np.concatenate([[0], boundaries])
        ends = np.concatenate([boundaries - 1, [keys.size - 1]])
        first[key_owner[starts]] = key_day[starts]
        last[key_owner[ends]] = key_day[ends]
    revenue = np.round(np.bincount(owner, weights=amount, minlength=clients), 2)
    margin_sum = np.round(np.bincount(owner, weights=margin, minlength=clients), 2)

    policies = [s[5] for s in segments]
    pol = {
        name: np.array([getattr(p, name) for p in policies])[seg_index]
        for name in (
            "prior_strength",
            "default_cycle_days",
            "min_cycle_days",
            "max_cycle_days",
            "sleeping_after",
            "flag_after",
        )
    }
    cycle = rules.cycle_days_array(
        purchase_days=n_days,
        span_days=np.where(n_days > 0, last - first, 0),
        prior_strength=pol["prior_strength"],
        default_cycle=pol["default_cycle_days"],
        min_cycle=pol["min_cycle_days"],
        max_cycle=pol["max_cycle_days"],
    )
    days_since = np.where(n_days > 0, HISTORY_DAYS - last, -1)
    codes = rules.status_array(
        days_since=days_since,
        cycle_days=cycle,
        sleeping_after=pol["sleeping_after"],
        flag_after=pol["flag_after"],
    )
    due = rules.due_offset_array(
        days_since=days_since,
        cycle_days=cycle,
        sleeping_after=pol["sleeping_after"],
        flag_after=pol["flag_after"],
    )

    # ABC by revenue over the trailing year: A = top 80% of revenue, B = next 15%, C = the rest.
    window = day >= HISTORY_DAYS - 365
    recent = np.bincount(owner[window], weights=amount[window], minlength=clients)
    order = np.argsort(-recent, kind="stable")
    positive = np.clip(recent[order], 0, None)
    cumulative = np.cumsum(positive) / max(positive.sum(), 1e-9)
    before = cumulative - positive / max(positive.sum(), 1e-9)
    abc_sorted = np.where(before < 0.80, "A", np.where(before < 0.95, "B", "C"))
    abc_sorted = np.where(positive > 0, abc_sorted, "C")
    abc = np.empty(clients, dtype="<U1")
    abc[order] = abc_sorted

    def to_date(offsets: np.ndarray) -> np.ndarray:
        """Day offsets from ``first_day`` as ISO dates; a negative offset is NULL."""
        top = int(offsets.max(initial=0))
        names = np.array(
            [(first_day + dt.timedelta(days=i)).isoformat() for i in range(top + 1)] + ["\\N"],
            dtype=STR,
        )
        return names[np.where(offsets >= 0, offsets, -1)]

    now = timezone.now().isoformat()
    ids = np.arange(1, clients + 1, dtype=np.int64)
    manager = np.where(
        rng.random(clients) < 0.6,
        manager_ids[rng.integers(0, manager_ids.size, size=clients)].astype(str),
        "\\N",
    )
    external = np.char.add("S", np.char.zfill(ids.astype(str), 8))
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        recreate_tx = _drop_indexes(cursor, "clients_transaction")
        recreate_cl = _drop_indexes(cursor, "clients_client")
        recreate_st = _drop_indexes(cursor, "clients_clientstats")
        _copy_columns(
            cursor,
            "clients_client",
            [
                "id",
                "external_id",
                "name",
                "phone",
                "email",
                "do_not_contact",
                "abc_class",
                "abc_pinned",
                "notes",
                "created_at",
                "updated_at",
                "manager_id",
                "segment_id",
            ],
            [
                ids,
                external,
                np.char.add("Client ", external),
                np.char.add("+7900", np.char.zfill(ids.astype(str), 7)),
                np.full(clients, ""),
                np.where(rng.random(clients) < 0.02, "t", "f"),
                abc,
                np.full(clients, "f"),
                np.full(clients, ""),
                np.full(clients, now),
                np.full(clients, now),
                manager,
                seg_ids,
            ],
        )
        _copy_columns(
            cursor,
            "clients_clientstats",
            [
                "client_id",
                "first_purchase_on",
                "last_purchase_on",
                "purchase_days",
                "revenue",
                "margin",
                "cycle_days",
                "status",
                "due_on",
                "segment_id",
            ],
            [
                ids,
                to_date(first),
                to_date(last),
                n_days,
                revenue,
                margin_sum,
                np.where(np.isnan(cycle), "\\N", cycle.astype(STR)),
                rules.STATUS_NAMES[codes],
                to_date(np.where(due >= 0, last + due, -1)),
                seg_ids,
            ],
        )
        _log(progress, "clients copied")
        tx_ids = np.arange(1, owner.size + 1, dtype=np.int64)
        _copy_columns(
            cursor,
            "clients_transaction",
            [
                "id",
                "identity",
                "external_id",
                "date",
                "amount",
                "margin",
                "promo_code",
                "created_at",
                "client_id",
            ],
            [
                tx_ids,
                np.strings.add("s:", tx_ids.astype(STR)),
                np.full(owner.size, "", dtype=STR),
                to_date(day),
                amount,
                margin,
                np.full(owner.size, "", dtype=STR),
                np.full(owner.size, now, dtype=STR),
                owner + 1,
            ],
        )
        _log(progress, "transactions copied")
        for statement in recreate_cl + recreate_st + recreate_tx:
            cursor.execute(statement)
        _log(progress, "indexes rebuilt")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('clients_client', 'id'), %s)", [clients]
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('clients_transaction', 'id'), %s)",
            [max(1, owner.size)],
        )

        made_cases = (
            _load_cases(cursor, rng, cases, codes, last, first_day, as_of, manager_ids, abc)
            if cases
            else 0
        )
        made_snapshots = (
            _load_snapshots(
                cursor, rng, snapshots_days, as_of, codes, seg_index, [s[0] for s in segments]
            )
            if snapshots_days
            else 0
        )
        cursor.execute("ANALYZE clients_client")
        cursor.execute("ANALYZE clients_clientstats")
        cursor.execute("ANALYZE clients_transaction")
        cursor.execute("ANALYZE reactivation_case")

    return SynthSummary(
        clients=clients,
        transactions=int(owner.size),
        purchase_days=int(keys.size),
        as_of=as_of,
        first_day=first_day,
        status_counts={str(rules.STATUS_NAMES[i]): int((codes == i).sum()) for i in range(4)},
        cases=made_cases,
        snapshots=made_snapshots,
        seconds=round(time.perf_counter() - started, 1),
    )


def _load_cases(cursor, rng, count, codes, last, first_day, as_of, manager_ids, abc) -> int:
    """Open cases for lost clients (up to all of them), the rest closed in the past year."""
    lost = np.flatnonzero(codes == 3)
    rng.shuffle(lost)
    n_open = min(count, lost.size, max(1, count // 2))
    open_clients = lost[:n_open]
    closed_clients = rng.integers(0, codes.size, size=count - n_open)
    client_index = np.concatenate([open_clients, closed_clients])
    is_open = np.arange(client_index.size) < n_open
    as_of_np = np.datetime64(as_of)
    opened = np.where(
        is_open,
        as_of_np - rng.integers(0, 56, size=client_index.size).astype("timedelta64[D]"),
        as_of_np - rng.integers(60, 365, size=client_index.size).astype("timedelta64[D]"),
    )
    closed = opened + rng.integers(1, 60, size=client_index.size).astype("timedelta64[D]")
    closed_status = rng.choice(
        ["won_back", "declined", "unreachable", "expired", "control"],
        size=client_index.size,
        p=[0.25, 0.2, 0.2, 0.25, 0.1],
    )
    status = np.where(is_open, "open", closed_status)
    is_control = np.where(status == "control", "t", "f")
    assigned = np.where(
        (status != "control") & (rng.random(client_index.size) < 0.8),
        manager_ids[rng.integers(0, manager_ids.size, size=client_index.size)].astype(str),
        "\\N",
    )
    now = timezone.now().isoformat()
    ids = np.arange(1, client_index.size + 1)
    _copy_columns(
        cursor,
        "reactivation_case",
        [
            "id",
            "status",
            "is_control",
            "assigned_on",
            "opened_on",
            "closed_on",
            "abc_class",
            "potential_value",
            "priority",
            "attempts",
            "close_note",
            "created_at",
            "updated_at",
            "assigned_to_id",
            "client_id",
        ],
        [
            ids,
            status,
            is_control,
            np.where(assigned == "\\N", "\\N", opened.astype(str)),
            opened.astype(str),
            np.where(is_open, "\\N", closed.astype(str)),
            abc[client_index],
            np.char.mod("%.2f", np.round(rng.lognormal(9, 1, size=client_index.size), 2)),
            np.char.mod("%.4f", rng.random(client_index.size)),
            rng.integers(0, 3, size=client_index.size),
            np.full(client_index.size, ""),
            np.full(client_index.size, now),
            np.full(client_index.size, now),
            assigned,
            client_index + 1,
        ],
    )
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence('reactivation_case', 'id'), %s)", [max(1, ids.size)]
    )
    # Each case carries its client's segment, as the gate writes it.
    cursor.execute(
        "UPDATE reactivation_case c SET segment_id = cl.segment_id "
        "FROM clients_client cl WHERE cl.id = c.client_id"
    )
    return int(ids.size)


def _load_snapshots(cursor, rng, days, as_of, codes, seg_index, segment_ids) -> int:
    """Daily snapshots drifting back from today's real counts (per segment and in total)."""
    rows = []
    for back in range(days, 0, -1):
        date = as_of - dt.timedelta(days=back)
        totals = np.zeros(11)
        for position, segment_id in enumerate([*segment_ids, None]):
            if segment_id is None:
                values = totals
            else:
                mask = seg_index == position
                counts = np.array([(codes[mask] == i).sum() for i in (1, 2, 3, 0)], dtype=float)
                drift = 1 + 0.0005 * back * rng.normal(0, 1, size=4)
                counts = np.maximum(0, np.round(counts * drift))
                buyers = max(1.0, round(counts[0] / 20 * rng.uniform(0.8, 1.2)))
                values = np.array(
                    [
                        *counts,
                        round(buyers * 3000 * rng.uniform(0.8, 1.2), 2),
                        buyers,
                        buyers,
                        round(buyers * 0.01),
                        round(buyers * 0.05),
                        round(buyers * 0.01),
                        round(buyers * 0.005),
                    ]
                )
                totals = totals + values
            rows.append(
                "\t".join(
                    [
                        date.isoformat(),
                        *[str(int(v)) for v in values[:4]],
                        f"{values[4]:.2f}",
                        *[str(int(v)) for v in values[5:]],
                        "\\N" if segment_id is None else str(segment_id),
                    ]
                )
                + "\n"
            )
    _copy(
        cursor,
        "reactivation_dailysnapshot",
        [
            "as_of",
            "active",
            "sleeping",
            "lost",
            "no_purchases",
            "revenue",
            "purchases",
            "buyers",
            "new_clients",
            "cases_opened",
            "cases_won",
            "cases_control",
            "segment_id",
        ],
        rows,
    )
    return len(rows)


def summary_dict(summary: SynthSummary) -> dict:
    return asdict(summary)
