"""A default message per channel in Russian and English, used by every offer template that
has none of its own; admins edit them on Settings -> Message templates."""

from __future__ import annotations

from django.db import migrations

DEFAULTS = [
    (
        "sms",
        "ru",
        "",
        "{greeting} Для вас {offer_terms} по коду {offer_code} до {offer_expires_on}. {company}."
        " Отказ: {unsubscribe_url}",
    ),
    (
        "sms",
        "en",
        "",
        "{greeting} {offer_terms} for you with code {offer_code} until {offer_expires_on}. {company}."
        " Opt out: {unsubscribe_url}",
    ),
    (
        "email",
        "ru",
        "{company}: персональное предложение для вас",
        "{greeting}\n\nМы давно вас не видели и приготовили для вас {offer_terms}.\n"
        "Ваш персональный код: {offer_code}. Он действует до {offer_expires_on}.\n\n"
        "{manager_name}, {company}\n\n"
        "Чтобы больше не получать предложений, перейдите по ссылке: {unsubscribe_url}",
    ),
    (
        "email",
        "en",
        "{company}: a personal offer for you",
        "{greeting}\n\nWe have missed you, so here is {offer_terms} for you.\n"
        "Your personal code: {offer_code}. It is valid until {offer_expires_on}.\n\n"
        "{manager_name}, {company}\n\n"
        "To stop receiving offers, follow this link: {unsubscribe_url}",
    ),
    (
        "telegram",
        "ru",
        "",
        "{greeting} Для вас {offer_terms} по коду {offer_code} до {offer_expires_on}. {company}.\n"
        "Чтобы не получать предложений, ответьте STOP.",
    ),
    (
        "telegram",
        "en",
        "",
        "{greeting} {offer_terms} for you with code {offer_code} until {offer_expires_on}. {company}.\n"
        "To stop offers here, reply STOP.",
    ),
]


def create_defaults(apps, schema_editor):
    MessageTemplate = apps.get_model("messaging", "MessageTemplate")
    for channel, language, subject, body in DEFAULTS:
        MessageTemplate.objects.get_or_create(
            offer_template=None,
            channel=channel,
            language=language,
            defaults={"subject": subject, "body": body},
        )


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
