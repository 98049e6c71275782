"""What an import file may contain: the fields of each kind of file and the header synonyms.

Headers are matched after normalising: lower case, ``ё`` read as ``е``, punctuation (``_ - . :
/ №``) read as spaces, repeated spaces folded. The lists below are the documented synonyms
(docs/import.md prints them); a header that matches none is ignored, and the preview lets the
user map it by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLIENTS = "clients"
TRANSACTIONS = "transactions"

# Field names (the keys of a column mapping).
CLIENT = "client"  # the client's external id
NAME = "name"
PHONE = "phone"
EMAIL = "email"
SEGMENT = "segment"
MANAGER = "manager"
DATE = "date"
AMOUNT = "amount"
MARGIN = "margin"
PROMO_CODE = "promo_code"
TRANSACTION_ID = "transaction_id"

SYNONYMS: dict[str, tuple[str, ...]] = {
    CLIENT: (
        "client",
        "client id",
        "client code",
        "customer",
        "customer id",
        "customer code",
        "external id",
        "externalid",
        "client external id",
        "account",
        "account id",
        "клиент",
        "код клиента",
        "id клиента",
        "ид клиента",
        "идентификатор клиента",
        "контрагент",
        "код контрагента",
        "покупатель",
        "код покупателя",
        "номер клиента",
        "карта",
        "номер карты",
        "код карты",
    ),
    NAME: (
        "name",
        "client name",
        "customer name",
        "full name",
        "company",
        "company name",
        "наименование",
        "название",
        "имя",
        "фио",
        "наименование клиента",
        "имя клиента",
        "наименование контрагента",
        "контрагент наименование",
        "название клиента",
        "наименование покупателя",
        "организация",
        "компания",
    ),
    PHONE: (
        "phone",
        "phone number",
        "telephone",
        "tel",
        "mobile",
        "mobile phone",
        "cell",
        "телефон",
        "тел",
        "номер телефона",
        "мобильный",
        "мобильный телефон",
        "контактный телефон",
    ),
    EMAIL: (
        "email",
        "e mail",
        "mail",
        "email address",
        "почта",
        "эл почта",
        "электронная почта",
        "адрес электронной почты",
        "емейл",
        "имейл",
    ),
    SEGMENT: (
        "segment",
        "segment code",
        "group",
        "category",
        "client group",
        "сегмент",
        "код сегмента",
        "группа",
        "группа клиентов",
        "категория",
        "категория клиента",
    ),
    MANAGER: (
        "manager",
        "account manager",
        "responsible",
        "sales manager",
        "менеджер",
        "ответственный",
        "ответственный менеджер",
        "менеджер клиента",
        "логин менеджера",
    ),
    DATE: (
        "date",
        "purchase date",
        "order date",
        "sale date",
        "transaction date",
        "day",
        "дата",
        "дата покупки",
        "дата продажи",
        "дата заказа",
        "дата документа",
        "дата чека",
        "дата операции",
        "период",
    ),
    AMOUNT: (
        "amount",
        "sum",
        "total",
        "revenue",
        "value",
        "price",
        "order total",
        "сумма",
        "сумма продажи",
        "сумма покупки",
        "сумма заказа",
        "сумма документа",
        "сумма чека",
        "сумма с ндс",
        "выручка",
        "стоимость",
        "итого",
        "итог",
    ),
    MARGIN: (
        "margin",
        "profit",
        "gross profit",
        "gross margin",
        "маржа",
        "прибыль",
        "валовая прибыль",
        "валовый доход",
        "наценка",
        "доход",
    ),
    PROMO_CODE: (
        "promo",
        "promo code",
        "promocode",
        "coupon",
        "coupon code",
        "discount code",
        "промокод",
        "промо код",
        "купон",
        "код купона",
        "код скидки",
    ),
    TRANSACTION_ID: (
        "transaction id",
        "transaction",
        "txn id",
        "order id",
        "order",
        "order number",
        "receipt",
        "receipt id",
        "document",
        "document number",
        "invoice",
        "invoice number",
        "id транзакции",
        "транзакция",
        "номер транзакции",
        "номер заказа",
        "заказ",
        "номер чека",
        "чек",
        "документ",
        "номер документа",
        "номер накладной",
    ),
}

# In a clients file a bare "id" / "код" is the client's id; in a transactions file it is the
# transaction's.
SYNONYMS_BY_KIND: dict[str, dict[str, tuple[str, ...]]] = {
    CLIENTS: {CLIENT: ("id", "code", "код", "ид", "номер")},
    TRANSACTIONS: {TRANSACTION_ID: ("id", "ид", "номер")},
}


@dataclass(frozen=True)
class FileKind:
    name: str
    fields: tuple[str, ...]  # every field the kind accepts, in preview order
    required: tuple[str, ...]


KINDS: dict[str, FileKind] = {
    CLIENTS: FileKind(CLIENTS, (CLIENT, NAME, PHONE, EMAIL, SEGMENT, MANAGER), required=(CLIENT,)),
    TRANSACTIONS: FileKind(
        TRANSACTIONS,
        (
            CLIENT,
            DATE,
            AMOUNT,
            MARGIN,
            PROMO_CODE,
            TRANSACTION_ID,
            NAME,
            PHONE,
            EMAIL,
            SEGMENT,
            MANAGER,
        ),
        required=(CLIENT, DATE, AMOUNT),
    ),
}

_PUNCTUATION = re.compile(r"[\s_\-.:/\\№#()\[\],;\"']+")


def normalize_header(text: str) -> str:
    """``" Код_Клиента "`` -> ``"код клиента"``: the form synonyms are compared in."""
    text = str(text or "").replace("\ufeff", "").lower().replace("ё", "е")
    return _PUNCTUATION.sub(" ", text).strip()


def synonyms_for(kind: str) -> dict[str, str]:
    """Normalised synonym -> field for one kind of file."""
    table: dict[str, str] = {}
    for field in KINDS[kind].fields:
        for word in SYNONYMS.get(field, ()) + SYNONYMS_BY_KIND[kind].get(field, ()):
            table[normalize_header(word)] = field
    for field in KINDS[kind].fields:  # the field's own name always works
        table.setdefault(normalize_header(field), field)
    return table


def guess_mapping(kind: str, headers: list[str]) -> dict[str, int]:
    """field -> column index for the headers that match a synonym (the first match wins)."""
    table = synonyms_for(kind)
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        field = table.get(normalize_header(header))
        if field is not None and field not in mapping:
            mapping[field] = index
    return mapping


def missing_required(kind: str, mapping: dict[str, int]) -> list[str]:
    return [field for field in KINDS[kind].required if field not in mapping]
