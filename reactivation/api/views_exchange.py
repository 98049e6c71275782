"""The API's endpoints over the phone and messaging rooms: unmatched phone calls, a client's
consents, a case's messages, and an offer issued (and sent) on a case. Thin views over those
rooms' own selectors and services, with their rules."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from reactivation.api import selectors, views
from reactivation.api import serializers as shapes
from reactivation.api.errors import ApiError, ItemError
from reactivation.api.permissions import AnyRole, _Roles
from reactivation.api.views import CASE_ID, EXTERNAL_ID, Cursor, KeyActor, _case
from reactivation.messaging import selectors as messaging_reads
from reactivation.messaging.errors import MessageRefused
from reactivation.messaging.models import ConsentSource
from reactivation.messaging.services import consent_record, offer_send
from reactivation.models import Offer, OfferTemplate
from reactivation.services.offers import OfferError, offer_issue
from reactivation.telephony.selectors import calls_unmatched

ERR_UNMATCHED_ONLY = _("Only the calls not matched to any client are listed: send unmatched=1.")
ERR_KEY_WITHOUT_USER = _("This needs a key that acts as a user.")
ERR_TEMPLATE = _("There is no offer template with this id.")


class AdminOrManager(_Roles):
    roles = frozenset({"admin", "manager"})


def _user_or_403(request: Request) -> Any:
    if getattr(request.user, "pk", None) is None:
        raise ApiError(403, "forbidden", ERR_KEY_WITHOUT_USER)
    return request.user


def _login(user: Any) -> str | None:
    return user.username if user is not None else None


class PhoneCallCursor(Cursor):
    ordering = "-id"


class UnmatchedCallsView(KeyActor, generics.GenericAPIView):
    permission_classes = [AnyRole]
    pagination_class = PhoneCallCursor
    serializer_class = shapes.PhoneCallSerializer

    @extend_schema(
        operation_id="calls_list",
        parameters=[
            OpenApiParameter(
                "unmatched",
                str,
                OpenApiParameter.QUERY,
                required=True,
                enum=["1"],
                description="1: the phone calls from or to numbers no client has",
            )
        ],
        responses=shapes.PhoneCallSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        if request.query_params.get("unmatched") != "1":
            raise ApiError(
                400, "invalid", ERR_UNMATCHED_ONLY, [ItemError(ERR_UNMATCHED_ONLY, "unmatched")]
            )
        calls = calls_unmatched(user=request.user).order_by("-id")
        page = self.paginate_queryset(calls)
        rows = [
            {
                "id": call.pk,
                "direction": call.direction,
                "number": call.number,
                "extension": call.extension,
                "manager": _login(call.manager),
                "result": call.result,
                "started_at": call.started_at,
                "answered_at": call.answered_at,
                "ended_at": call.ended_at,
                "duration": call.duration,
            }
            for call in page
        ]
        return self.get_paginated_response(shapes.PhoneCallSerializer(rows, many=True).data)


def _consent(consent: Any) -> dict:
    return {
        "channel": consent.channel,
        "purpose": consent.purpose,
        "granted": consent.granted,
        "source": consent.source,
        "text_version": consent.text_version,
        "address": consent.address,
        "note": consent.note,
        "recorded_at": consent.recorded_at,
    }


class ClientConsentsView(KeyActor, APIView):
    def get_permissions(self) -> list[Any]:
        return [AdminOrManager()] if self.request.method == "POST" else [AnyRole()]

    def _body(self, client: Any) -> dict:
        current = [
            {
                "channel": row.channel,
                "purpose": row.purpose,
                "granted": row.latest.granted if row.latest else None,
                "recorded_at": row.latest.recorded_at if row.latest else None,
            }
            for row in messaging_reads.client_consents(client=client)
        ]
        history = [_consent(c) for c in messaging_reads.consent_history(client=client)]
        return shapes.ConsentsSerializer({"current": current, "history": history}).data

    @extend_schema(
        operation_id="clients_consents_read",
        parameters=[EXTERNAL_ID],
        responses=shapes.ConsentsSerializer,
    )
    def get(self, request: Request, external_id: str) -> Response:
        client = selectors.client_get(external_id=external_id, user=request.user)
        return Response(self._body(client))

    @extend_schema(
        operation_id="clients_consents_record",
        parameters=[EXTERNAL_ID],
        request=shapes.ConsentInputSerializer,
        responses={201: shapes.ConsentsSerializer},
        description="Appends a grant or a withdrawal (source api); the latest record is the consent as it stands.",
    )
    def post(self, request: Request, external_id: str) -> Response:
        client = selectors.client_get(external_id=external_id, user=request.user)
        serializer = shapes.ConsentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            consent_record(
                client=client,
                channel=data["channel"],
                purpose=data["purpose"],
                granted=data["granted"],
                source=ConsentSource.API,
                text_version=data.get("text_version") or "",
                note=data.get("note") or "",
                recorded_by=request._request.user,
            )
        except ValidationError as exc:
            errors = [ItemError(str(m), name) for name, ms in exc.message_dict.items() for m in ms]
            raise ApiError(400, "invalid", errors[0].message, errors) from exc
        return Response(self._body(client), status=status.HTTP_201_CREATED)


def _messages(messages: list[Any]) -> list[dict]:
    """The messages as the API shows them; the offers' codes read in one query."""
    codes = dict(
        Offer.objects.filter(pk__in={m.offer_id for m in messages if m.offer_id}).values_list(
            "pk", "code"
        )
    )
    return [
        {
            "id": message.pk,
            "case": message.case_id,
            "channel": message.channel,
            "purpose": message.purpose,
            "to": message.to,
            "subject": message.subject,
            "text": message.text,
            "status": message.status,
            "error": message.error,
            "offer": codes.get(message.offer_id),
            "created_at": message.created_at,
            "sent_at": message.sent_at,
        }
        for message in messages
    ]


class CaseMessagesView(KeyActor, APIView):
    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="cases_messages_list",
        parameters=[CASE_ID],
        responses=shapes.MessageSerializer(many=True),
    )
    def get(self, request: Request, case_id: str) -> Response:
        case = _case(request, case_id)
        rows = _messages(messaging_reads.case_messages(case=case))
        return Response(shapes.MessageSerializer(rows, many=True).data)


class CaseOffersView(views.CaseOffersView):
    """A case's offers (``GET``), and a new one (``POST``)."""

    @extend_schema(
        operation_id="cases_offers_create",
        parameters=[CASE_ID],
        request=shapes.OfferIssueSerializer,
        responses={201: shapes.OfferIssuedSerializer},
        description="Issues an offer from a template by the offer service's rules; with a channel "
        "other than call, sends it by the messaging rules too (a refused send issues nothing).",
    )
    def post(self, request: Request, case_id: str) -> Response:
        return offer_issue_on_case(request, _case(request, case_id))


def offer_issue_on_case(request: Request, case: Any) -> Response:
    """``POST /api/v1/cases/{id}/offers``: issue an offer from a template, by the offer
    service's rules; with a channel other than ``call``, send it by the messaging room's
    service and its rules (consent, suppression, quiet hours...): a refused send issues
    nothing."""
    user = _user_or_403(request)
    serializer = shapes.OfferIssueSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    template = OfferTemplate.objects.filter(pk=data["template"]).first()
    if template is None:
        raise ApiError(400, "invalid", ERR_TEMPLATE, [ItemError(ERR_TEMPLATE, "template")])
    message = None
    try:
        if data["channel"] == "call":
            offer = offer_issue(case=case, template=template, by=user)
        else:
            message = offer_send(case=case, channel=data["channel"], by=user, template=template)
            offer = Offer.objects.get(pk=message.offer_id)
    except OfferError as exc:
        raise ApiError(409, "conflict", exc.message) from exc
    except MessageRefused as exc:
        raise ApiError(409, "message_refused", exc.message) from exc
    offer_row = next(row for row in selectors.case_offers(case) if row["code"] == offer.code)
    body = {"offer": offer_row, "message": _messages([message])[0] if message else None}
    return Response(shapes.OfferIssuedSerializer(body).data, status=status.HTTP_201_CREATED)
