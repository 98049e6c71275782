"""Only the ESP that e-mail is sent through gets its webhooks routed: another ESP's view has
no settings here and would answer every request with a server error."""

from __future__ import annotations

from reactivation.messaging.urls import esp_webhooks


def test_no_esp_webhooks_without_an_anymail_backend():
    assert esp_webhooks("django.core.mail.backends.smtp.EmailBackend") == []


def test_only_the_configured_esps_webhooks_are_routed():
    routes = [str(p.pattern) for p in esp_webhooks("anymail.backends.unisender_go.EmailBackend")]
    assert routes == ["unisender_go/tracking/"]
    mailgun = {str(p.pattern) for p in esp_webhooks("anymail.backends.mailgun.EmailBackend")}
    assert mailgun == {"^mailgun/inbound(_mime)?/$", "mailgun/tracking/"}
