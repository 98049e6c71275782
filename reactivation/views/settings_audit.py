"""The audit history, and the only deletions in the product (clients and transactions), which are
admin actions behind a confirmation and land in that history."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from clients.models import Client, Transaction
from clients.paginator import requested_page
from reactivation.roles import admin_required
from reactivation.selectors.audit import AuditFilters, audit_kinds, audit_list
from reactivation.services import admin as services
from reactivation.settings_forms import AuditFilterForm, ConfirmDeleteForm

AUDIT_PAGE_SIZE = 50


@admin_required
@vary_on_headers("HX-Request")
def settings_audit(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None, kinds=audit_kinds())
    data = form.cleaned_data if form.is_valid() else {}
    filters = AuditFilters(
        kind=data.get("kind") or "",
        user_id=data["user"].pk if data.get("user") else None,
        action=data.get("action") or "",
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        object_id=data.get("object_id"),
    )
    number = requested_page(request.GET.get("page"), AUDIT_PAGE_SIZE)
    page = audit_list(filters=filters, page=number, page_size=AUDIT_PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    template = (
        "reactivation/settings/audit.html#results"
        if request.htmx
        else "reactivation/settings/audit.html"
    )
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
@admin_required
def settings_client_delete(request: HttpRequest, client_id: int) -> HttpResponse:
    """GET shows what would go and asks for the external id; POST deletes."""
    client = get_object_or_404(Client.objects.select_related("segment", "manager"), pk=client_id)
    form = ConfirmDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.client_delete(
                client=client, user=request.user, confirm=form.cleaned_data["confirm"]
            )
        except ValidationError as error:
            form.add_error("confirm", error.message_dict.get("confirm", error.messages))
        else:
            messages.success(request, _("Client %(name)s deleted.") % {"name": client.name})
            return redirect("client_list")
    context = {
        "client": client,
        "form": form,
        "transactions": client.transactions.count(),
        "cases": client.cases.count(),
        "offers": client.offers.count(),
        "calls": client.calls.count(),
    }
    return render(request, "reactivation/settings/client_delete.html", context)


@require_http_methods(["GET", "POST"])
@admin_required
def settings_transaction_delete(request: HttpRequest, transaction_id: int) -> HttpResponse:
    row = get_object_or_404(Transaction.objects.select_related("client"), pk=transaction_id)
    if request.method == "POST":
        client = services.transaction_delete(transaction_row=row, user=request.user)
        messages.success(
            request, _("Transaction deleted; the client’s statistics are recalculated.")
        )
        return redirect("client_detail", client_id=client.pk)
    return render(request, "reactivation/settings/transaction_delete.html", {"row": row})
