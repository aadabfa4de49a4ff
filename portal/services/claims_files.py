"""Reading an uploaded table of claims: CSV (delimiter ; or , sniffed; UTF-8 with or without a
BOM, else Windows-1252) or XLSX (openpyxl, read-only, values only). Rows are streamed one at a
time: a 100k-row file is never held as a list of rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

XLSX_MAGIC = b"PK\x03\x04"


class UnreadableFile(ValueError):
    """The file is not a CSV or XLSX table we can read (or it has no header row)."""


def is_xlsx(filename: str, data: bytes) -> bool:
    return filename.lower().endswith(".xlsx") or data[:4] == XLSX_MAGIC


def read_table(filename: str, data: bytes) -> tuple[list[str], Iterator[list]]:
    """The header row and an iterator over the other rows (lists of cell values).

    Wholly empty rows are skipped. Raises UnreadableFile when there is no header row.
    """
    rows = _xlsx_rows(data) if is_xlsx(filename, data) else _csv_rows(data)
    for header in rows:
        if any(_filled(cell) for cell in header):
            headers = [str(cell).strip() if cell is not None else "" for cell in header]
            return headers, (row for row in rows if any(_filled(cell) for cell in row))
    raise UnreadableFile("no header row")


def _filled(cell: object) -> bool:
    return cell is not None and str(cell).strip() != ""


def decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else Windows-1252 (what Excel on Windows writes)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _csv_rows(data: bytes) -> Iterator[list]:
    text = decode(data)
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=";,\t")
    except csv.Error:
        dialect = csv.excel
        if sample.split("\n", 1)[0].count(";") > sample.split("\n", 1)[0].count(","):
            dialect = _Semicolon
    return csv.reader(io.StringIO(text), dialect)


class _Semicolon(csv.excel):
    delimiter = ";"


def _xlsx_rows(data: bytes) -> Iterator[list]:
    from openpyxl import load_workbook  # only uploads of spreadsheets need it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise UnreadableFile("not a workbook") from exc
    sheet = book.worksheets[0]

    def rows() -> Iterator[list]:
        try:
            for row in sheet.iter_rows(values_only=True):
                yield list(row)
        finally:
            book.close()

    return rows()
