"""Who was a customer when: the counts behind retention, churn and purchases per year.

A **customer** on a day is a client who has bought and is not lost on that day (active or
sleeping), judged by the product's own rule (``reactivation.rules``: the cycle from the
purchases up to that day and the segment's policy, the status from the days since the last
purchase). Everything here is computed from the transactions, set-wise: one read of every
(client, purchase day) up to the last date asked about, then numpy over the clients for each
date (a binary search per client for the purchases up to that date). Its cost follows the
purchase days read, not the number of dates.

- ``customers_between(start=..., end=..., segment_id=...)``: S, E, retained, returned, new for
  one period (see ``CustomerCounts``);
- ``PurchaseLog``: the read itself, for callers that need many dates from one read (the
  dashboard's months, the year behind churn and purchases per year).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Literal

import numpy as np
from django.db import connection

from reactivation import metrics, rules
from reactivation.policies import cycle_priors, policy_for_segments

EPOCH = dt.date(1970, 1, 1)
FETCH_CHUNK = 200_000
# Client index x STRIDE + day number orders every (client, day) pair in one int64 key.
STRIDE = 1 << 20


class Segments(enum.Enum):
    ALL = "all"


ALL_SEGMENTS = Segments.ALL
SegmentChoice = int | None | Literal[Segments.ALL]


@dataclass(frozen=True)
class CustomerCounts:
    """Customers of a period: ``end == retained + returned + new`` always.

    - ``start`` (S): customers at the end of the day before the period;
    - ``end`` (E): customers at the end of its last day;
    - ``retained``: customers at both ends;
    - ``new``: first purchase in the period and a customer at its end;
    - ``returned``: every other customer at its end (lost at the start, back by the end);
    - ``lost_at_end`` and ``clients_ever``: lost clients and clients who had bought, at the end.
    """

    start: int
    end: int
    retained: int
    returned: int
    new: int
    lost_at_end: int = 0
    clients_ever: int = 0

    @property
    def retention_rate(self) -> float | None:
        return metrics.retention_rate(retained=self.retained, start=self.start)


def _day(value: dt.date) -> int:
    return (value - EPOCH).days


def _day_number_sql() -> str:
    if connection.vendor == "postgresql":
        return "(t.date - DATE '1970-01-01')"
    return "CAST(julianday(t.date) - 2440587.5 AS INTEGER)"


@dataclass
class PurchaseLog:
    """Every (client, purchase day) up to ``until`` of the chosen segment, grouped by client.

    ``days`` holds each client's purchase days in order, ``starts[i]:starts[i + 1]`` the slice of
    client ``i`` (``client_ids[i]``); the rule's parameters are aligned with the clients.
    """

    until: dt.date
    client_ids: np.ndarray
    segments: np.ndarray  # each client's segment id, -1 for none
    starts: np.ndarray
    days: np.ndarray
    keys: np.ndarray
    parameters: dict[str, np.ndarray]

    @classmethod
    def load(cls, *, until: dt.date, segment_id: SegmentChoice = ALL_SEGMENTS) -> PurchaseLog:
        """One read of the purchase days (a day with a positive amount) up to ``until``."""
        if segment_id is ALL_SEGMENTS:
            where, params = "", [until]
        elif segment_id is None:
            where, params = "AND c.segment_id IS NULL", [until]
        else:
            where, params = "AND c.segment_id = %s", [until, segment_id]
        sql = (
            # A missing segment reads as -1 (segment ids are positive).
            f"SELECT t.client_id, COALESCE(c.segment_id, -1), {_day_number_sql()} AS day "  # noqa: S608
            "FROM clients_transaction t JOIN clients_client c ON c.id = t.client_id "
            f"WHERE t.amount > 0 AND t.date <= %s {where} "
            "GROUP BY t.client_id, c.segment_id, t.date ORDER BY t.client_id, t.date"
        )
        chunks = []
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(FETCH_CHUNK):
                chunks.append(np.asarray(rows, dtype=np.int64))
        table = np.concatenate(chunks) if chunks else np.zeros((0, 3), dtype=np.int64)
        return cls.from_rows(until=until, rows=table)

    @classmethod
    def from_rows(
        cls, *, until: dt.date, rows: np.ndarray, parameters: dict[str, float] | None = None
    ) -> PurchaseLog:
        """From (client id, segment id or -1, day number) rows ordered by client and day, with
        each segment's policy (or the given rule parameters for every client)."""
        clients, segments, days = rows[:, 0], rows[:, 1], rows[:, 2]
        first_of_client = np.ones(clients.size, dtype=bool)
        first_of_client[1:] = clients[1:] != clients[:-1]
        starts = np.flatnonzero(first_of_client)
        client_ids = clients[starts]
        index = np.cumsum(first_of_client) - 1
        keys = index * STRIDE + days
        return cls(
            until=until,
            client_ids=client_ids,
            segments=segments[starts],
            starts=np.append(starts, clients.size),
            days=days,
            keys=keys,
            parameters=(
                _rule_parameters(segments[starts])
                if parameters is None
                else {k: np.full(starts.size, v, dtype=np.float64) for k, v in parameters.items()}
            ),
        )

    @property
    def clients(self) -> int:
        return int(self.client_ids.size)

    def purchases_until(self, day: dt.date) -> np.ndarray:
        """Each client's purchase days up to and including ``day``."""
        if day > self.until:
            raise ValueError(f"the log was read only up to {self.until}")
        bounds = np.arange(self.clients, dtype=np.int64) * STRIDE + _day(day)
        return np.searchsorted(self.keys, bounds, side="right") - self.starts[:-1]

    def status_codes(self, day: dt.date, purchases: np.ndarray | None = None) -> np.ndarray:
        """Each client's status on ``day`` as ``rules.status_array`` codes (0 no purchase yet,
        1 active, 2 sleeping, 3 lost), by the cycle of their purchases up to that day."""
        n = self.purchases_until(day) if purchases is None else purchases
        has = n > 0
        first = self.days[self.starts[:-1]] if self.clients else np.zeros(0, dtype=np.int64)
        last_index = np.where(has, self.starts[:-1] + n - 1, self.starts[:-1])
        last = self.days[last_index] if self.clients else np.zeros(0, dtype=np.int64)
        p = self.parameters
        cycle = rules.cycle_days_array(
            purchase_days=n,
            span_days=np.where(has, last - first, 0),
            prior_strength=p["prior_strength"],
            default_cycle=p["default_cycle"],
            min_cycle=p["min_cycle"],
            max_cycle=p["max_cycle"],
        )
        return rules.status_array(
            days_since=np.where(has, _day(day) - last, -1),
            cycle_days=cycle,
            sleeping_after=p["sleeping_after"],
            flag_after=p["flag_after"],
        )

    def summaries(self, day: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(client index, x, t_x, T) in days on ``day`` for every client who had bought by then:
        repeat purchase days, first to last purchase, first purchase to ``day`` (the model's
        inputs, as ``services.modelfit.segment_summaries`` reads them)."""
        n = self.purchases_until(day)
        index = np.flatnonzero(n > 0)
        first = self.days[self.starts[:-1][index]]
        last = self.days[self.starts[:-1][index] + n[index] - 1]
        return (
            index,
            (n[index] - 1).astype(np.float64),
            (last - first).astype(np.float64),
            (_day(day) - first).astype(np.float64),
        )

    def bought_within(
        self, *, client_ids: np.ndarray, first: np.ndarray, last: np.ndarray
    ) -> np.ndarray:
        """For each (client, first day, last day) triple of day numbers: did the client buy on
        a day in ``[first, last]``? Clients not in the log never bought."""
        client_ids = np.asarray(client_ids, dtype=np.int64)
        if not self.clients:
            return np.zeros(client_ids.size, dtype=bool)
        position = np.minimum(np.searchsorted(self.client_ids, client_ids), self.clients - 1)
        known = self.client_ids[position] == client_ids
        low = np.searchsorted(self.keys, position * STRIDE + np.asarray(first), side="left")
        high = np.searchsorted(self.keys, position * STRIDE + np.asarray(last), side="right")
        return known & (high > low)

    def counts_between(self, *, start: dt.date, end: dt.date) -> CustomerCounts:
        """S, E, retained, returned and new for ``[start, end]`` (``end`` <= the log's end)."""
        if end < start:
            raise ValueError("the period ends before it starts")
        before_day = start - dt.timedelta(days=1)
        n_before = self.purchases_until(before_day)
        n_end = self.purchases_until(end)
        at_start = _is_customer(self.status_codes(before_day, n_before))
        codes_end = self.status_codes(end, n_end)
        at_end = _is_customer(codes_end)
        retained = int(np.count_nonzero(at_start & at_end))
        new = int(np.count_nonzero(at_end & (n_before == 0)))
        customers_end = int(np.count_nonzero(at_end))
        return CustomerCounts(
            start=int(np.count_nonzero(at_start)),
            end=customers_end,
            retained=retained,
            returned=customers_end - retained - new,
            new=new,
            lost_at_end=int(np.count_nonzero(codes_end == 3)),
            clients_ever=int(np.count_nonzero(n_end > 0)),
        )

    def purchases_per_year(self, *, end: dt.date) -> tuple[int, int]:
        """(purchase days in the 365 days ending at ``end`` of the customers at their start,
        those customers): the inputs of ``metrics.purchases_per_year``."""
        year_before = end - dt.timedelta(days=metrics.DAYS_PER_YEAR)
        n_start = self.purchases_until(year_before)
        customers = _is_customer(self.status_codes(year_before, n_start))
        bought = self.purchases_until(end) - n_start
        return int(bought[customers].sum()), int(np.count_nonzero(customers))


def _is_customer(codes: np.ndarray) -> np.ndarray:
    return (codes == 1) | (codes == 2)


def _rule_parameters(segments: np.ndarray) -> dict[str, np.ndarray]:
    """The status rule's parameters of each client, as arrays aligned with ``segments`` (-1:
    no segment): the thresholds and bounds of their segment's policy (else the default one),
    and the cycle prior that policy uses there (fitted or typed, ``policies.cycle_priors``)."""
    policies = policy_for_segments()
    priors = cycle_priors()
    keys, inverse = np.unique(segments, return_inverse=True)
    rows = []
    for key in keys:
        segment_id = None if key < 0 else int(key)
        policy = policies.get(segment_id) or policies[None]
        prior = priors.get(segment_id) or priors[None]
        rows.append(
            (
                prior.prior_strength,
                prior.default_cycle,
                policy.min_cycle_days,
                policy.max_cycle_days,
                policy.sleeping_after,
                policy.flag_after,
            )
        )
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    names = (
        "prior_strength",
        "default_cycle",
        "min_cycle",
        "max_cycle",
        "sleeping_after",
        "flag_after",
    )
    return {name: table[inverse, column] for column, name in enumerate(names)}


def customers_between(
    *, start: dt.date, end: dt.date, segment_id: SegmentChoice = ALL_SEGMENTS
) -> CustomerCounts:
    """Customers at the start and end of ``[start, end]`` and how the end's came to be:
    ``end = retained + returned + new`` (see ``CustomerCounts``), for one segment (None: the
    clients without one) or the whole base (``ALL_SEGMENTS``)."""
    if end < start:
        raise ValueError("the period ends before it starts")
    return PurchaseLog.load(until=end, segment_id=segment_id).counts_between(start=start, end=end)
