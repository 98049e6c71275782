"""The pure script helpers: placeholders, branching, validation."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from calls import scripts
from calls.seed import SCRIPT_EN, SCRIPT_RU

STEPS = [
    {
        "key": "greet",
        "title": "Hi",
        "text": "Hello {client_name}",
        "choices": [{"label": "Yes", "next": "why"}, {"label": "No", "next": ""}],
    },
    {
        "key": "why",
        "text": "Why?",
        "choices": [{"label": "Price", "next": "offer"}, {"label": "Other"}],
    },
    {"key": "listen", "text": "Listen", "choices": [{"label": "Ok", "next": "offer"}]},
    {"key": "offer", "text": "Offer", "choices": []},
]


def test_placeholders_are_filled_and_unknown_ones_kept():
    text = "Hi {client_name}, {days_since_last_purchase} days; {unknown} {{literal}}"
    out = scripts.render_text(text, {"client_name": "Ann", "days_since_last_purchase": 40})
    assert out == "Hi Ann, 40 days; {unknown} {literal}"


def test_markup_in_the_script_and_in_values_is_escaped():
    out = scripts.render_text("<b>{client_name}</b>", {"client_name": "<script>x</script>"})
    assert out == "&lt;b&gt;&lt;script&gt;x&lt;/script&gt;&lt;/b&gt;"


def test_format_tricks_are_not_evaluated():
    out = scripts.render_text("{client_name.__class__} {0}", {"client_name": "Ann"})
    assert out == "{client_name.__class__} {0}"


@given(st.text(), st.text())
def test_rendered_text_never_contains_raw_markup(text, name):
    out = scripts.render_text(text + "{client_name}", {"client_name": name})
    assert "<" not in out and ">" not in out


def test_a_choice_leads_to_its_step_the_end_or_the_following_step():
    assert scripts.next_step_key(STEPS, "greet", 0) == "why"
    assert scripts.next_step_key(STEPS, "greet", 1) is None
    assert scripts.next_step_key(STEPS, "why", 1) == "listen"  # no "next": the following step
    assert scripts.next_step_key(STEPS, "why", 5) is None


def test_walk_follows_the_answers():
    assert scripts.walk(STEPS, {}) == ["greet"]
    assert scripts.walk(STEPS, {"greet": "Yes", "why": "Price"}) == ["greet", "why", "offer"]
    assert scripts.walk(STEPS, {"greet": "No", "why": "Price"}) == ["greet"]
    assert scripts.walk(STEPS, {"greet": "Yes", "why": "Other", "listen": "Ok"}) == [
        "greet",
        "why",
        "listen",
        "offer",
    ]


def test_clean_answers_drops_unknown_steps_and_labels():
    answers = {"greet": "Yes", "why": "Bananas", "nope": "x", "offer": 3}
    assert scripts.clean_answers(STEPS, answers) == {"greet": "Yes"}


def test_validate_reports_every_problem():
    bad = [
        {
            "key": "a",
            "text": "Hi {nickname}",
            "choices": [{"label": "x", "next": "zzz"}, {"next": "a"}],
        },
        {"key": "a", "text": ""},
        "not a step",
        {"text": "no key"},
    ]
    errors = scripts.validate_steps(bad)
    assert scripts.ERR_UNKNOWN_PLACEHOLDER.format(key="a", name="nickname") in errors
    assert scripts.ERR_UNKNOWN_NEXT.format(key="a", next="zzz") in errors
    assert scripts.ERR_CHOICE_NO_LABEL.format(key="a") in errors
    assert scripts.ERR_DUPLICATE_KEY.format(key="a") in errors
    assert scripts.ERR_STEP_NO_TEXT.format(key="a") in errors
    assert scripts.ERR_STEP_NOT_OBJECT.format(n=3) in errors
    assert scripts.ERR_STEP_NO_KEY.format(n=4) in errors
    assert scripts.validate_steps({}) == [scripts.ERR_NOT_A_LIST]
    assert scripts.validate_steps([]) == [scripts.ERR_NO_STEPS]


def test_the_seed_scripts_are_valid_and_follow_the_classic_call():
    for steps in (SCRIPT_RU, SCRIPT_EN):
        assert scripts.validate_steps(steps) == []
        assert [s["key"] for s in steps] == [
            "greet",
            "noticed",
            "why",
            "listen",
            "offer",
            "goodbye",
        ]
        text = " ".join(s["text"] for s in steps)
        # The client is greeted by {greeting} (the contact person, else the client's name
        # where it is a person's), and not addressed by a company's name elsewhere.
        for name in set(scripts.PLACEHOLDERS) - {"contact_name", "client_name"}:
            assert "{" + name + "}" in text
        assert "{client_name}" not in text
        # Every answer to "why" names its reason.
        why = next(s for s in steps if s["key"] == "why")
        assert all(choice.get("reason") for choice in why["choices"])


def test_an_answer_on_the_path_names_the_reason():
    steps = [
        {
            "key": "why",
            "text": "Why?",
            "choices": [
                {"label": "Дорого", "next": "end", "reason": "price"},
                {"label": "Просто так", "next": "end"},
            ],
        },
        {
            "key": "end",
            "text": "Bye",
            "choices": [{"label": "Переехал", "next": "", "reason": "moved"}],
        },
        {
            "key": "off",
            "text": "Never reached",
            "choices": [{"label": "Качество", "reason": "quality"}],
        },
    ]
    assert scripts.reason_from_answers(steps, {"why": "Дорого"}) == "price"
    assert scripts.reason_from_answers(steps, {"why": "Просто так"}) is None
    # The last answer on the path that names one; an answer off the path counts for nothing.
    assert scripts.reason_from_answers(steps, {"why": "Дорого", "end": "Переехал"}) == "moved"
    assert scripts.reason_from_answers(steps, {"why": "Просто так", "off": "Качество"}) is None
    rendered = scripts.render_steps(steps, {})
    assert [c.reason for c in rendered[0].choices] == ["price", ""]


def test_a_choices_reason_must_be_a_code():
    steps = [{"key": "a", "text": "A", "choices": [{"label": "x", "reason": 5}]}]
    assert scripts.validate_steps(steps) == [scripts.ERR_CHOICE_REASON.format(key="a")]


def test_the_greeting_names_a_person_never_a_company():
    hello = {"hello": "Здравствуйте!", "hello_name": "Здравствуйте, {name}!"}
    assert scripts.greeting(**hello, contact_name="", client_name="Иван Петров") == (
        "Здравствуйте, Иван Петров!"
    )
    for company in ("ООО «Северстрой-176»", "ИП Сидоров", "Acme LLC", "«Ромашка»"):
        assert scripts.greeting(**hello, contact_name="", client_name=company) == "Здравствуйте!"
    assert scripts.greeting(**hello, contact_name="Анна", client_name="ООО «Ромашка»") == (
        "Здравствуйте, Анна!"
    )
