"""The write phase of an import: the staging table the parsed rows wait in, the checks for
repeated ids, and the set-based statements that create clients and upsert transactions
(``write``), under one lock so that imports queue rather than interleave."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from clients.importing import errors, fields
from clients.importing.rows import COLUMNS
from clients.models import Client, ClientStats, Transaction
from clients.stats import analyze_after_bulk_write, refresh_clients

if TYPE_CHECKING:
    from clients.importing.result import ImportResult

# One key for every import's write phase: imports queue on it (pg_advisory_xact_lock).
IMPORT_LOCK_KEY = 7_316_001

# A client created by an import, from the staging row (``s``) that first names it.
NEW_CLIENT_COLUMNS = {
    "external_id": "s.client",
    "name": "COALESCE(s.name, '')",
    "phone": "COALESCE(s.phone, '')",
    "email": "COALESCE(s.email, '')",
    "segment_id": "s.segment_id",
    "manager_id": "s.manager_id",
}


def check_repeats(kind: str, staging: Staging, result: ImportResult) -> None:
    """Step 3: a transaction id or (in a clients file) a client twice in one file is an error."""
    if kind == fields.TRANSACTIONS:
        if fields.TRANSACTION_ID not in result.mapping:
            return
        key, code, field_name = "external_id", errors.DUPLICATE_ID, fields.TRANSACTION_ID
    else:
        key, code, field_name = "client", errors.DUPLICATE_CLIENT, fields.CLIENT
    sql = f"""
        SELECT s.line, s.{key}, f.first_line FROM {staging.name} s
        JOIN (SELECT {key}, MIN(line) AS first_line FROM {staging.name} WHERE {key} IS NOT NULL
              GROUP BY {key} HAVING COUNT(*) > 1) f ON f.{key} = s.{key}
        WHERE s.line > f.first_line ORDER BY s.line
    """  # noqa: S608 - identifiers are ours, values are parameters
    column = result.headers[result.mapping[field_name]] or field_name
    with connection.cursor() as cursor:
        cursor.execute(sql)
        for line, value, first in cursor.fetchall():
            result.report.add(row=line, column=column, code=code, value=value, first=first)


class Staging:
    """A temporary table holding the parsed rows of one import (one per import, per session)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.columns = COLUMNS[kind]
        self.name = f"import_{kind}_{uuid.uuid4().hex[:12]}"
        self.postgres = connection.vendor == "postgresql"

    def _types(self) -> dict[str, str]:
        if self.postgres:
            return {
                "line": "integer PRIMARY KEY",
                "date": "date",
                "amount": "numeric(14, 2)",
                "margin": "numeric(14, 2)",
                "segment_id": "bigint",
                "manager_id": "bigint",
            }
        return {
            "line": "INTEGER PRIMARY KEY",
            "amount": "TEXT",
            "margin": "NUMERIC",
            "segment_id": "INTEGER",
            "manager_id": "INTEGER",
        }

    def create(self) -> None:
        types = self._types()
        columns = ", ".join(f"{c} {types.get(c, 'text')}" for c in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMP TABLE {self.name} ({columns})")

    def load(self, rows: list[tuple]) -> None:
        names = ", ".join(self.columns)
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {self.name} ({names}) VALUES ({marks})", rows)  # noqa: S608

    @property
    def clients_name(self) -> str:
        """The write phase's table of the file's clients (dropped with the staging table)."""
        return f"{self.name}_clients"

    def analyze(self, name: str | None = None) -> None:
        if self.postgres:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {name or self.name}")

    def truncate(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {self.name}")

    def sample(self, limit: int) -> list[dict[str, Any]]:
        """The first rows as the Python reader would have given them (dates and amounts as text)."""
        texts = {
            "date": "to_char(date, 'YYYY-MM-DD')",
            "amount": "amount::text",
            "margin": "margin::text",
        }
        select = ", ".join(texts.get(c, c) for c in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {select} FROM {self.name} ORDER BY line LIMIT %s", [limit])  # noqa: S608
            return [dict(zip(self.columns, row, strict=True)) for row in cursor.fetchall()]

    def drop(self) -> None:
        with connection.cursor() as cursor:
            for name in (self.name, self.clients_name):
                cursor.execute(f"DROP TABLE IF EXISTS {name}")


def write(
    kind: str,
    staging: Staging,
    result: ImportResult,
    *,
    job_id: int | None,
    as_of: dt.date,
    dry_run: bool,
    before_commit: Callable[[ImportResult], None] | None = None,
) -> None:
    """Step 5: every write of the import in one transaction, under the import lock.

    ``before_commit`` runs last inside the transaction (the job records its outcome there, so
    the rows and the job's state commit together; raising rolls everything back)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            if staging.postgres:
                # Imports queue here instead of interleaving; the lock ends with the transaction.
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
                cursor.execute("SET LOCAL work_mem = '256MB'")
            if kind == fields.CLIENTS:
                touched = _write_clients(cursor, staging, result)
            else:
                touched = _write_transactions(cursor, staging, result, job_id=job_id)
        if touched and not dry_run:
            refresh_clients(client_ids=touched, as_of=as_of)
        if before_commit and not dry_run:
            before_commit(result)
        if dry_run:
            transaction.set_rollback(True)
    if not dry_run:  # the planner must see what was loaded before anything reads it again
        analyze_after_bulk_write(
            [m._meta.db_table for m in (Transaction, Client, ClientStats)],
            rows=result.created + result.updated + result.clients_created,
        )


def _insert_columns(
    model: type[Model],
    given: dict[str, str],
    now_param: Any,
    given_params: dict[str, Any] | None = None,
) -> tuple[str, str, list[Any]]:
    """(column list, select list, params) for an INSERT ... SELECT into ``model``'s table.

    ``given`` maps columns to SQL expressions (``%s`` takes its value from ``given_params``).
    Columns the import does not set take their field's default, so the statement keeps working
    when the model gains a column with a default.
    """
    given_params = given_params or {}
    names, expressions, params = [], [], []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key:
            continue
        column = model_field.column
        names.append(connection.ops.quote_name(column))
        if column in given:
            expressions.append(given[column])
            if column in given_params:
                params.append(given_params[column])
        elif getattr(model_field, "auto_now", False) or getattr(model_field, "auto_now_add", False):
            expressions.append("%s")
            params.append(now_param)
        elif model_field.null and not model_field.has_default():
            expressions.append("NULL")
        else:  # the field's default ('' for text fields without one)
            expressions.append("%s")
            params.append(model_field.get_db_prep_save(model_field.get_default(), connection))
    return ", ".join(names), ", ".join(expressions), params


def _now_param() -> Any:
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _distinct(staging: Staging, left: str, right: str) -> str:
    return f"{left} IS DISTINCT FROM {right}" if staging.postgres else f"{left} IS NOT {right}"


def _write_clients(cursor, staging: Staging, result: ImportResult) -> list[int]:
    """Update clients whose given values differ, insert the new ones; empty cells change nothing."""
    mapped = set(result.mapping)
    checks, sets = [], []
    for column, field_name in (
        ("name", fields.NAME),
        ("phone", fields.PHONE),
        ("email", fields.EMAIL),
        ("segment_id", fields.SEGMENT),
        ("manager_id", fields.MANAGER),
    ):
        if field_name in mapped:
            sets.append(f"{column} = COALESCE(s.{column}, c.{column})")
            checks.append(
                f"(s.{column} IS NOT NULL AND {_distinct(staging, 'c.' + column, 's.' + column)})"
            )
    now = _now_param()
    updated: list[int] = []
    if sets:
        cursor.execute(
            f"""UPDATE clients_client AS c SET {", ".join(sets)}, updated_at = %s
                FROM {staging.name} AS s WHERE c.external_id = s.client AND ({" OR ".join(checks)})
                RETURNING id""",  # noqa: S608
            [now],
        )
        updated = [row[0] for row in cursor.fetchall()]
    names, selects, params = _insert_columns(Client, NEW_CLIENT_COLUMNS, now)
    cursor.execute(
        f"""INSERT INTO clients_client ({names}) SELECT {selects} FROM {staging.name} AS s
            WHERE NOT EXISTS (SELECT 1 FROM clients_client AS c WHERE c.external_id = s.client)
            ORDER BY s.line RETURNING id""",  # noqa: S608
        params,
    )
    created = [row[0] for row in cursor.fetchall()]
    result.created = len(created)
    result.updated = len(updated)
    result.unchanged = result.rows - result.created - result.updated
    # The new clients' statistics rows are written by the refresh that follows.
    return updated + created


def _write_transactions(
    cursor, staging: Staging, result: ImportResult, *, job_id: int | None
) -> list[int]:
    """Create missing clients, number the rows into identities, update changed rows, insert new."""
    now = _now_param()
    # Byte order ("C") sorts far faster than a locale's and matches the identity index's order.
    collate = ' COLLATE "C"' if staging.postgres else ""
    # 1. The file's clients, each with the line that first names it: one pass over the rows,
    #    which the client inserts and the first-load check below then read instead.
    named = staging.clients_name
    cursor.execute(
        f"CREATE TEMP TABLE {named} AS SELECT client, MIN(line) AS line FROM {staging.name} GROUP BY client"  # noqa: S608
    )
    staging.analyze(named)

    # 2. Clients named for the first time, with the details of the first row that names them,
    #    created in external-id order: on a first load their ids then follow the order of the
    #    identities, so the rows go into both the identity and the (client, date) index in order.
    names, selects, params = _insert_columns(Client, NEW_CLIENT_COLUMNS, now)
    cursor.execute(
        f"""INSERT INTO clients_client ({names}) SELECT {selects}
            FROM {named} AS f JOIN {staging.name} AS s ON s.line = f.line
            WHERE NOT EXISTS (SELECT 1 FROM clients_client AS c WHERE c.external_id = f.client)
            ORDER BY f.client{collate}""",  # noqa: S608
        params,
    )
    result.clients_created = max(cursor.rowcount, 0)

    # 3. Every row with its client id and identity (see docs/import.md, "Identity").
    if staging.postgres:
        key = "'k:' || s.client || '|' || to_char(s.date, 'YYYY-MM-DD') || '|' || s.amount::text"
    else:
        key = "'k:' || s.client || '|' || s.date || '|' || s.amount"
    # The client's id stands for its external id here (one to one): numbers sort faster.
    repeat = "ROW_NUMBER() OVER (PARTITION BY c.id, s.date, s.amount, s.external_id IS NULL ORDER BY s.line)"
    identity = f"{key} || '|' || {repeat}"
    if fields.TRANSACTION_ID in result.mapping:
        identity = (
            f"CASE WHEN s.external_id IS NOT NULL THEN 'id:' || s.external_id ELSE {identity} END"
        )
    numbered = f"""SELECT s.line AS line, c.id AS client_id, {identity} AS identity, s.date AS date,
                   s.amount AS amount, s.margin AS margin, s.promo_code AS promo_code,
                   s.external_id AS external_id
            FROM {staging.name} AS s JOIN clients_client AS c ON c.external_id = s.client"""  # noqa: S608
    names, selects, params = _insert_columns(
        Transaction,
        {
            "client_id": "n.client_id",
            "identity": "n.identity",
            "external_id": "COALESCE(n.external_id, '')",
            "date": "n.date",
            "amount": "n.amount",
            "margin": "n.margin",
            "promo_code": "COALESCE(n.promo_code, '')",
            "import_job_id": "%s",
        },
        now,
        {"import_job_id": job_id},
    )
    updatable = _updatable(result)
    touched: set[int] = set()
    if fields.TRANSACTION_ID in result.mapping:
        # A row moved to another client changes the old client's figures too.
        cursor.execute(
            f"""SELECT DISTINCT t.client_id FROM clients_transaction AS t
                JOIN {staging.name} AS s ON t.identity = 'id:' || s.external_id
                JOIN clients_client AS c ON c.external_id = s.client
                WHERE t.client_id <> c.id"""  # noqa: S608
        )
        touched = {row[0] for row in cursor.fetchall()}
    if staging.postgres:
        first = _insert_first_load(cursor, named, numbered, names, selects, params, result)
        if first is not None:
            touched |= first
        else:
            touched |= _upsert_transactions_postgres(
                cursor, staging, numbered, names, selects, params, updatable, result, job_id
            )
    else:
        touched |= _upsert_transactions_portable(
            cursor, staging, numbered, names, selects, params, updatable, result, job_id
        )
    cursor.execute(f"DROP TABLE {named}")
    result.unchanged = result.rows - result.created - result.updated
    if not (result.created or result.updated or result.clients_created):
        return []
    return sorted(touched)


def _updatable(result: ImportResult) -> list[tuple[str, bool]]:
    """(column, keep the stored value when the cell is empty) for values a re-import may change.

    With an id column the date, amount and client may change; without one they are the
    identity itself, so only margin and promo code can. An empty cell changes nothing.
    """
    columns = []
    if fields.TRANSACTION_ID in result.mapping:
        columns += [("client_id", False), ("date", False), ("amount", False)]
    for column, field_name in (("margin", fields.MARGIN), ("promo_code", fields.PROMO_CODE)):
        if field_name in result.mapping:
            columns.append((column, True))
    return columns


def _insert_first_load(
    cursor,
    named: str,
    numbered: str,
    names: str,
    selects: str,
    params: list[Any],
    result: ImportResult,
) -> set[int] | None:
    """A first load (no client the file names has a transaction yet): a plain INSERT, without
    the ON CONFLICT machinery and in the order the numbering already sorted the rows in.

    Returns the clients touched, or None when the upsert must run instead: some client already
    has transactions, or (rarely) an identity turned out to exist after all, e.g. a row with a
    transaction id stored under another client; the INSERT then fails on the unique identity
    and is rolled back to its savepoint, so the result is always the upsert's.
    """
    cursor.execute(
        f"""SELECT c.id, EXISTS (SELECT 1 FROM clients_transaction AS t WHERE t.client_id = c.id)
            FROM clients_client AS c
            JOIN {named} AS f ON f.client = c.external_id"""  # noqa: S608
    )
    clients: set[int] = set()
    for client_id, has_transactions in cursor.fetchall():
        if has_transactions:
            return None
        clients.add(client_id)
    try:
        with transaction.atomic():
            cursor.execute(
                f"INSERT INTO clients_transaction ({names}) SELECT {selects} FROM ({numbered}) AS n",  # noqa: S608
                params,
            )
    except IntegrityError:
        return None
    result.created += cursor.rowcount
    return clients


def _upsert_transactions_postgres(
    cursor,
    staging: Staging,
    numbered: str,
    names: str,
    selects: str,
    params: list[Any],
    updatable: list[tuple[str, bool]],
    result: ImportResult,
    job_id: int | None,
) -> set[int]:
    """One INSERT ... ON CONFLICT DO UPDATE; rows go in identity order so the unique index and
    the (client, date) index are filled nearly sequentially."""
    if updatable:
        sets = [
            f"{c} = COALESCE(EXCLUDED.{c}, t.{c})" if keep else f"{c} = EXCLUDED.{c}"
            for c, keep in updatable
        ]
        checks = [
            f"(EXCLUDED.{c} IS NOT NULL AND t.{c} IS DISTINCT FROM EXCLUDED.{c})"
            if keep
            else f"t.{c} IS DISTINCT FROM EXCLUDED.{c}"
            for c, keep in updatable
        ]
        conflict = f"DO UPDATE SET {', '.join(sets)}, import_job_id = EXCLUDED.import_job_id WHERE {' OR '.join(checks)}"
    else:
        conflict = "DO NOTHING"
    cursor.execute(
        f"""WITH done AS (
                INSERT INTO clients_transaction AS t ({names}) SELECT {selects} FROM ({numbered}) AS n
                ORDER BY n.identity COLLATE "C"
                ON CONFLICT (identity) {conflict}
                RETURNING t.client_id, (t.xmax = 0) AS inserted)
            SELECT client_id, COUNT(*) FILTER (WHERE inserted), COUNT(*) FILTER (WHERE NOT inserted)
            FROM done GROUP BY client_id""",  # noqa: S608
        params,
    )
    touched = set()
    for client_id, inserted, updated in cursor.fetchall():
        touched.add(client_id)
        result.created += inserted
        result.updated += updated
    return touched


def _upsert_transactions_portable(
    cursor,
    staging: Staging,
    numbered: str,
    names: str,
    selects: str,
    params: list[Any],
    updatable: list[tuple[str, bool]],
    result: ImportResult,
    job_id: int | None,
) -> set[int]:
    """The PostgreSQL statement's work in portable steps: number, update, insert."""
    table = f"{staging.name}_n"
    cursor.execute(f"CREATE TEMP TABLE {table} AS {numbered}")
    try:
        cursor.execute(f"CREATE INDEX {table}_identity ON {table} (identity)")
        changed: set[int] = set()
        if updatable:
            sets = [
                f"{c} = COALESCE(n.{c}, t.{c})" if keep else f"{c} = n.{c}" for c, keep in updatable
            ]
            checks = [
                f"(n.{c} IS NOT NULL AND {_distinct(staging, 't.' + c, 'n.' + c)})"
                if keep
                else _distinct(staging, "t." + c, "n." + c)
                for c, keep in updatable
            ]
            cursor.execute(
                f"""UPDATE clients_transaction AS t SET {", ".join(sets)}, import_job_id = %s
                    FROM {table} AS n WHERE t.identity = n.identity AND ({" OR ".join(checks)})
                    RETURNING client_id""",  # noqa: S608
                [job_id],
            )
            changed = {row[0] for row in cursor.fetchall()}
            result.updated = cursor.rowcount if cursor.rowcount >= 0 else len(changed)
        cursor.execute(
            f"""INSERT INTO clients_transaction ({names}) SELECT {selects} FROM {table} AS n WHERE 1 = 1
                ORDER BY n.identity ON CONFLICT (identity) DO NOTHING""",  # noqa: S608
            params,
        )
        result.created = max(cursor.rowcount, 0)
        if not result.created:
            return changed
        cursor.execute(f"SELECT DISTINCT client_id FROM {table}")  # noqa: S608
        return changed | {row[0] for row in cursor.fetchall()}
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
