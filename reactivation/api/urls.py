"""The API's URLs: ``/api/v1/...`` without a trailing slash, the schema and its docs page."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from reactivation.api import views, views_exchange

app_name = "api"


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema, readable without a key (``?format=json`` for JSON)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the vendored files (drf-spectacular-sidecar), its start-up script served
    as a file of its own: the page runs under the product's strict CSP, with no inline script
    or style."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    template_name = "api/docs.html"
    url_name = "api:schema"


urlpatterns = [
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", DocsView.as_view(), name="docs"),
    path("api/v1/clients", views.ClientListView.as_view(), name="clients"),
    path("api/v1/clients/<str:external_id>", views.ClientDetailView.as_view(), name="client"),
    path("api/v1/transactions", views.TransactionBatchView.as_view(), name="transactions"),
    path("api/v1/offers/validate", views.OfferValidateView.as_view(), name="offers_validate"),
    path("api/v1/offers/redeem", views.OfferRedeemView.as_view(), name="offers_redeem"),
    path("api/v1/cases", views.CaseListView.as_view(), name="cases"),
    path("api/v1/cases/<str:case_id>", views.CaseDetailView.as_view(), name="case"),
    path("api/v1/cases/<str:case_id>/calls", views.CaseCallsView.as_view(), name="case_calls"),
    path(
        "api/v1/cases/<str:case_id>/offers",
        views_exchange.CaseOffersView.as_view(),
        name="case_offers",
    ),
    path(
        "api/v1/cases/<str:case_id>/messages",
        views_exchange.CaseMessagesView.as_view(),
        name="case_messages",
    ),
    path(
        "api/v1/clients/<str:external_id>/consents",
        views_exchange.ClientConsentsView.as_view(),
        name="client_consents",
    ),
    path("api/v1/calls", views_exchange.UnmatchedCallsView.as_view(), name="calls"),
]
