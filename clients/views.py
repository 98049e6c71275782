from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from clients import selectors
from clients.paginator import paginate
from reactivation.roles import member_required
from reactivation.selectors.model import client_estimate


@member_required
@vary_on_headers("HX-Request")
def client_list(request: HttpRequest) -> HttpResponse:
    filterset = selectors.client_list(filters=request.GET, user=request.user)
    page = paginate(filterset.qs, request.GET.get("page"), settings.CLIENT_LIST_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": filterset, "page": page, "query": query.urlencode()}
    template = "clients/client_list.html#results" if request.htmx else "clients/client_list.html"
    return render(request, template, context)


@member_required
def client_detail(request: HttpRequest, client_id: int) -> HttpResponse:
    client = selectors.client_get(client_id=client_id, user=request.user)
    transactions = paginate(selectors.client_transactions(client=client), request.GET.get("page"), 25)
    context = {
        "client": client,
        "transactions": transactions,
        "days_since": client.days_since_last_purchase(timezone.localdate()),
        "estimate": client_estimate(client, timezone.localdate()),
    }
    return render(request, "clients/client_detail.html", context)
