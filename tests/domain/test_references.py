import re

import pytest

from portal.domain.references import (
    ACCESS_CODE_ALPHABET,
    case_reference,
    new_access_code,
    normalise_access_code,
    parse_case_reference,
)


@pytest.mark.parametrize(
    ("year", "number", "expected"),
    [
        (2026, 123, "K-2026-000123"),
        (2026, 1, "K-2026-000001"),
        (2026, 999_999, "K-2026-999999"),
        (2026, 1_000_000, "K-2026-1000000"),  # grows, never truncated
    ],
)
def test_case_reference(year, number, expected):
    assert case_reference(year, number) == expected
    assert parse_case_reference(expected) == (year, number)


@pytest.mark.parametrize(("year", "number"), [(2026, 0), (2026, -5), (26, 1), (20260, 1)])
def test_case_reference_refuses(year, number):
    with pytest.raises(ValueError):
        case_reference(year, number)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("K-2026-000123", (2026, 123)),
        ("k-2026-000123", (2026, 123)),
        (" K 2026 000123 ", (2026, 123)),
        ("K2026000123", (2026, 123)),
        ("K-2026000123", (2026, 123)),
        ("K 2026-123", (2026, 123)),
        ("k – 2026 – 000123", (2026, 123)),  # en dashes from a word processor
        ("K-2026-1000000", (2026, 1_000_000)),
        ("", None),
        (None, None),  # an empty form field
        ("Jansen", None),
        ("2026-000123", None),  # the K marks a reference
        ("K-2026-000000", None),
        ("K-2026", None),
        ("K-26-000123", None),
        ("K-2026-000123x", None),
        ("INV-2026-000123", None),
        ("K-2026-" + "9" * 5000, None),  # pasted junk must not crash int()
    ],
)
def test_parse_case_reference(text, expected):
    assert parse_case_reference(text) == expected


def test_new_access_code_shape():
    code = new_access_code()
    assert re.fullmatch(rf"[{ACCESS_CODE_ALPHABET}]{{4}}-[{ACCESS_CODE_ALPHABET}]{{4}}", code)


def test_access_code_alphabet_has_no_lookalikes():
    assert not set("0O1IL") & set(ACCESS_CODE_ALPHABET)
    assert len(set(ACCESS_CODE_ALPHABET)) == len(ACCESS_CODE_ALPHABET) == 31


def test_new_access_codes_differ():
    # 31**8 possible codes: a repeat among 200 would mean the generator is broken.
    assert len({new_access_code() for _ in range(200)}) == 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ABCD-EFGH", "ABCDEFGH"),
        ("abcd-efgh", "ABCDEFGH"),
        (" abcd efgh ", "ABCDEFGH"),
        ("AB-CD-EF-GH", "ABCDEFGH"),
        ("abcd–efgh", "ABCDEFGH"),  # en dash
        ("ABCDEFGH", "ABCDEFGH"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_access_code(text, expected):
    assert normalise_access_code(text) == expected


def test_printed_code_normalises_to_itself_without_dash():
    code = new_access_code()
    assert normalise_access_code(code) == code.replace("-", "")
    assert normalise_access_code(code.lower()) == normalise_access_code(code)
