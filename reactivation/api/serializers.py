"""The API's JSON shapes: what goes in (validated here) and what comes out (declared here so
that the OpenAPI schema says exactly what each answer holds)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from calls.models import Call, Reason, ScriptVersion
from calls.services import PROMISED
from clients.models import AbcClass, Status
from reactivation.models import Case, Offer, OfferTemplate
from reactivation.telephony.models import PhoneCall

EXTERNAL_ID_MAX = 64


class ErrorItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True, help_text="0-based position in a batch")
    id = serializers.CharField(allow_null=True, help_text="the item's id, when it has one")
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    errors = ErrorItemSerializer(many=True)


# --- Clients ---------------------------------------------------------------------------------------


class ClientSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    name = serializers.CharField()
    phone = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    segment = serializers.CharField(allow_null=True, help_text="the segment's code")
    abc_class = serializers.ChoiceField(choices=AbcClass.choices, allow_null=True)
    do_not_contact = serializers.BooleanField()
    status = serializers.ChoiceField(choices=Status.choices)
    cycle_days = serializers.FloatField(allow_null=True)
    first_purchase_on = serializers.DateField(allow_null=True)
    last_purchase_on = serializers.DateField(allow_null=True)
    due_on = serializers.DateField(allow_null=True, help_text="the next date the status can change")
    purchase_days = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    p_alive = serializers.FloatField(
        allow_null=True, help_text="the model's P(alive); null where the segment has no fit"
    )
    manager = serializers.CharField(allow_null=True, help_text="the manager's login")
    open_case = serializers.IntegerField(allow_null=True, help_text="the open case's id")


class ClientUpsertSerializer(serializers.Serializer):
    """A field left out is left as it is; ``name`` is needed to create a client."""

    name = serializers.CharField(max_length=255, required=False)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    do_not_contact = serializers.BooleanField(required=False)
    segment = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="code; empty clears",
    )
    manager = serializers.CharField(
        max_length=150,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="login; empty clears",
    )
    abc_class = serializers.ChoiceField(
        choices=AbcClass.choices,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="pins the class by hand; empty unpins it",
    )


# --- Transactions ----------------------------------------------------------------------------------


class TransactionItemSerializer(serializers.Serializer):
    """One purchase (or return). Values are read as the file import reads its cells; only the
    schema's documentation, the batch is checked item by item by the import's row parser."""

    id = serializers.CharField(
        max_length=64, help_text="the transaction's id: the batch is idempotent by it"
    )
    client = serializers.CharField(max_length=EXTERNAL_ID_MAX, help_text="the client's external id")
    date = serializers.CharField(help_text="ISO date, YYYY-MM-DD (DD.MM.YYYY is read too)")
    amount = serializers.CharField(
        help_text="a decimal, as a string or a number; negative: a return"
    )
    margin = serializers.CharField(required=False, allow_null=True)
    promo_code = serializers.CharField(max_length=40, required=False, allow_null=True)
    client_name = serializers.CharField(max_length=255, required=False, allow_null=True)
    phone = serializers.CharField(max_length=32, required=False, allow_null=True)
    email = serializers.CharField(max_length=254, required=False, allow_null=True)


class ClientStatusSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)


class BatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    clients_created = serializers.IntegerField()
    clients = ClientStatusSerializer(many=True)


# --- Offers ----------------------------------------------------------------------------------------


class OfferCheckSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    client = serializers.CharField(
        max_length=EXTERNAL_ID_MAX,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="the buyer's external id: a code of another client is refused",
    )
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="the purchase amount: the answer gives the discount on it",
    )


class OfferRedeemSerializer(OfferCheckSerializer):
    transaction = serializers.CharField(
        max_length=64, help_text="the purchase's transaction id: redeeming again with it is a no-op"
    )
    date = serializers.DateField(
        required=False, allow_null=True, help_text="the purchase date (today)"
    )


class OfferTermsSerializer(serializers.Serializer):
    code = serializers.CharField()
    client = serializers.CharField()
    kind = serializers.ChoiceField(choices=OfferTemplate.Kind.choices)
    value = serializers.DecimalField(max_digits=10, decimal_places=2)
    status = serializers.ChoiceField(choices=Offer.Status.choices)
    issued_on = serializers.DateField()
    expires_on = serializers.DateField()
    redeemed_on = serializers.DateField(allow_null=True)
    discount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    description = serializers.CharField(allow_blank=True)


class OfferSerializer(serializers.Serializer):
    code = serializers.CharField()
    client = serializers.CharField()
    kind = serializers.ChoiceField(choices=OfferTemplate.Kind.choices)
    value = serializers.DecimalField(max_digits=10, decimal_places=2)
    status = serializers.ChoiceField(choices=Offer.Status.choices)
    issued_on = serializers.DateField()
    expires_on = serializers.DateField()
    redeemed_on = serializers.DateField(allow_null=True)


# --- Cases and calls -------------------------------------------------------------------------------


class CaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    client = serializers.CharField(help_text="the client's external id")
    client_name = serializers.CharField()
    status = serializers.ChoiceField(choices=Case.Status.choices)
    is_control = serializers.BooleanField()
    assigned_to = serializers.CharField(allow_null=True)
    assigned_on = serializers.DateField(allow_null=True)
    opened_on = serializers.DateField()
    closed_on = serializers.DateField(allow_null=True)
    abc_class = serializers.CharField(allow_null=True)
    potential_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    priority = serializers.FloatField()
    attempts = serializers.IntegerField()
    next_call_on = serializers.DateField(allow_null=True)
    last_call_at = serializers.DateTimeField(allow_null=True)
    last_reason = serializers.CharField(allow_null=True, help_text="the reason's code")


class CallSerializer(serializers.Serializer):
    """A call on the case: typed on the call form, with the phone system's fields of the call
    it records; or logged by the phone system alone (``id`` and ``outcome`` null)."""

    id = serializers.IntegerField(allow_null=True)
    case = serializers.IntegerField()
    called_at = serializers.DateTimeField(allow_null=True)
    manager = serializers.CharField(allow_null=True)
    outcome = serializers.ChoiceField(choices=Call.Outcome.choices, allow_null=True)
    reason = serializers.CharField(allow_null=True)
    notes = serializers.CharField(allow_blank=True)
    next_call_on = serializers.DateField(allow_null=True)
    script_version = serializers.IntegerField(allow_null=True)
    answers = serializers.DictField(child=serializers.CharField(allow_blank=True))
    direction = serializers.ChoiceField(choices=PhoneCall.Direction.choices, allow_null=True)
    result = serializers.ChoiceField(choices=PhoneCall.Result.choices, allow_null=True)
    duration = serializers.IntegerField(allow_null=True, help_text="seconds")
    started_at = serializers.DateTimeField(allow_null=True)
    recording = serializers.CharField(
        allow_null=True, help_text="the path that plays the recording (the case's access rule)"
    )


class CallInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Call.Outcome.choices)
    reason = serializers.CharField(
        max_length=40,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="a reason's code",
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    next_call_on = serializers.DateField(required=False, allow_null=True)
    answers = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=1000), required=False
    )
    next_call_time = serializers.TimeField(required=False, allow_null=True)
    # As on the call form: keep the case open, close it as declined, or record a promise to
    # buy. Only a purchase wins a case back.
    close_as = serializers.ChoiceField(
        choices=["", Case.Status.DECLINED, PROMISED], required=False, allow_blank=True
    )
    script_version = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**63 - 1
    )

    def validate_reason(self, value: str | None) -> Any:
        if not value:
            return None
        reason = Reason.objects.filter(code=value, active=True).first()
        if reason is None:
            raise serializers.ValidationError(_("There is no active reason with this code."))
        return reason

    def validate_script_version(self, value: int | None) -> Any:
        if value is None:
            return None
        version = ScriptVersion.objects.filter(pk=value).first()
        if version is None:
            raise serializers.ValidationError(_("There is no script version with this id."))
        return version


# --- Phone calls, consents, messages, offers issued by the API ----------------------------------


class PhoneCallSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    direction = serializers.CharField()
    number = serializers.CharField(allow_blank=True)
    extension = serializers.CharField(allow_blank=True)
    manager = serializers.CharField(allow_null=True)
    result = serializers.CharField(allow_blank=True)
    started_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    duration = serializers.IntegerField(allow_null=True, help_text="seconds")


class ConsentSerializer(serializers.Serializer):
    channel = serializers.CharField()
    purpose = serializers.CharField()
    granted = serializers.BooleanField()
    source = serializers.CharField()
    text_version = serializers.CharField(allow_blank=True)
    address = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)
    recorded_at = serializers.DateTimeField()


class ConsentStateSerializer(serializers.Serializer):
    channel = serializers.CharField()
    purpose = serializers.CharField()
    granted = serializers.BooleanField(allow_null=True, help_text="null: never asked")
    recorded_at = serializers.DateTimeField(allow_null=True)


class ConsentsSerializer(serializers.Serializer):
    current = ConsentStateSerializer(many=True)
    history = ConsentSerializer(many=True)


class ConsentInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=["sms", "email", "telegram", "phone"])
    purpose = serializers.ChoiceField(choices=["advertising", "service"], default="advertising")
    granted = serializers.BooleanField()
    text_version = serializers.CharField(required=False, allow_blank=True, max_length=40)
    note = serializers.CharField(required=False, allow_blank=True, max_length=255)


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.IntegerField()
    channel = serializers.CharField()
    purpose = serializers.CharField()
    to = serializers.CharField()
    subject = serializers.CharField(allow_blank=True)
    text = serializers.CharField()
    status = serializers.CharField()
    error = serializers.CharField(allow_blank=True)
    offer = serializers.CharField(allow_null=True, help_text="the offer's code")
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)


class OfferIssueSerializer(serializers.Serializer):
    template = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="an offer template's id"
    )
    channel = serializers.ChoiceField(
        choices=["call", "sms", "email", "telegram"],
        default="call",
        help_text="call: issue the code for the manager to tell; sms, email, telegram: also send it",
    )


class OfferIssuedSerializer(serializers.Serializer):
    offer = OfferSerializer()
    message = MessageSerializer(allow_null=True)
