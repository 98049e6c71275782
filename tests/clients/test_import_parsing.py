"""Reading import files without the database: encodings, separators, numbers, dates, headers."""

from __future__ import annotations

import codecs
import datetime as dt
from decimal import Decimal

import pytest

from clients.importing import errors, fields
from clients.importing.reader import detect_delimiter, detect_encoding, open_table
from clients.importing.values import CellError, amount_text, parse_date, parse_decimal

# --- Encoding and separator -----------------------------------------------------------------------


def test_utf8_without_bom_is_detected():
    assert detect_encoding("Клиент;Дата\n".encode()) == "utf-8"


def test_utf8_with_bom_is_detected():
    assert detect_encoding(codecs.BOM_UTF8 + "Клиент;Дата\n".encode()) == "utf-8-sig"


def test_windows_1251_is_detected():
    assert detect_encoding("Клиент;Дата\nООО Ромашка;01.02.2026\n".encode("cp1251")) == "cp1251"


def test_a_utf8_character_cut_at_the_end_of_the_sample_is_still_utf8():
    assert detect_encoding("Клиент".encode()[:-1]) == "utf-8"


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_separator_is_detected(delimiter):
    text = (
        delimiter.join(["client", "date", "amount"])
        + "\n"
        + delimiter.join(["C1", "2026-01-01", "10"])
        + "\n"
    )
    assert detect_delimiter(text) == delimiter


def test_separator_inside_quotes_does_not_count():
    text = 'client;name;amount\nC1;"Ромашка, склад; 2";1,5\nC2;"Лютик";2,5\n'
    assert detect_delimiter(text) == ";"


def test_decimal_commas_do_not_make_a_comma_separated_file():
    assert detect_delimiter("Клиент;Сумма\nC1;1 234,50\nC2;17,00\n") == ";"


def test_excel_separator_hint_line_is_honoured(tmp_path):
    path = tmp_path / "hint.csv"
    path.write_text("sep=;\nclient;amount\nC1;1,5\n", encoding="utf-8")
    table = open_table(path)
    assert table.delimiter == ";"
    assert table.headers == ["client", "amount"]
    assert list(table.rows()) == [(3, ["C1", "1,5"])]


def test_row_numbers_are_the_lines_where_records_start(tmp_path):
    path = tmp_path / "multiline.csv"
    path.write_text('client,note\nC1,"two\nlines"\n\nC2,x\n', encoding="utf-8")
    assert list(open_table(path).rows()) == [(2, ["C1", "two\nlines"]), (5, ["C2", "x"])]


def test_empty_file_is_a_file_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"  \n")
    with pytest.raises(errors.ImportFileError) as caught:
        open_table(path)
    assert caught.value.code == errors.EMPTY_FILE


def test_old_xls_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(errors.ImportFileError) as caught:
        open_table(path)
    assert caught.value.code == errors.UNSUPPORTED_FORMAT


# --- Numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.5", "1234.50"),
        ("1234,5", "1234.50"),
        ("1 234,50", "1234.50"),
        ("1\u00a0234,50", "1234.50"),
        ("1\u202f234\u00a0567,89", "1234567.89"),
        ("1.234,50", "1234.50"),
        ("1,234.50", "1234.50"),
        ("1,234,567", "1234567.00"),
        ("-5,00", "-5.00"),
        ("\u2212120", "-120.00"),
        ("0", "0.00"),
        ("-0,00", "0.00"),
        ("1 500 ₽", "1500.00"),
        ("0,005", "0.01"),
        (1234.5, "1234.50"),
        (17, "17.00"),
    ],
)
def test_amounts_as_businesses_write_them(text, expected):
    assert amount_text(text) == expected
    assert f"{parse_decimal(text):.2f}" == expected


@pytest.mark.parametrize("text", ["abc", "12a", "1,2,3", "1.2.3,4,5", "1e5", "--5", "", "5-"])
def test_non_numbers_are_refused(text):
    with pytest.raises(CellError) as caught:
        amount_text(text)
    assert caught.value.code == errors.BAD_NUMBER


def test_an_amount_beyond_the_column_is_refused():
    with pytest.raises(CellError) as caught:
        parse_decimal("1000000000000")
    assert caught.value.code == errors.TOO_LARGE


def test_parse_decimal_returns_two_places():
    assert parse_decimal("7") == Decimal("7.00")


# --- Dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-02-03",
        "03.02.2026",
        "3.2.2026",
        "03.02.2026 14:30",
        "03.02.2026 14:30:15",
        "2026-02-03 14:30:15",
        "2026-02-03T14:30:15",
        "2026-02-03T14:30:15.123+03:00",
        " 03.02.2026 0:00:00 ",
    ],
)
def test_dates_with_or_without_a_time(text):
    assert parse_date(text) == dt.date(2026, 2, 3)


def test_spreadsheet_datetimes_are_dates():
    assert parse_date(dt.datetime(2026, 2, 3, 10, 0)) == dt.date(2026, 2, 3)


@pytest.mark.parametrize(
    "text", ["31.02.2026", "2026-02-30", "2026-13-01", "00.01.2026", "01.01.1066"]
)
def test_impossible_dates_are_refused(text):
    with pytest.raises(CellError) as caught:
        parse_date(text)
    assert caught.value.code == errors.IMPOSSIBLE_DATE


@pytest.mark.parametrize(
    "text", ["yesterday", "03/02/2026", "2026-02-03 later", "20260203", "03.02.26"]
)
def test_non_dates_are_refused(text):
    with pytest.raises(CellError) as caught:
        parse_date(text)
    assert caught.value.code == errors.BAD_DATE


# --- Headers --------------------------------------------------------------------------------------


def test_russian_headers_are_matched():
    headers = [
        "Код клиента",
        "Дата продажи",
        "Сумма",
        "Маржа",
        "Промокод",
        "Номер чека",
        "Телефон",
        "Комментарий",
    ]
    assert fields.guess_mapping(fields.TRANSACTIONS, headers) == {
        fields.CLIENT: 0,
        fields.DATE: 1,
        fields.AMOUNT: 2,
        fields.MARGIN: 3,
        fields.PROMO_CODE: 4,
        fields.TRANSACTION_ID: 5,
        fields.PHONE: 6,
    }


def test_english_headers_with_punctuation_and_case_are_matched():
    headers = ["Customer_ID", "Order Date", "TOTAL", "E-mail", "Transaction ID"]
    assert fields.guess_mapping(fields.TRANSACTIONS, headers) == {
        fields.CLIENT: 0,
        fields.DATE: 1,
        fields.AMOUNT: 2,
        fields.EMAIL: 3,
        fields.TRANSACTION_ID: 4,
    }


def test_a_bare_id_is_the_client_in_a_clients_file_and_the_transaction_in_a_transactions_file():
    assert fields.guess_mapping(fields.CLIENTS, ["ID", "Наименование"]) == {
        fields.CLIENT: 0,
        fields.NAME: 1,
    }
    assert fields.guess_mapping(fields.TRANSACTIONS, ["ID", "Контрагент"]) == {
        fields.TRANSACTION_ID: 0,
        fields.CLIENT: 1,
    }


def test_missing_required_columns_are_named():
    assert fields.missing_required(fields.TRANSACTIONS, {fields.CLIENT: 0}) == [
        fields.DATE,
        fields.AMOUNT,
    ]
