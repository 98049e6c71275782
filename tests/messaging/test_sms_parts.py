"""SMS parts as providers count them: GSM-7 160 / 153, UCS-2 (any Cyrillic) 70 / 67."""

from __future__ import annotations

import datetime as dt

import pytest

from reactivation.messaging.rules import in_quiet_hours, over_cap, parse_quiet_hours
from reactivation.messaging.sms import sms_length, sms_parts


@pytest.mark.parametrize(
    ("length", "parts"),
    [(0, 0), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_latin_text_is_gsm7_160_then_153_a_part(length, parts):
    text = "a" * length
    assert sms_length(text).encoding == "GSM-7"
    assert sms_parts(text) == parts


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_cyrillic_text_is_ucs2_70_then_67_a_part(length, parts):
    text = "я" * length
    assert sms_length(text).encoding == "UCS-2"
    assert sms_parts(text) == parts


def test_one_cyrillic_letter_makes_the_whole_text_ucs2():
    text = "a" * 69 + "ж"
    assert sms_length(text).encoding == "UCS-2"
    assert sms_parts(text) == 1
    assert sms_parts(text + "b") == 2


def test_gsm7_extension_characters_take_two_septets():
    assert sms_length("€" * 80).units == 160
    assert sms_parts("€" * 80) == 1
    assert sms_parts("€" * 80 + "a") == 2
    assert sms_length("[]{}").encoding == "GSM-7"


def test_an_emoji_takes_two_ucs2_units():
    assert sms_length("😀").units == 2
    assert sms_parts("😀" * 35) == 1
    assert sms_parts("😀" * 35 + "a") == 2


def test_a_real_russian_offer_counts_as_sms_ru_counts_it():
    text = "Здравствуйте! Для вас скидка 10% по коду WB-7KQ4-M2XP до 24.11.2026. Кофейня."
    assert len(text) == 77  # over 70: two parts of up to 67
    assert sms_length(text).parts == 2


def test_quiet_hours_cross_midnight():
    hours = parse_quiet_hours("21-9")
    assert in_quiet_hours(dt.time(21, 0), hours)
    assert in_quiet_hours(dt.time(23, 59), hours)
    assert in_quiet_hours(dt.time(3, 0), hours)
    assert in_quiet_hours(dt.time(8, 59), hours)
    assert not in_quiet_hours(dt.time(9, 0), hours)
    assert not in_quiet_hours(dt.time(20, 59), hours)


def test_quiet_hours_within_a_day_and_off():
    assert in_quiet_hours(dt.time(14, 30), parse_quiet_hours("13-15"))
    assert not in_quiet_hours(dt.time(15, 0), parse_quiet_hours("13-15"))
    assert parse_quiet_hours("") is None
    assert not in_quiet_hours(dt.time(3, 0), None)
    with pytest.raises(ValueError):
        parse_quiet_hours("evening")
    with pytest.raises(ValueError):
        parse_quiet_hours("25-3")


def test_cap():
    assert not over_cap(1, 2)
    assert over_cap(2, 2)
    assert not over_cap(100, 0)
