"""Bank statements as uploaded by the agency: CAMT.053 (XML) and MT940, read into plain entries.

No Flask, no database: services.banking stores and matches what comes out of here.
"""

from __future__ import annotations

from portal.banking.entries import ParsedEntry, ParsedStatement, StatementError, entry_key

__all__ = ["ParsedEntry", "ParsedStatement", "StatementError", "entry_key", "parse_statement"]

MAX_BYTES = 20 * 1024 * 1024


def parse_statement(data: bytes, filename: str) -> ParsedStatement:
    """Read a statement file; the format comes from the content, not the file name.

    Raises StatementError, in plain words, for anything that is not a statement we can read.
    """
    from portal.banking import camt, swift

    if not data or not data.strip():
        raise StatementError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise StatementError("The file is too large for a bank statement.")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:2048]
    if head.startswith(b"<"):
        return camt.parse(data)
    if b":20:" in head or b":25:" in head or head.startswith(b"{1:"):
        return swift.parse(data)
    raise StatementError(
        f"{filename or 'This file'} is not a CAMT.053 (XML) or MT940 bank statement."
    )
