"""A real Celery worker process for the tests that go through the broker (marked ``redis``).

It runs on the test database (its name in DATABASE_URL) and the test's Redis, in a session of
its own so that a signal reaches its pool too: the tests that kill a worker mid-run rely on it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from reactivation.celery import app

ROOT = Path(__file__).resolve().parent.parent


def start_worker(
    *, pool: str = "prefork", concurrency: int = 1, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start a worker and wait (60 s at most) until it answers a ping."""
    db = connection.settings_dict
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        **(env or {}),
    }
    command = [sys.executable, "-m", "celery", "-A", "reactivation", "worker", "-l", "warning"]
    command += ["--pool", pool, "--without-gossip", "--without-mingle"]
    if pool != "solo":
        command += ["-c", str(concurrency)]
    command += ["-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"]
    worker = subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1):
            return worker
        assert worker.poll() is None, "the worker exited at start-up"
    stop_worker(worker)
    pytest.fail("the Celery worker did not start within 60 s")


def stop_worker(worker: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to the worker and its pool (SIGKILL: no chance to clean up) and wait."""
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        worker.wait(30)


def wait_for(predicate, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail("timed out")


@pytest.fixture
def broker():
    """The broker, emptied before and after: tasks go through it to a real worker."""
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    app.control.purge()
    yield app
    app.control.purge()
