from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_subscriptions():
    # The cached subscriptions may name an endpoint of a rolled-back test: start from none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _quick_webhooks(settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_MAX_ATTEMPTS = 5
