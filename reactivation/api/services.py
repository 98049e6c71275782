"""The API's writes: keys, a client by external id, a batch of transactions, offer codes.

The batch goes through the file import's own parts (``clients.importing``): the same row
parser (so the same values are accepted and refused, with the same reasons), the same staging
table, repeat check and set-based write under the import lock, and the same refresh of the
clients' statistics and statuses. What the nightly run would do next for these clients, the
API does in the same transaction: a purchase carrying an issued offer's code redeems it, and a
purchase while a case is open closes it as won back (``reactivation.services.lifecycle``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clients.importing import errors as import_errors
from clients.importing import fields
from clients.importing.messages import describe
from clients.importing.result import ImportResult
from clients.importing.rows import TRANSACTION_COLUMNS, Lookups, RowParser
from clients.importing.writes import Staging, check_repeats, write
from clients.models import Client, ClientStats, Segment, Transaction
from reactivation.api.errors import ApiError, ItemError
from reactivation.api.models import ApiKey
from reactivation.models import Case, Offer
from reactivation.roles import Role, roles_of
from reactivation.services import lifecycle
from reactivation.services import offers as offer_services

User = get_user_model()

MAX_BATCH = 10_000

# --- Keys ------------------------------------------------------------------------------------------

ERR_KEY_NAME = _("Give the key a name (at most 50 characters).")
ERR_KEY_NAME_TAKEN = _("A key with this name is in use; revoke it first or choose another name.")
ERR_KEY_ROLE = _("Choose a role: admin, manager or owner.")
ERR_KEY_NEEDS_USER = _("A manager's key acts as that manager: name the user.")
ERR_KEY_USER_INACTIVE = _("This user is not active.")
ERR_KEY_USER_ROLE = _("This user does not hold the role the key is for.")
ERR_KEY_UNKNOWN = _("There is no key in use with this name.")


class ApiKeyError(Exception):
    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


@transaction.atomic
def key_create(
    *, name: str, role: str, user: Any = None, created_by: Any = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is shown once and never stored (only
    its hash is). A key that acts as a user may not hold more than that user does."""
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise ApiKeyError(ERR_KEY_NAME, "name")
    if role not in Role.values:
        raise ApiKeyError(ERR_KEY_ROLE, "role")
    if role == Role.MANAGER and user is None:
        raise ApiKeyError(ERR_KEY_NEEDS_USER, "user")
    if user is not None:
        if not user.is_active:
            raise ApiKeyError(ERR_KEY_USER_INACTIVE, "user")
        held = roles_of(user)
        # An admin holds every role's view; otherwise the key's role must be one the user has.
        if role not in held and Role.ADMIN not in held:
            raise ApiKeyError(ERR_KEY_USER_ROLE, "user")
    if ApiKey.objects.filter(name=name, revoked=False).exists():
        raise ApiKeyError(ERR_KEY_NAME_TAKEN, "name")
    return ApiKey.objects.create_key(name=name, role=role, user=user, created_by=created_by)


def key_revoke(*, key: ApiKey | None = None, name: str | None = None) -> ApiKey:
    """Revoke a key in use (by the row or its name); it never works again."""
    queryset = ApiKey.objects.filter(revoked=False)
    key = (
        queryset.filter(pk=key.pk).first()
        if key is not None
        else queryset.filter(name=name).first()
    )
    if key is None:
        raise ApiKeyError(ERR_KEY_UNKNOWN, "name")
    key.revoked = True
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked", "revoked_at"])
    return key


# --- Clients ---------------------------------------------------------------------------------------

ERR_NAME_REQUIRED = _("A new client needs a name.")
ERR_UNKNOWN_SEGMENT = _("There is no segment with this code.")
ERR_UNKNOWN_MANAGER = _("There is no active manager with this login.")

CLIENT_FIELDS = ("name", "phone", "email", "notes", "do_not_contact")


@dataclass
class ClientInput:
    """What a ``PUT /clients/{external_id}`` gives; a field left out is left as it is."""

    values: dict[str, Any] = field(default_factory=dict)
    segment: str | None = None  # a code; "" clears it
    manager: str | None = None  # a login; "" clears it
    abc_class: str | None = None  # pinned by hand when given; "" unpins it
    given: set[str] = field(default_factory=set)


def _manager_by_login(login: str) -> Any:
    user = (
        User.objects.filter(username=login, is_active=True, groups__name=Role.MANAGER)
        .distinct()
        .first()
    )
    if user is None:
        raise ApiError(
            400, "invalid", ERR_UNKNOWN_MANAGER, [ItemError(ERR_UNKNOWN_MANAGER, "manager")]
        )
    return user


@transaction.atomic
def client_upsert(*, external_id: str, data: ClientInput) -> tuple[Client, bool]:
    """Create the client with this external id, or change the fields given. Returns
    (client, created). The statistics row of a new client is made by ``clients.signals``."""
    client = Client.objects.select_for_update().filter(external_id=external_id).first()
    created = client is None
    if created:
        if not (data.values.get("name") or "").strip():
            raise ApiError(
                400, "invalid", ERR_NAME_REQUIRED, [ItemError(ERR_NAME_REQUIRED, "name")]
            )
        client = Client(external_id=external_id)
    for name, value in data.values.items():
        setattr(client, name, value)
    if "segment" in data.given:
        if data.segment:
            segment = Segment.objects.filter(code=data.segment).first()
            if segment is None:
                raise ApiError(
                    400, "invalid", ERR_UNKNOWN_SEGMENT, [ItemError(ERR_UNKNOWN_SEGMENT, "segment")]
                )
            client.segment = segment
        else:
            client.segment = None
    if "manager" in data.given:
        client.manager = _manager_by_login(data.manager) if data.manager else None
    if "abc_class" in data.given:
        client.abc_class = data.abc_class or ""
        client.abc_pinned = bool(data.abc_class)
    client.save()
    return client, created


# --- Transactions ----------------------------------------------------------------------------------

# The batch's item fields, as the columns of a file the row parser reads.
ITEM_FIELDS = (
    ("client", fields.CLIENT),
    ("date", fields.DATE),
    ("amount", fields.AMOUNT),
    ("margin", fields.MARGIN),
    ("promo_code", fields.PROMO_CODE),
    ("id", fields.TRANSACTION_ID),
    ("client_name", fields.NAME),
    ("phone", fields.PHONE),
    ("email", fields.EMAIL),
)
HEADERS = [name for name, _field in ITEM_FIELDS]
MAPPING = {field_name: position for position, (_name, field_name) in enumerate(ITEM_FIELDS)}
ID_AT = HEADERS.index("id")
PROMO_CODE_AT = HEADERS.index("promo_code")
# Where a parsed row (the staging table's column order) holds the id and the client.
STAGED_ID_AT = TRANSACTION_COLUMNS.index("external_id")
STAGED_CLIENT_AT = TRANSACTION_COLUMNS.index("client")

ERR_BATCH_NOT_LIST = _("Send a JSON array of transactions.")
ERR_BATCH_EMPTY = _("The batch is empty.")
ERR_BATCH_TOO_LARGE = _("A batch holds at most %(limit)s transactions.")
ERR_BATCH_BAD_ITEMS = _("Invalid transactions: %(count)s. Nothing was written.")
ERR_ITEM_NOT_OBJECT = _("Each transaction is a JSON object.")
ERR_ITEM_TYPE = _("Give a string or a number.")
ERR_ITEM_REPEATED = _("This transaction id already appears at index %(first)s.")


@dataclass
class BatchResult:
    created: int
    updated: int
    unchanged: int
    clients_created: int
    clients: list[dict[str, str]]


def _cells(item: dict[str, Any]) -> tuple[list[Any], list[tuple[str, Any]]]:
    """An item as a row of cells in ``HEADERS`` order, and the fields of a wrong JSON type."""
    cells: list[Any] = []
    wrong: list[tuple[str, Any]] = []
    for name in HEADERS:
        value = item.get(name)
        if value is None or type(value) is str:
            pass
        elif isinstance(value, bool | dict | list):
            wrong.append((name, ERR_ITEM_TYPE))
            value = None
        elif isinstance(value, Decimal | int | float):
            value = str(value)
        cells.append(value)
    code = cells[PROMO_CODE_AT]
    if code and isinstance(code, str) and code.strip():
        # As a till or a person types it: the offers' own reading (case, spaces, dashes).
        cells[PROMO_CODE_AT] = offer_services.code_normalize(code)
    return cells, wrong


def _batch_statuses(staging: Staging) -> dict[str, str]:
    """Each batch client's status after the write, read beside the staged rows (a join on the
    staging table, not a list of thousands of external ids sent as parameters)."""
    clients, stats = Client._meta.db_table, ClientStats._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT c.external_id, st.status FROM {clients} AS c
                LEFT JOIN {stats} AS st ON st.client_id = c.id
                WHERE c.external_id IN (SELECT client FROM {staging.name})"""  # noqa: S608 - our identifiers
        )
        return {external_id: status or "none" for external_id, status in cursor.fetchall()}


def _settle_candidates(staging: Staging) -> tuple[list[int], list[int]]:
    """The clients the settling steps can concern: those whose purchases carry a promo code
    (offers are redeemed by code), and those with an open case (only they can be won back)."""
    clients, cases = Client._meta.db_table, Case._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT DISTINCT c.id FROM {clients} AS c JOIN {staging.name} AS s ON s.client = c.external_id
                WHERE s.promo_code IS NOT NULL AND s.promo_code <> ''"""  # noqa: S608
        )
        redeeming = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"""SELECT DISTINCT k.client_id FROM {cases} AS k JOIN {clients} AS c ON c.id = k.client_id
                WHERE k.status = %s AND c.external_id IN (SELECT client FROM {staging.name})""",  # noqa: S608
            [Case.Status.OPEN],
        )
        with_case = [row[0] for row in cursor.fetchall()]
    return redeeming, with_case


def _item_id(item: Any) -> str | None:
    if (
        isinstance(item, dict)
        and isinstance(item.get("id"), str | int)
        and not isinstance(item.get("id"), bool)
    ):
        return str(item["id"]).strip() or None
    return None


def transactions_record(
    items: Any, *, today: dt.date | None = None, settle: bool = True
) -> BatchResult:
    """Write a batch of transactions, all or nothing. Steps:

    1. check the batch's shape (a list of 1..10,000 objects) and every item with the file
       import's row parser; an item needs its id (the batch is idempotent by it);
    2. stage the good rows and find ids repeated in the batch, as the import does;
    3. any bad item: nothing is written, and each one is named by index, id, field and reason;
    4. write under the import lock, with the affected clients' statistics and statuses
       refreshed, then (``settle``) redeem the offers whose codes the purchases carry and close
       the open cases the purchases win back, in the same transaction.
    """
    today = today or timezone.localdate()
    if not isinstance(items, list):
        raise ApiError(400, "invalid", ERR_BATCH_NOT_LIST)
    if not items:
        raise ApiError(400, "invalid", ERR_BATCH_EMPTY)
    if len(items) > MAX_BATCH:
        raise ApiError(400, "batch_too_large", ERR_BATCH_TOO_LARGE % {"limit": f"{MAX_BATCH:,}"})

    result = ImportResult(kind=fields.TRANSACTIONS, dry_run=False)
    result.headers, result.mapping = list(HEADERS), dict(MAPPING)
    parser = RowParser(
        fields.TRANSACTIONS,
        mapping=MAPPING,
        headers=list(HEADERS),
        lookups=Lookups(segments={}, managers={}),
    )
    report = result.report
    report.limit = MAX_BATCH
    item_errors: list[ItemError] = []
    good: list[tuple] = []
    externals: dict[str, None] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            item_errors.append(ItemError(ERR_ITEM_NOT_OBJECT, None, index))
            continue
        cells, wrong = _cells(item)
        for name, message in wrong:
            item_errors.append(ItemError(message, name, index, _item_id(item)))
        if cells[ID_AT] is None or not str(cells[ID_AT]).strip():
            report.add(row=index, column="id", code=import_errors.MISSING)
        values = parser.parse(index, cells, report)
        if values is not None and not wrong and values[STAGED_ID_AT]:
            good.append(values)
            externals[values[STAGED_CLIENT_AT]] = None
    result.rows = len(items)

    staging = Staging(fields.TRANSACTIONS)
    staging.create()
    try:
        if good:
            staging.load(good)
            staging.analyze()
            check_repeats(fields.TRANSACTIONS, staging, result)
        for entry in report.errors:
            item = items[entry["row"]]
            if entry["code"] == import_errors.DUPLICATE_ID:
                # The import's words say "row"; a batch has indexes.
                message = ERR_ITEM_REPEATED % {"first": entry["params"]["first"]}
            else:
                message = describe(entry)
            item_errors.append(
                ItemError(message, entry["column"] or None, entry["row"], _item_id(item))
            )
        if item_errors:
            item_errors.sort(key=lambda e: (e.index or 0, e.field or ""))
            bad = len({e.index for e in item_errors})
            raise ApiError(400, "invalid_items", ERR_BATCH_BAD_ITEMS % {"count": bad}, item_errors)
        with transaction.atomic():
            write(fields.TRANSACTIONS, staging, result, job_id=None, as_of=today, dry_run=False)
            statuses = _batch_statuses(staging)
            if settle and (result.created or result.updated):
                redeeming, with_case = _settle_candidates(staging)
                if redeeming:
                    lifecycle.offers_redeem_by_code(as_of=today, client_ids=redeeming)
                if with_case:
                    lifecycle.cases_close_won_back(as_of=today, client_ids=with_case)
    finally:
        staging.drop()
    return BatchResult(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        clients_created=result.clients_created,
        clients=[
            {"external_id": external_id, "status": statuses.get(external_id) or "none"}
            for external_id in externals
        ],
    )


# --- Offer codes at the checkout -------------------------------------------------------------------

ERR_CODE_DATE_FUTURE = _("A purchase cannot be dated in the future.")
ERR_AMOUNT_FOR_NEW = _(
    "This transaction is not on file yet: give its amount (above zero) to record the purchase."
)
ERR_TRANSACTION_OTHER_CLIENT = _("This transaction belongs to another client.")

CODE_UNKNOWN = "code_unknown"
CODE_EXPIRED = "code_expired"
CODE_USED = "code_used"
CODE_OTHER_CLIENT = "code_other_client"


def _offer(code: str, user: Any, *, lock: bool = False) -> Offer:
    queryset = Offer.objects.select_related("client", "transaction", "template").filter(
        code=offer_services.code_normalize(code), client__in=Client.objects.visible_to(user)
    )
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    offer = queryset.first()
    if offer is None:
        raise ApiError(404, CODE_UNKNOWN, offer_services.ERR_CODE_UNKNOWN)
    return offer


def _check_client(offer: Offer, client: str | None) -> None:
    if client and offer.client.external_id != client:
        raise ApiError(409, CODE_OTHER_CLIENT, offer_services.ERR_CODE_OTHER_CLIENT)


def offer_validate(*, code: str, client: str | None, user: Any, today: dt.date) -> Offer:
    """The offer behind a code a till was given, if it can be used today by this client; the
    answers, each distinct: unknown (404), another client's, already used, expired (409)."""
    offer = _offer(code, user)
    _check_client(offer, client)
    if offer.status == Offer.Status.REDEEMED:
        raise ApiError(409, CODE_USED, offer_services.ERR_CODE_USED)
    if not offer.can_redeem(today):
        raise ApiError(409, CODE_EXPIRED, offer_services.ERR_CODE_EXPIRED)
    return offer


@transaction.atomic
def offer_redeem(
    *,
    code: str,
    transaction_id: str,
    client: str | None,
    amount: Decimal | None,
    on: dt.date,
    user: Any,
    today: dt.date,
) -> tuple[Offer, bool]:
    """Redeem a code with the purchase ``transaction_id``. Returns (offer, redeemed now).

    1. The code's checks, as ``offer_validate`` makes them (on the purchase date); an offer
       already redeemed by this same transaction is the earlier answer again (idempotent).
    2. The purchase: the transaction on file with this id, or, with an amount, a new one
       recorded through the transactions batch (statistics and status refreshed).
    3. The redemption itself by the offers' service, which also closes the client's open case
       as won back; a control case is closed as the nightly run would close it.
    """
    if on > today:
        raise ApiError(
            400, "invalid", ERR_CODE_DATE_FUTURE, [ItemError(ERR_CODE_DATE_FUTURE, "date")]
        )
    offer = _offer(code, user, lock=True)
    _check_client(offer, client)
    identity = f"id:{transaction_id}"
    if offer.status == Offer.Status.REDEEMED:
        if offer.transaction is not None and offer.transaction.identity == identity:
            return offer, False
        raise ApiError(409, CODE_USED, offer_services.ERR_CODE_USED)
    if not offer.can_redeem(on):
        raise ApiError(409, CODE_EXPIRED, offer_services.ERR_CODE_EXPIRED)
    row = Transaction.objects.filter(identity=identity).first()
    if row is None:
        if amount is None or amount <= 0:
            raise ApiError(
                400, "invalid", ERR_AMOUNT_FOR_NEW, [ItemError(ERR_AMOUNT_FOR_NEW, "amount")]
            )
        transactions_record(
            [
                {
                    "id": transaction_id,
                    "client": offer.client.external_id,
                    "date": on.isoformat(),
                    "amount": str(amount),
                    "promo_code": offer.code,
                }
            ],
            today=today,
            settle=False,
        )
        row = Transaction.objects.get(identity=identity)
    elif row.client_id != offer.client_id:
        raise ApiError(409, CODE_OTHER_CLIENT, ERR_TRANSACTION_OTHER_CLIENT)
    try:
        offer = offer_services.offer_redeem_code(code=offer.code, transaction_row=row)
    except offer_services.OfferError as exc:
        raise ApiError(409, "conflict", exc.message) from exc
    lifecycle.cases_close_won_back(as_of=today, client_ids=[row.client_id])
    return offer, True


def offer_terms(offer: Offer, amount: Decimal | None) -> dict[str, Any]:
    """What the till needs: the offer's kind, value, validity and, for an amount, the discount."""
    discount = None
    if amount is not None:
        if offer.kind == "percent":
            discount = (amount * offer.value / Decimal(100)).quantize(Decimal("0.01"))
        elif offer.kind == "amount":
            discount = min(offer.value, amount)
    return {
        "code": offer.code,
        "client": offer.client.external_id,
        "kind": offer.kind,
        "value": offer.value,
        "status": offer.status,
        "issued_on": offer.issued_on,
        "expires_on": offer.expires_on,
        "redeemed_on": offer.redeemed_on,
        "discount": discount,
        "description": offer.template.description if offer.template_id else "",
    }


def visible_client(*, external_id: str, user: Any) -> Client | None:
    return (
        Client.objects.visible_to(user)
        .select_related("segment", "manager", "stats")
        .filter(Q(external_id=external_id))
        .first()
    )
