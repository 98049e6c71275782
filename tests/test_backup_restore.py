"""The backup and restore procedure of docs/operations.md, run once on PostgreSQL: dump the
database with pg_dump, restore it into an empty database with pg_restore, and find the same
rows in every table; then drop that database and restore again, as after losing a server."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from decimal import Decimal

import psycopg
import pytest
from django.db import connection

from calls import script_services
from reactivation.models import Policy
from reactivation.services import admin as services
from tests.factories import CaseFactory, ClientFactory, SegmentFactory, TransactionFactory

# Committed rows, so pg_dump sees them (the roles and default policy that a flush removes are
# put back by reactivation.bootstrap after it).
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is needed (apt-get install postgresql-client)"
    return path


def _env(params: dict) -> dict:
    env = {**os.environ}
    if params.get("PASSWORD"):
        env["PGPASSWORD"] = params["PASSWORD"]
    return env


def _conn_args(params: dict) -> list[str]:
    args = [
        "--host",
        params.get("HOST") or "127.0.0.1",
        "--username",
        params.get("USER") or "postgres",
    ]
    if params.get("PORT"):
        args += ["--port", str(params["PORT"])]
    return args


def _fingerprint(dsn: str) -> dict[str, tuple[int, str]]:
    """Row count and an md5 over every row (in primary-key order) of every table."""
    result = {}
    with psycopg.connect(dsn) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        for table in tables:
            count, digest = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"  # noqa: S608 - table names from the catalogue
            ).fetchone()
            result[table] = (count, digest)
    return result


def _dsn(params: dict, name: str) -> str:
    parts = [
        f"dbname={name}",
        f"host={params.get('HOST') or '127.0.0.1'}",
        f"user={params.get('USER') or 'postgres'}",
    ]
    if params.get("PORT"):
        parts.append(f"port={params['PORT']}")
    if params.get("PASSWORD"):
        parts.append(f"password={params['PASSWORD']}")
    return " ".join(parts)


def _run(args: list[str], params: dict) -> None:
    result = subprocess.run(args, env=_env(params), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_dump_drop_restore_gives_the_same_rows(tmp_path, admin_user, alice):
    # A business with data in the tables that matter, history included.
    segment = SegmentFactory(code="coffee", name="Кофе")
    clients = ClientFactory.create_batch(20, segment=segment, manager=alice)
    for number, client in enumerate(clients):
        TransactionFactory(
            client=client,
            date=dt.date(2026, 1, 1) + dt.timedelta(days=number),
            amount=Decimal("1234.50"),
        )
    CaseFactory(client=clients[0], assigned_to=alice, assigned_on=dt.date(2026, 11, 2))
    policy = Policy.objects.get(segment__isnull=True)
    policy.flag_after = 2.5
    services.policy_save(policy=policy, user=admin_user, as_of=dt.date(2026, 11, 20))
    script_services.script_create(
        name="Звонок",
        segment=None,
        user=admin_user,
        steps=[
            {"key": "hello", "title": "", "text": "Здравствуйте, {client_name}!", "choices": []}
        ],
    )
    connection.close()  # everything above is committed; pg_dump sees what a backup would

    params = connection.settings_dict
    source = params["NAME"]
    scratch = f"{source}_restore"
    dump = tmp_path / "crm.dump"
    conn = _conn_args(params)
    _run(
        [_tool("pg_dump"), *conn, "--format=custom", "--no-owner", "--file", str(dump), source],
        params,
    )
    assert dump.stat().st_size > 0

    expected = _fingerprint(_dsn(params, source))
    assert expected["clients_client"][0] == 20
    assert expected["clients_transaction"][0] == 20
    try:
        for _round in range(2):
            # Round 1 restores into a fresh database; round 2 drops it and restores again.
            _run([_tool("dropdb"), *conn, "--if-exists", scratch], params)
            _run([_tool("createdb"), *conn, scratch], params)
            _run(
                [
                    _tool("pg_restore"),
                    *conn,
                    "--no-owner",
                    "--exit-on-error",
                    "--dbname",
                    scratch,
                    str(dump),
                ],
                params,
            )
            assert _fingerprint(_dsn(params, scratch)) == expected
    finally:
        _run([_tool("dropdb"), *conn, "--if-exists", scratch], params)
