"""The Celery application.

With ``REDIS_URL`` unset, tasks run in-process and eagerly (the embedded default); with it set,
Redis is the broker and ``worker`` / ``beat`` processes do the work (see README, "Scaling out").
"""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reactivation.settings")

app = Celery("reactivation")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Beat runs in UTC and only ticks: the tick reads the admin's nightly time and assignment day
# from BusinessSettings and starts whatever is due, so changing them needs no restart.
app.conf.beat_schedule = {
    "nightly-tick": {"task": "reactivation.nightly_tick", "schedule": crontab(minute="*/15")},
    # Restarts an import whose worker died and fails one past its time limit (docs/import.md).
    "import-watchdog": {"task": "clients.import_watchdog", "schedule": 60.0},
    # Webhook deliveries whose retry time has come (docs/api.md, "Webhooks").
    "webhooks-sweep": {"task": "webhooks.sweep", "schedule": 60.0},
    # New files in IMPORT_DROP_DIR, when it is set (docs/api.md, "The drop folder").
    "import-drop-folder": {"task": "api.import_drop_folder", "schedule": 60.0},
    # Recording copies past PHONE_RECORDING_RETENTION_DAYS (docs/telephony.md), once a day.
    "phone-recordings-purge": {
        "task": "telephony.phone_recordings_purge",
        "schedule": crontab(hour=4, minute=30),
    },
}
