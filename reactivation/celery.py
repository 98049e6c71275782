"""The Celery application.

With ``REDIS_URL`` unset, tasks run in-process and eagerly (the embedded default); with it set,
Redis is the broker and ``worker`` / ``beat`` processes do the work (see README, "Scaling out").
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reactivation.settings")

app = Celery("reactivation")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
