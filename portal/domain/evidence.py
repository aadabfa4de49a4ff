"""Which files a debtor may send with a dispute: PDF or photo, judged by their first bytes.

The name's extension and the browser's content type are the sender's word; the bytes are not.
Every file is checked before any is kept, so a rejected upload leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_FILES = 5
MAX_BYTES = 10 * 1024 * 1024


class Problem(StrEnum):
    TOO_MANY = "too_many"
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    WRONG_TYPE = "wrong_type"


@dataclass(frozen=True)
class Rejection:
    filename: str  # "" for a problem with the whole set (too many files)
    problem: Problem


# (magic prefix, offset, content type); HEIC is an ISO box "ftyp" with a HEIF brand at byte 8.
_SIGNATURES = (
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
)
_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1")


def sniff(data: bytes) -> str | None:
    """The content type the bytes show, or None when they are not a PDF or a photo."""
    for magic, offset, content_type in _SIGNATURES:
        if data[offset:offset + len(magic)] == magic:
            return content_type
    if data[4:8] == b"ftyp" and data[8:12] in _HEIC_BRANDS:
        return "image/heic"
    return None


def check(
    files: list[tuple[str, bytes]], *, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES
) -> tuple[list[str], list[Rejection]]:
    """The content type of each file, and every problem found (all of them, not the first)."""
    rejections: list[Rejection] = []
    if len(files) > max_files:
        rejections.append(Rejection("", Problem.TOO_MANY))
    types: list[str] = []
    for filename, data in files:
        content_type = sniff(data)
        if not data:
            rejections.append(Rejection(filename, Problem.EMPTY))
        elif len(data) > max_bytes:
            rejections.append(Rejection(filename, Problem.TOO_LARGE))
        elif content_type is None:
            rejections.append(Rejection(filename, Problem.WRONG_TYPE))
        types.append(content_type or "")
    return types, rejections
