"""The seeded call scripts get a version whose answers name their reasons and whose greeting
does not address a company by its legal name, where a business still has the seeded text
unchanged (an admin's edited script is left alone)."""

from django.db import migrations

SCRIPTS = {
    "Классический звонок возврата": {
        "old": [
            {
                "key": "greet",
                "title": "Приветствие",
                "text": "Здравствуйте, {client_name}! Меня зовут {manager_name}, компания {company}. Удобно говорить пару минут?",
                "choices": [
                    {
                        "label": "Да, удобно",
                        "next": "noticed"
                    },
                    {
                        "label": "Нет, просит перезвонить",
                        "next": ""
                    }
                ]
            },
            {
                "key": "noticed",
                "title": "Заметили паузу",
                "text": "Мы заметили, что вы не делали заказов уже {days_since_last_purchase} дн. — последний был {last_purchase_on}. Вы для нас важный клиент, и нам важно понять, всё ли у вас в порядке.",
                "choices": [
                    {
                        "label": "Дальше",
                        "next": "why"
                    }
                ]
            },
            {
                "key": "why",
                "title": "Причина",
                "text": "Подскажите, пожалуйста, почему вы перестали у нас покупать? Может быть, что-то пошло не так?",
                "choices": [
                    {
                        "label": "Нет потребности",
                        "next": "listen"
                    },
                    {
                        "label": "Покупает у конкурента",
                        "next": "listen"
                    },
                    {
                        "label": "Недоволен качеством или сервисом",
                        "next": "listen"
                    },
                    {
                        "label": "Дорого",
                        "next": "listen"
                    },
                    {
                        "label": "Другое",
                        "next": "listen"
                    }
                ]
            },
            {
                "key": "listen",
                "title": "Выслушать",
                "text": "Выслушайте клиента, не перебивая. Поблагодарите за откровенность, уточните, что мы могли бы сделать лучше, и отметьте причину в форме звонка.",
                "choices": [
                    {
                        "label": "Готов выслушать предложение",
                        "next": "offer"
                    },
                    {
                        "label": "Не интересно",
                        "next": "goodbye"
                    }
                ]
            },
            {
                "key": "offer",
                "title": "Предложение",
                "text": "{client_name}, специально для вас у нас есть персональное предложение. Назовите код при заказе — он действует ограниченное время. Оформим заказ?",
                "choices": [
                    {
                        "label": "Да, оформит заказ",
                        "next": "goodbye"
                    },
                    {
                        "label": "Подумает",
                        "next": "goodbye"
                    }
                ]
            },
            {
                "key": "goodbye",
                "title": "Завершение",
                "text": "Спасибо, что уделили время, {client_name}! Если появятся вопросы — звоните, {company} всегда на связи.",
                "choices": []
            }
        ],
        "new": [
            {
                "key": "greet",
                "title": "Приветствие",
                "text": "{greeting} Меня зовут {manager_name}, компания {company}. Удобно говорить пару минут?",
                "choices": [
                    {
                        "label": "Да, удобно",
                        "next": "noticed"
                    },
                    {
                        "label": "Нет, просит перезвонить",
                        "next": ""
                    }
                ]
            },
            {
                "key": "noticed",
                "title": "Заметили паузу",
                "text": "Мы заметили, что вы не делали заказов уже {days_since_last_purchase} дн. — последний был {last_purchase_on}. Вы для нас важный клиент, и нам важно понять, всё ли у вас в порядке.",
                "choices": [
                    {
                        "label": "Дальше",
                        "next": "why"
                    }
                ]
            },
            {
                "key": "why",
                "title": "Причина",
                "text": "Подскажите, пожалуйста, почему вы перестали у нас покупать? Может быть, что-то пошло не так?",
                "choices": [
                    {
                        "label": "Нет потребности",
                        "next": "listen",
                        "reason": "no_need"
                    },
                    {
                        "label": "Покупает у конкурента",
                        "next": "listen",
                        "reason": "competitor"
                    },
                    {
                        "label": "Недоволен качеством или сервисом",
                        "next": "listen",
                        "reason": "quality"
                    },
                    {
                        "label": "Дорого",
                        "next": "listen",
                        "reason": "price"
                    },
                    {
                        "label": "Другое",
                        "next": "listen",
                        "reason": "other"
                    }
                ]
            },
            {
                "key": "listen",
                "title": "Выслушать",
                "text": "Выслушайте клиента, не перебивая. Поблагодарите за откровенность, уточните, что мы могли бы сделать лучше, и отметьте причину в форме звонка.",
                "choices": [
                    {
                        "label": "Готов выслушать предложение",
                        "next": "offer"
                    },
                    {
                        "label": "Не интересно",
                        "next": "goodbye"
                    }
                ]
            },
            {
                "key": "offer",
                "title": "Предложение",
                "text": "Специально для вас у нас есть персональное предложение. Назовите код при заказе — он действует ограниченное время. Оформим заказ?",
                "choices": [
                    {
                        "label": "Да, оформит заказ",
                        "next": "goodbye"
                    },
                    {
                        "label": "Подумает",
                        "next": "goodbye"
                    }
                ]
            },
            {
                "key": "goodbye",
                "title": "Завершение",
                "text": "Спасибо, что уделили время! Если появятся вопросы — звоните, {company} всегда на связи.",
                "choices": []
            }
        ]
    },
    "Classic win-back call": {
        "old": [
            {
                "key": "greet",
                "title": "Greeting",
                "text": "Hello, {client_name}! This is {manager_name} from {company}. Do you have a couple of minutes?",
                "choices": [
                    {
                        "label": "Yes",
                        "next": "noticed"
                    },
                    {
                        "label": "No, call back later",
                        "next": ""
                    }
                ]
            },
            {
                "key": "noticed",
                "title": "We noticed the pause",
                "text": "We noticed you have not ordered for {days_since_last_purchase} days — your last order was on {last_purchase_on}. You matter to us, and we would like to know whether everything is all right.",
                "choices": [
                    {
                        "label": "Continue",
                        "next": "why"
                    }
                ]
            },
            {
                "key": "why",
                "title": "Why",
                "text": "May I ask why you stopped buying from us? Did something go wrong?",
                "choices": [
                    {
                        "label": "No need at the moment",
                        "next": "listen"
                    },
                    {
                        "label": "Buys from a competitor",
                        "next": "listen"
                    },
                    {
                        "label": "Unhappy with quality or service",
                        "next": "listen"
                    },
                    {
                        "label": "Too expensive",
                        "next": "listen"
                    },
                    {
                        "label": "Something else",
                        "next": "listen"
                    }
                ]
            },
            {
                "key": "listen",
                "title": "Listen",
                "text": "Let the client talk without interrupting. Thank them for being open, ask what we could do better, and record the reason in the call form.",
                "choices": [
                    {
                        "label": "Open to an offer",
                        "next": "offer"
                    },
                    {
                        "label": "Not interested",
                        "next": "goodbye"
                    }
                ]
            },
            {
                "key": "offer",
                "title": "Offer",
                "text": "{client_name}, we have a personal offer for you. Just quote the code when you order — it is valid for a limited time. Shall we place an order?",
                "choices": [
                    {
                        "label": "Yes, will order",
                        "next": "goodbye"
                    },
                    {
                        "label": "Will think about it",
                        "next": "goodbye"
                    }
                ]
            },
            {
                "key": "goodbye",
                "title": "Goodbye",
                "text": "Thank you for your time, {client_name}! If anything comes up, {company} is always here for you.",
                "choices": []
            }
        ],
        "new": [
            {
                "key": "greet",
                "title": "Greeting",
                "text": "{greeting} This is {manager_name} from {company}. Do you have a couple of minutes?",
                "choices": [
                    {
                        "label": "Yes",
                        "next": "noticed"
                    },
                    {
                        "label": "No, call back later",
                        "next": ""
                    }
                ]
            },
            {
                "key": "noticed",
                "title": "We noticed the pause",
                "text": "We noticed you have not ordered for {days_since_last_purchase} days — your last order was on {last_purchase_on}. You matter to us, and we would like to know whether everything is all right.",
                "choices": [
                    {
                        "label": "Continue",
                        "next": "why"
                    }
                ]
            },
            {
                "key": "why",
                "title": "Why",
                "text": "May I ask why you stopped buying from us? Did something go wrong?",
                "choices": [
                    {
                        "label": "No need at the moment",
                        "next": "listen",
                        "reason": "no_need"
                    },
                    {
                        "label": "Buys from a competitor",
                        "next": "listen",
                        "reason": "competitor"
                    },
                    {
                        "label": "Unhappy with quality or service",
                        "next": "listen",
                        "reason": "quality"
                    },
                    {
                        "label": "Too expensive",
                        "next": "listen",
                        "reason": "price"
                    },
                    {
                        "label": "Something else",
                        "next": "listen",
                        "reason": "other"
                    }
                ]
            },
            {
                "key": "listen",
                "title": "Listen",
                "text": "Let the client talk without interrupting. Thank them for being open, ask what we could do better, and record the reason in the call form.",
                "choices": [
                    {
                        "label": "Open to an offer",
                        "next": "offer"
                    },
                    {
                        "label": "Not interested",
                        "next": "goodbye"
                    }
                ]
            },
            {
                "key": "offer",
                "title": "Offer",
                "text": "We have a personal offer for you. Just quote the code when you order — it is valid for a limited time. Shall we place an order?",
                "choices": [
                    {
                        "label": "Yes, will order",
                        "next": "goodbye"
                    },
                    {
                        "label": "Will think about it",
                        "next": "goodbye"
                    }
                ]
            },
            {
                "key": "goodbye",
                "title": "Goodbye",
                "text": "Thank you for your time! If anything comes up, {company} is always here for you.",
                "choices": []
            }
        ]
    }
}

NOTE = "Answers name their reasons; a greeting for the contact person or a neutral one"


def forwards(apps, schema_editor):
    Script = apps.get_model("calls", "Script")
    ScriptVersion = apps.get_model("calls", "ScriptVersion")
    for name, steps in SCRIPTS.items():
        for script in Script.objects.filter(name=name):
            current = ScriptVersion.objects.filter(script=script).order_by("-number").first()
            if current is None or current.steps != steps["old"]:
                continue
            ScriptVersion.objects.create(
                script=script, number=current.number + 1, steps=steps["new"], note=NOTE
            )


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0005_call_back_time_and_promise"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
