"""Statutory interest rates as dated data rows: the shipped CSV plus rows an admin adds.

A row says "from `valid_from` the rate of this kind is `rate_percent` per year" and stays in
force until the next row of the same kind. Every row carries its source and whether a person
checked it against an official source, so pages can warn when a figure rests on a guess.
"""

from __future__ import annotations

import csv
import functools
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib import resources
from typing import Protocol

CSV_COLUMNS = ("kind", "valid_from", "rate_percent", "source", "verified")
_VERIFIED_VALUES = {"yes": True, "no": False}


class RateKind(StrEnum):
    CONSUMER = "consumer"  # art. 6:119 BW: non-commercial debts
    COMMERCIAL = "commercial"  # art. 6:119a BW: commercial contracts


class RateLike(Protocol):
    """Anything with a rate row's attributes, such as the admin's database record."""

    kind: str
    valid_from: date
    rate_percent: Decimal
    source: str
    verified: bool


@dataclass(frozen=True)
class RateRow:
    kind: RateKind
    valid_from: date
    rate_percent: Decimal  # per year, e.g. Decimal("7.00")
    source: str
    verified: bool

    @classmethod
    def coerce(cls, row: RateLike) -> RateRow:
        """Copy any rate-like object into a checked RateRow (ValueError if it is invalid)."""
        rate = Decimal(row.rate_percent)
        if not rate.is_finite() or rate < 0:
            raise ValueError(f"invalid rate {row.rate_percent!r} from {row.valid_from}")
        return cls(RateKind(row.kind), row.valid_from, rate, row.source, bool(row.verified))

    @property
    def key(self) -> tuple[RateKind, date]:
        return (self.kind, self.valid_from)


@dataclass(frozen=True)
class RateTable:
    """All known rates, sorted by kind and date; build it with `shipped()` or `from_rows()`."""

    rows: tuple[RateRow, ...]

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.rows, key=lambda row: row.key))
        counts = Counter(row.key for row in ordered)
        duplicates = sorted(key for key, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"more than one rate for {duplicates}")
        # Sorting here lets every lookup below assume date order.
        object.__setattr__(self, "rows", ordered)

    @classmethod
    def shipped(cls) -> RateTable:
        """The rates that ship with the portal (portal/domain/data/interest_rates.csv)."""
        return _shipped_table()

    @classmethod
    def from_rows(cls, rows: Iterable[RateLike]) -> RateTable:
        """A table of the given rows; two rows for the same kind and date raise ValueError."""
        return cls(tuple(RateRow.coerce(row) for row in rows))

    @classmethod
    def from_csv(cls, text: str) -> RateTable:
        """Parse CSV text with the columns kind,valid_from,rate_percent,source,verified."""
        reader = csv.DictReader(io.StringIO(text))
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise ValueError(f"rate CSV columns must be {','.join(CSV_COLUMNS)}")
        return cls(tuple(_parse_csv_row(record, reader.line_num) for record in reader))

    def extended(self, rows: Iterable[RateLike]) -> RateTable:
        """This table plus `rows`; a new row replaces one of the same kind and date.

        That is how an admin corrects a shipped rate (an unverified one, say) without a
        release: the database row wins over the CSV row.
        """
        new_rows = {row.key: row for row in map(RateRow.coerce, rows)}
        kept = [row for row in self.rows if row.key not in new_rows]
        return RateTable((*kept, *new_rows.values()))

    def rows_of(self, kind: RateKind | str) -> tuple[RateRow, ...]:
        kind = RateKind(kind)
        return tuple(row for row in self.rows if row.kind == kind)

    def row_on(self, kind: RateKind | str, day: date) -> RateRow:
        """The row in force on `day`; ValueError before the first known rate."""
        rows = self.rows_of(kind)
        earlier = [row for row in rows if row.valid_from <= day]
        if not earlier:
            first = f"the first is from {rows[0].valid_from}" if rows else "there are none"
            raise ValueError(f"no {RateKind(kind)} interest rate known for {day}; {first}")
        return earlier[-1]

    def rate_on(self, kind: RateKind | str, day: date) -> Decimal:
        """The rate in percent per year in force on `day`."""
        return self.row_on(kind, day).rate_percent

    def rows_between(self, kind: RateKind | str, start: date, end: date) -> tuple[RateRow, ...]:
        """The rows in force on some day from `start` up to and including `end`."""
        later = tuple(row for row in self.rows_of(kind) if start < row.valid_from <= end)
        return (self.row_on(kind, start), *later)

    def changes_between(self, kind: RateKind | str, start: date, end: date) -> list[date]:
        """Days after `start`, up to and including `end`, on which a different rate starts.

        A row that repeats the rate before it (a checked-and-unchanged half year) is not a
        change, so it does not split an interest period.
        """
        rows = self.rows_between(kind, start, end)
        return [new.valid_from for old, new in zip(rows, rows[1:], strict=False)
                if new.rate_percent != old.rate_percent]

    def runs(self, kind: RateKind | str, start: date, end: date) -> list[RateRun]:
        """Split `start`..`end` (inclusive) into maximal runs of one rate."""
        starts = [start, *self.changes_between(kind, start, end)]
        ends = [day - timedelta(days=1) for day in starts[1:]] + [end]
        return [self._run(kind, first, last) for first, last in zip(starts, ends, strict=True)]

    def _run(self, kind: RateKind | str, first: date, last: date) -> RateRun:
        rows = self.rows_between(kind, first, last)
        verified = all(row.verified for row in rows)
        return RateRun(first, last, rows[0].rate_percent, verified)


@dataclass(frozen=True)
class RateRun:
    """Consecutive days at one rate; `verified` only if every row behind it was checked."""

    start: date
    end: date
    rate_percent: Decimal
    verified: bool


def _parse_csv_row(record: dict[str, str], line: int) -> RateRow:
    try:
        return RateRow(
            kind=RateKind(record["kind"].strip()),
            valid_from=date.fromisoformat(record["valid_from"].strip()),
            rate_percent=Decimal(record["rate_percent"].strip()),
            source=record["source"].strip(),
            verified=_VERIFIED_VALUES[record["verified"].strip().lower()],
        )
    except (KeyError, ValueError, InvalidOperation, AttributeError) as exc:
        raise ValueError(f"rate CSV line {line}: {exc!r}") from exc


@functools.cache
def _shipped_table() -> RateTable:
    # The table is immutable, so one parsed copy serves the whole process.
    path = resources.files("portal.domain") / "data" / "interest_rates.csv"
    return RateTable.from_csv(path.read_text(encoding="utf-8"))
