"""The one error a refused send raises, with a code the API maps and a translatable reason."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

REFUSALS = {
    "case_closed": _("Messages can be sent only on an open case."),
    "control": _("Control-group clients are never messaged."),
    "do_not_contact": _("This client asked not to be contacted."),
    "no_address": _("The client has no address for this channel."),
    "suppressed": _("This address is on the suppression list: the client unsubscribed."),
    "no_consent": _("The client has not consented to advertising by this channel."),
    "withdrawn": _("The client withdrew consent to advertising by this channel."),
    "service_withdrawn": _("The client withdrew consent to service messages by this channel."),
    "no_call": _("A service message goes only after a call in which the client asked for it."),
    "quiet_hours": _("Quiet hours: no messages by this channel now."),
    "cap": _("The client already got the most messages by this channel allowed for now."),
    "no_offer": _("The case has no valid offer to send."),
    "no_template": _("No message template exists for this channel."),
    "channel": _("Messages cannot be sent by this channel."),
}


class MessageRefused(Exception):
    """A send the rules refuse. Nothing was written."""

    def __init__(self, code: str, message: Any = None) -> None:
        self.code = code
        self.message = message if message is not None else REFUSALS[code]
        super().__init__(str(self.message))
