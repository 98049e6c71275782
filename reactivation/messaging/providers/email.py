"""E-mail through Django's EMAIL_BACKEND: SMTP, the console in development, or any ESP through
django-anymail (Unisender Go, Mailgun, SendGrid...). An ESP's delivery and bounce webhooks
reach the message row through anymail's ``tracking`` signal (``messaging.receivers``).
"""

from __future__ import annotations

import smtplib
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage

from reactivation.messaging.providers.base import (
    PermanentProviderError,
    Provider,
    ProviderResult,
    TransientProviderError,
)
from reactivation.messaging.selectors import unsubscribe_url

try:  # anymail is installed, but its errors are only raised by its own backends
    from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
except ImportError:  # pragma: no cover
    AnymailAPIError = AnymailRecipientsRefused = None  # type: ignore[assignment,misc]


class EmailProvider(Provider):
    name = "email"
    channel = "email"

    def send(self, message: Any) -> ProviderResult:
        message_id = make_msgid(domain=settings.MESSAGES_EMAIL_DOMAIN)
        link = unsubscribe_url(client_id=message.client_id, channel="email")
        email = EmailMessage(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={
                "Message-ID": message_id,
                # RFC 8058 one-click unsubscribe: mail clients show their own button.
                "List-Unsubscribe": f"<{link}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentProviderError(f"SMTP: recipient refused {error.recipients}") from error
        except smtplib.SMTPServerDisconnected as error:
            raise TransientProviderError("SMTP: the server disconnected") from error
        except smtplib.SMTPResponseException as error:
            reason = f"SMTP {error.smtp_code}: {error.smtp_error!r}"
            if 400 <= error.smtp_code < 500:
                raise TransientProviderError(reason) from error
            raise PermanentProviderError(reason) from error
        except OSError as error:  # the network (SMTP errors are OSErrors too: handled above)
            raise TransientProviderError(f"SMTP: {error.__class__.__name__}") from error
        except Exception as error:
            if AnymailRecipientsRefused is not None and isinstance(error, AnymailRecipientsRefused):
                raise PermanentProviderError(f"ESP: {error}") from error
            if AnymailAPIError is not None and isinstance(error, AnymailAPIError):
                code = getattr(error, "status_code", None) or 0
                if code >= 500 or code == 429 or code == 0:
                    raise TransientProviderError(f"ESP: {error}") from error
                raise PermanentProviderError(f"ESP: {error}") from error
            raise
        # anymail gives the ESP's id, which its webhooks name; other backends keep ours.
        status = getattr(email, "anymail_status", None)
        esp_id = getattr(status, "message_id", None) if status is not None else None
        return ProviderResult(provider_id=str(message_id if esp_id in (None, "") else esp_id))
