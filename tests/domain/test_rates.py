from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from portal.domain.rates import RateKind, RateRow, RateTable

SHIPPED = RateTable.shipped()


def _row(kind, valid_from, rate, *, verified=True, source="test"):
    return SimpleNamespace(kind=kind, valid_from=valid_from, rate_percent=Decimal(rate),
                           source=source, verified=verified)


@pytest.mark.parametrize(
    ("kind", "day", "rate", "verified"),
    [
        ("consumer", date(2015, 1, 1), "2.00", True),
        ("consumer", date(2022, 12, 31), "2.00", True),
        ("consumer", date(2023, 1, 1), "4.00", True),
        ("consumer", date(2023, 7, 1), "6.00", True),
        ("consumer", date(2024, 6, 30), "7.00", True),
        ("consumer", date(2025, 1, 1), "6.00", True),
        ("consumer", date(2025, 7, 1), "6.00", False),  # disputed: 5 % or 6 %
        ("consumer", date(2026, 1, 1), "4.00", False),
        ("consumer", date(2026, 7, 1), "4.00", False),
        ("commercial", date(2015, 1, 1), "8.05", True),
        ("commercial", date(2016, 6, 30), "8.05", True),
        ("commercial", date(2016, 7, 1), "8.00", True),
        ("commercial", date(2023, 1, 1), "10.50", True),
        ("commercial", date(2023, 7, 1), "12.00", True),
        ("commercial", date(2024, 1, 1), "12.50", True),
        ("commercial", date(2024, 7, 1), "12.25", True),
        ("commercial", date(2025, 1, 1), "11.15", True),
        ("commercial", date(2025, 7, 1), "10.15", True),
        ("commercial", date(2026, 1, 1), "10.15", False),
        ("commercial", date(2026, 7, 1), "10.40", False),
        ("commercial", date(2030, 1, 1), "10.40", False),  # the last row stays in force
    ],
)
def test_shipped_rates(kind, day, rate, verified):
    assert SHIPPED.rate_on(kind, day) == Decimal(rate)
    assert SHIPPED.row_on(RateKind(kind), day).verified is verified


def test_every_shipped_row_has_a_source():
    assert all(row.source for row in SHIPPED.rows)
    assert all(row.source.startswith("UNVERIFIED") for row in SHIPPED.rows
               if not row.verified and row.valid_from >= date(2026, 1, 1))


@pytest.mark.parametrize("kind", ["consumer", "commercial"])
def test_no_rate_before_2015(kind):
    with pytest.raises(ValueError, match="2015-01-01"):
        SHIPPED.rate_on(kind, date(2014, 12, 31))


def test_unknown_kind():
    with pytest.raises(ValueError):
        SHIPPED.rate_on("mortgage", date(2024, 1, 1))


@pytest.mark.parametrize(
    ("kind", "start", "end", "expected"),
    [
        ("commercial", date(2024, 6, 1), date(2024, 7, 31), [date(2024, 7, 1)]),
        ("commercial", date(2024, 7, 1), date(2024, 7, 31), []),  # a change on start splits nothing
        ("commercial", date(2024, 6, 1), date(2024, 6, 30), []),
        ("commercial", date(2024, 6, 1), date(2024, 7, 1), [date(2024, 7, 1)]),
        ("consumer", date(2022, 12, 1), date(2024, 2, 1),
         [date(2023, 1, 1), date(2023, 7, 1), date(2024, 1, 1)]),
        # the 2025-07-01 consumer row repeats 6 %, so it is no change
        ("consumer", date(2025, 1, 1), date(2025, 12, 31), []),
    ],
)
def test_changes_between(kind, start, end, expected):
    assert SHIPPED.changes_between(kind, start, end) == expected


def test_runs_merge_a_repeated_rate_and_carry_verification():
    runs = SHIPPED.runs("consumer", date(2024, 12, 1), date(2026, 1, 31))
    assert [(run.start, run.end, run.rate_percent, run.verified) for run in runs] == [
        (date(2024, 12, 1), date(2024, 12, 31), Decimal("7.00"), True),
        # 6 % from 2025-01-01 (verified) and 2025-07-01 (not): one run, not verified
        (date(2025, 1, 1), date(2025, 12, 31), Decimal("6.00"), False),
        (date(2026, 1, 1), date(2026, 1, 31), Decimal("4.00"), False),
    ]


def test_from_rows_takes_database_like_records_in_any_order():
    table = RateTable.from_rows([
        _row("consumer", date(2020, 1, 1), "3.5"),
        _row("consumer", date(2019, 1, 1), "3"),
        _row("commercial", date(2019, 1, 1), "9", verified=False),
    ])
    assert [row.valid_from for row in table.rows_of("consumer")] == [date(2019, 1, 1),
                                                                      date(2020, 1, 1)]
    assert table.rate_on("consumer", date(2019, 12, 31)) == Decimal("3")
    assert table.row_on("commercial", date(2019, 5, 1)) == RateRow(
        RateKind.COMMERCIAL, date(2019, 1, 1), Decimal("9"), "test", False
    )


def test_from_rows_refuses_two_rates_for_one_day():
    with pytest.raises(ValueError, match="more than one rate"):
        RateTable.from_rows([_row("consumer", date(2019, 1, 1), "3"),
                             _row("consumer", date(2019, 1, 1), "4")])


@pytest.mark.parametrize(
    "row",
    [
        _row("mortgage", date(2019, 1, 1), "3"),
        _row("consumer", date(2019, 1, 1), "-1"),
        _row("consumer", date(2019, 1, 1), "NaN"),
    ],
)
def test_from_rows_refuses_bad_rows(row):
    with pytest.raises(ValueError):
        RateTable.from_rows([row])


def test_extended_adds_admin_rows_and_overrides_same_day():
    table = SHIPPED.extended([
        _row("consumer", date(2025, 7, 1), "5.00", source="admin: checked the list"),
        _row("commercial", date(2027, 1, 1), "9.90"),
    ])
    corrected = table.row_on("consumer", date(2025, 8, 1))
    assert (corrected.rate_percent, corrected.verified) == (Decimal("5.00"), True)
    assert table.rate_on("commercial", date(2027, 1, 1)) == Decimal("9.90")
    assert len(table.rows) == len(SHIPPED.rows) + 1
    assert SHIPPED.rate_on("consumer", date(2025, 8, 1)) == Decimal("6.00")  # untouched


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind,valid_from,rate\nconsumer,2015-01-01,2\n", "columns"),
        ("kind,valid_from,rate_percent,source,verified\nconsumer,2015-01-01,2,x,maybe\n",
         "line 2"),
        ("kind,valid_from,rate_percent,source,verified\nconsumer,2015-13-01,2,x,yes\n", "line 2"),
        ("kind,valid_from,rate_percent,source,verified\nconsumer,2015-01-01,two,x,yes\n",
         "line 2"),
    ],
)
def test_from_csv_refuses_bad_input(text, message):
    with pytest.raises(ValueError, match=message):
        RateTable.from_csv(text)


def test_from_csv_reads_quoted_sources():
    text = ('kind,valid_from,rate_percent,source,verified\n'
            'commercial,2015-01-01,8.05,"ECB 0.05 + 8, per art. 6:119a",YES\n')
    (row,) = RateTable.from_csv(text).rows
    assert row == RateRow(RateKind.COMMERCIAL, date(2015, 1, 1), Decimal("8.05"),
                          "ECB 0.05 + 8, per art. 6:119a", True)


def test_shipped_is_parsed_once():
    assert RateTable.shipped() is RateTable.shipped()
