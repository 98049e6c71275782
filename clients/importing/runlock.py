"""Which import job has a live run: a lock held by the run's own database session.

On PostgreSQL a run holds a session advisory lock keyed by its job for as long as it runs. A
worker that dies (``kill -9``, out of memory, a lost machine) drops its connection, and
PostgreSQL releases the lock with it, so whoever can take the lock knows that no live run holds
the job: a job still marked running is then a dead run's. SQLite has no such lock and no second
process to ask: there ``hold`` cannot tell, and only the job's time limit ends a dead run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection

# The two-key form of the advisory locks: (this class, the job id). The write phase's lock uses
# the one-key form, a separate key space.
LOCK_CLASS = 7_316_002

log = logging.getLogger(__name__)


@contextmanager
def hold(job_id: int) -> Iterator[bool | None]:
    """Hold the job's run lock for the block: yields True if taken, False if a live run holds
    it, None where the database cannot tell (SQLite)."""
    if connection.vendor != "postgresql":
        yield None
        return
    key = (LOCK_CLASS, job_id & 0x7FFFFFFF)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        taken = bool(cursor.fetchone()[0])
    try:
        yield taken
    finally:
        if taken:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            except DatabaseError:  # the connection is gone, and the lock with it
                log.warning("import job %s: its run lock could not be released", job_id)
                connection.close()
