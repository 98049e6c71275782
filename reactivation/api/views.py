"""The API's endpoints (``/api/v1/...``): thin views over the API's selectors and services,
which reuse the product's own scoping, import write path, offer and call services."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.services import CallError, CallInput, call_record
from reactivation.api import selectors, services
from reactivation.api import serializers as shapes
from reactivation.api.errors import ApiError, ItemError
from reactivation.api.permissions import AdminRole, AnyRole
from reactivation.selectors.case_page import case_get

User = get_user_model()
LARGEST_ID = 2**63 - 1
ERR_KEY_WITHOUT_USER = _("Recording a call needs a key that acts as a user.")


class KeyActor:
    """After the key is checked: what the rest of Django sees as the request's user (the audit
    history's "changed by") is the key's user, or nobody for a key without one; the API's own
    code reads the key's principal from DRF's ``request.user``."""

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)  # type: ignore[misc]
        principal = request.user
        request._request.user = principal if isinstance(principal, User) else AnonymousUser()


class Cursor(CursorPagination):
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000


class ClientCursor(Cursor):
    ordering = "external_id"


class CaseCursor(Cursor):
    ordering = "-id"


def _case(request: Request, case_id: str) -> Any:
    """The case the key may see (the case page's rule), else 404; an id past any row's is 404."""
    if not case_id.isdigit() or len(case_id) > 19 or int(case_id) > LARGEST_ID:
        raise ApiError(404, "not_found", _("Not found."))
    return case_get(case_id=int(case_id), user=request.user)


CASE_ID = OpenApiParameter("case_id", OpenApiTypes.INT, OpenApiParameter.PATH)
EXTERNAL_ID = OpenApiParameter("external_id", OpenApiTypes.STR, OpenApiParameter.PATH)


def _query(name: str, help_text: str, enum: list[str] | None = None) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.STR, OpenApiParameter.QUERY, description=help_text, enum=enum
    )


# --- Clients ---------------------------------------------------------------------------------------


class ClientListView(KeyActor, generics.GenericAPIView):
    permission_classes = [AnyRole]
    pagination_class = ClientCursor
    serializer_class = shapes.ClientSerializer

    @extend_schema(
        operation_id="clients_list",
        parameters=[
            _query("q", "searches name, phone, e-mail and external id"),
            _query("status", "active, sleeping, lost or none"),
            _query("segment", "a segment's code"),
            _query("manager", "a manager's login"),
            _query("abc_class", "A, B or C"),
        ],
        responses=shapes.ClientSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        queryset = selectors.clients_filtered(filters=request.query_params, user=request.user)
        page = self.paginate_queryset(queryset)
        rows = selectors.client_rows(page, user=request.user, today=timezone.localdate())
        return self.get_paginated_response(shapes.ClientSerializer(rows, many=True).data)


class ClientDetailView(KeyActor, APIView):
    def get_permissions(self) -> list[Any]:
        return [AdminRole()] if self.request.method == "PUT" else [AnyRole()]

    @extend_schema(
        operation_id="clients_read", parameters=[EXTERNAL_ID], responses=shapes.ClientSerializer
    )
    def get(self, request: Request, external_id: str) -> Response:
        client = selectors.client_get(external_id=external_id, user=request.user)
        row = selectors.client_rows([client], user=request.user, today=timezone.localdate())[0]
        return Response(shapes.ClientSerializer(row).data)

    @extend_schema(
        operation_id="clients_upsert",
        parameters=[EXTERNAL_ID],
        request=shapes.ClientUpsertSerializer,
        responses={200: shapes.ClientSerializer, 201: shapes.ClientSerializer},
    )
    def put(self, request: Request, external_id: str) -> Response:
        external_id = external_id.strip()
        if not external_id or len(external_id) > shapes.EXTERNAL_ID_MAX:
            message = _("An external id has 1 to 64 characters.")
            raise ApiError(400, "invalid", message, [ItemError(message, "external_id")])
        serializer = shapes.ClientUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        given = set(data)
        values = {name: data[name] for name in services.CLIENT_FIELDS if name in data}
        client, created = services.client_upsert(
            external_id=external_id,
            data=services.ClientInput(
                values=values,
                segment=data.get("segment"),
                manager=data.get("manager"),
                abc_class=data.get("abc_class"),
                given=given,
            ),
        )
        client = selectors.client_get(external_id=client.external_id, user=request.user)
        row = selectors.client_rows([client], user=request.user, today=timezone.localdate())[0]
        return Response(
            shapes.ClientSerializer(row).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


# --- Transactions ----------------------------------------------------------------------------------


class TransactionBatchView(KeyActor, APIView):
    permission_classes = [AdminRole]

    @extend_schema(
        operation_id="transactions_batch",
        request=shapes.TransactionItemSerializer(many=True),
        responses={200: shapes.BatchResultSerializer, 201: shapes.BatchResultSerializer},
        description=(
            "A batch of up to 10,000 transactions, all or nothing, idempotent by transaction id. "
            "201 when something was created, 200 when nothing was."
        ),
    )
    def post(self, request: Request) -> Response:
        result = services.transactions_record(request.data)
        body = {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "clients_created": result.clients_created,
            "clients": result.clients,
        }
        return Response(
            body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


# --- Offer codes -----------------------------------------------------------------------------------


class OfferValidateView(KeyActor, APIView):
    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="offers_validate",
        request=shapes.OfferCheckSerializer,
        responses={200: shapes.OfferTermsSerializer},
        description=(
            "200 with the offer's terms when the code can be used today; 404 code_unknown; "
            "409 code_other_client, code_used or code_expired."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = shapes.OfferCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        offer = services.offer_validate(
            code=data["code"],
            client=data.get("client") or None,
            user=request.user,
            today=timezone.localdate(),
        )
        return Response(
            shapes.OfferTermsSerializer(services.offer_terms(offer, data.get("amount"))).data
        )


class OfferRedeemView(KeyActor, APIView):
    permission_classes = [AdminRole]

    @extend_schema(
        operation_id="offers_redeem",
        request=shapes.OfferRedeemSerializer,
        responses={200: shapes.OfferTermsSerializer},
        description=(
            "Redeems the code with the purchase `transaction` (recorded with `amount` when it is "
            "not on file yet). The same transaction again gets the same 200; the answers of "
            "validate otherwise."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = shapes.OfferRedeemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        today = timezone.localdate()
        offer, _now = services.offer_redeem(
            code=data["code"],
            transaction_id=data["transaction"].strip(),
            client=data.get("client") or None,
            amount=data.get("amount"),
            on=data.get("date") or today,
            user=request.user,
            today=today,
        )
        return Response(
            shapes.OfferTermsSerializer(services.offer_terms(offer, data.get("amount"))).data
        )


# --- Cases and calls -------------------------------------------------------------------------------


class CaseListView(KeyActor, generics.GenericAPIView):
    permission_classes = [AnyRole]
    pagination_class = CaseCursor
    serializer_class = shapes.CaseSerializer

    @extend_schema(
        operation_id="cases_list",
        parameters=[
            _query("status", "open, won_back, declined, unreachable, expired or control"),
            _query("manager", "the assigned manager's login"),
            _query("week", "any date (YYYY-MM-DD) of a plan week: the cases assigned that week"),
        ],
        responses=shapes.CaseSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        queryset = selectors.cases_filtered(filters=request.query_params, user=request.user)
        page = self.paginate_queryset(queryset)
        rows = [selectors.case_row(case) for case in page]
        return self.get_paginated_response(shapes.CaseSerializer(rows, many=True).data)


class CaseDetailView(KeyActor, APIView):
    permission_classes = [AnyRole]

    @extend_schema(operation_id="cases_read", parameters=[CASE_ID], responses=shapes.CaseSerializer)
    def get(self, request: Request, case_id: str) -> Response:
        case = _case(request, case_id)
        if case.last_reason_id:
            case = type(case).objects.select_related(*selectors.CASE_RELATED).get(pk=case.pk)
        return Response(shapes.CaseSerializer(selectors.case_row(case)).data)


class CaseCallsView(KeyActor, APIView):
    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="cases_calls_list",
        parameters=[CASE_ID],
        responses=shapes.CallSerializer(many=True),
    )
    def get(self, request: Request, case_id: str) -> Response:
        case = _case(request, case_id)
        return Response(shapes.CallSerializer(selectors.case_calls(case), many=True).data)

    @extend_schema(
        operation_id="cases_calls_create",
        parameters=[CASE_ID],
        request=shapes.CallInputSerializer,
        responses={201: shapes.CallSerializer},
        description="Records a call outcome through the same service and rules as the call form.",
    )
    def post(self, request: Request, case_id: str) -> Response:
        case = _case(request, case_id)
        if getattr(request.user, "pk", None) is None:
            raise ApiError(403, "forbidden", ERR_KEY_WITHOUT_USER)
        serializer = shapes.CallInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            call = call_record(
                case=case,
                manager=request.user,
                data=CallInput(
                    outcome=data["outcome"],
                    reason=data.get("reason"),
                    notes=data.get("notes") or "",
                    next_call_on=data.get("next_call_on"),
                    answers=data.get("answers") or {},
                    close_as=data.get("close_as") or "",
                    next_call_time=data.get("next_call_time"),
                ),
                script_version=data.get("script_version"),
            )
        except CallError as exc:
            if exc.field:
                raise ApiError(
                    400, "invalid", exc.message, [ItemError(exc.message, exc.field)]
                ) from exc
            raise ApiError(409, "conflict", exc.message) from exc
        call = type(call).objects.select_related("manager", "reason").get(pk=call.pk)
        return Response(
            shapes.CallSerializer(selectors.call_row(call)).data, status=status.HTTP_201_CREATED
        )


class CaseOffersView(KeyActor, APIView):
    permission_classes = [AnyRole]

    @extend_schema(
        operation_id="cases_offers_list",
        parameters=[CASE_ID],
        responses=shapes.OfferSerializer(many=True),
    )
    def get(self, request: Request, case_id: str) -> Response:
        case = _case(request, case_id)
        return Response(shapes.OfferSerializer(selectors.case_offers(case), many=True).data)
