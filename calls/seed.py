"""The starting catalogue every business gets: reasons for leaving, the classic reactivation
call script in Russian and in English, and four offer templates. Idempotent: rows are found by
their code or name and left alone when they exist, so an admin's edits survive a re-run.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from calls.models import Reason, Script, ScriptVersion
from reactivation.models import OfferTemplate

REASONS = [
    ("no_need", "Нет потребности"),
    ("competitor", "Ушёл к конкуренту"),
    ("quality", "Качество"),
    ("service", "Сервис"),
    ("price", "Цена"),
    ("moved", "Переезд"),
    ("other", "Другое"),
]

SCRIPT_RU_NAME = "Классический звонок возврата"
SCRIPT_EN_NAME = "Classic win-back call"

# The classic reactivation call: greet, say you noticed the pause, ask why, listen, offer.
SCRIPT_RU = [
    {
        "key": "greet",
        "title": "Приветствие",
        "text": "{greeting} Меня зовут {manager_name}, компания {company}. "
        "Удобно говорить пару минут?",
        "choices": [
            {"label": "Да, удобно", "next": "noticed"},
            {"label": "Нет, просит перезвонить", "next": ""},
        ],
    },
    {
        "key": "noticed",
        "title": "Заметили паузу",
        "text": "Мы заметили, что вы не делали заказов уже {days_since_last_purchase} дн. — "
        "последний был {last_purchase_on}. Вы для нас важный клиент, и нам важно понять, "
        "всё ли у вас в порядке.",
        "choices": [{"label": "Дальше", "next": "why"}],
    },
    {
        "key": "why",
        "title": "Причина",
        "text": "Подскажите, пожалуйста, почему вы перестали у нас покупать? Может быть, "
        "что-то пошло не так?",
        "choices": [
            {"label": "Нет потребности", "next": "listen", "reason": "no_need"},
            {"label": "Покупает у конкурента", "next": "listen", "reason": "competitor"},
            {"label": "Недоволен качеством или сервисом", "next": "listen", "reason": "quality"},
            {"label": "Дорого", "next": "listen", "reason": "price"},
            {"label": "Другое", "next": "listen", "reason": "other"},
        ],
    },
    {
        "key": "listen",
        "title": "Выслушать",
        "text": "Выслушайте клиента, не перебивая. Поблагодарите за откровенность, уточните, "
        "что мы могли бы сделать лучше, и отметьте причину в форме звонка.",
        "choices": [
            {"label": "Готов выслушать предложение", "next": "offer"},
            {"label": "Не интересно", "next": "goodbye"},
        ],
    },
    {
        "key": "offer",
        "title": "Предложение",
        "text": "Специально для вас у нас есть персональное предложение. "
        "Назовите код при заказе — он действует ограниченное время. Оформим заказ?",
        "choices": [
            {"label": "Да, оформит заказ", "next": "goodbye"},
            {"label": "Подумает", "next": "goodbye"},
        ],
    },
    {
        "key": "goodbye",
        "title": "Завершение",
        "text": "Спасибо, что уделили время! Если появятся вопросы — звоните, "
        "{company} всегда на связи.",
        "choices": [],
    },
]

SCRIPT_EN = [
    {
        "key": "greet",
        "title": "Greeting",
        "text": "{greeting} This is {manager_name} from {company}. "
        "Do you have a couple of minutes?",
        "choices": [
            {"label": "Yes", "next": "noticed"},
            {"label": "No, call back later", "next": ""},
        ],
    },
    {
        "key": "noticed",
        "title": "We noticed the pause",
        "text": "We noticed you have not ordered for {days_since_last_purchase} days — your last "
        "order was on {last_purchase_on}. You matter to us, and we would like to know "
        "whether everything is all right.",
        "choices": [{"label": "Continue", "next": "why"}],
    },
    {
        "key": "why",
        "title": "Why",
        "text": "May I ask why you stopped buying from us? Did something go wrong?",
        "choices": [
            {"label": "No need at the moment", "next": "listen", "reason": "no_need"},
            {"label": "Buys from a competitor", "next": "listen", "reason": "competitor"},
            {"label": "Unhappy with quality or service", "next": "listen", "reason": "quality"},
            {"label": "Too expensive", "next": "listen", "reason": "price"},
            {"label": "Something else", "next": "listen", "reason": "other"},
        ],
    },
    {
        "key": "listen",
        "title": "Listen",
        "text": "Let the client talk without interrupting. Thank them for being open, ask what "
        "we could do better, and record the reason in the call form.",
        "choices": [
            {"label": "Open to an offer", "next": "offer"},
            {"label": "Not interested", "next": "goodbye"},
        ],
    },
    {
        "key": "offer",
        "title": "Offer",
        "text": "We have a personal offer for you. Just quote the code when you "
        "order — it is valid for a limited time. Shall we place an order?",
        "choices": [
            {"label": "Yes, will order", "next": "goodbye"},
            {"label": "Will think about it", "next": "goodbye"},
        ],
    },
    {
        "key": "goodbye",
        "title": "Goodbye",
        "text": "Thank you for your time! If anything comes up, {company} is always here for you.",
        "choices": [],
    },
]


@dataclass(frozen=True)
class TemplateSpec:
    name: str
    kind: str
    value: Decimal
    validity_days: int
    cost: Decimal
    description: str


OFFER_TEMPLATES = [
    TemplateSpec(
        "Скидка 10% на 14 дней",
        OfferTemplate.Kind.PERCENT,
        Decimal("10"),
        14,
        Decimal("300"),
        "Скидка 10% на следующий заказ",
    ),
    TemplateSpec(
        "Скидка 500 ₽",
        OfferTemplate.Kind.AMOUNT,
        Decimal("500"),
        14,
        Decimal("500"),
        "500 ₽ скидки на следующий заказ",
    ),
    TemplateSpec(
        "Бесплатная доставка",
        OfferTemplate.Kind.FREE_DELIVERY,
        Decimal("0"),
        14,
        Decimal("250"),
        "Бесплатная доставка следующего заказа",
    ),
    TemplateSpec(
        "Подарок к заказу",
        OfferTemplate.Kind.GIFT,
        Decimal("0"),
        14,
        Decimal("200"),
        "Подарок к следующему заказу",
    ),
]


def _script(name: str, language: str, steps: list[dict]) -> Script:
    script, created = Script.objects.get_or_create(
        name=name, defaults={"segment": None, "language": language}
    )
    if created or not script.versions.exists():
        ScriptVersion.objects.create(script=script, number=1, steps=steps, note="seed")
    return script


@transaction.atomic
def seed_catalogue() -> None:
    """Reasons, the Russian (default) and English scripts, and the offer templates."""
    for position, (code, name) in enumerate(REASONS, start=1):
        Reason.objects.get_or_create(code=code, defaults={"name": name, "position": position * 10})
    _script(SCRIPT_RU_NAME, "ru", SCRIPT_RU)
    _script(SCRIPT_EN_NAME, "en", SCRIPT_EN)
    for spec in OFFER_TEMPLATES:
        OfferTemplate.objects.get_or_create(
            name=spec.name,
            defaults={
                "kind": spec.kind,
                "value": spec.value,
                "validity_days": spec.validity_days,
                "cost": spec.cost,
                "description": spec.description,
            },
        )
