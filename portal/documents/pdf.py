"""HTML to PDF with xhtml2pdf, and merging PDFs (the post room's daily bundle).

Letters use the PDF standard font Helvetica: nothing to embed, so a letter renders fast and
stays small. Helvetica covers Windows-1252 (the euro sign, ë, é, ü, ç, quotes, dashes) but not
every Latin letter: the Dutch ĳ ligature, or ł and č in a debtor's name, would print as a black
box. `printable` writes those the way a typist without the glyph would (ĳ -> ij, č -> c,
ł -> l) before rendering; other scripts are left for xhtml2pdf to report.
"""

from __future__ import annotations

import functools
import io
import re
import unicodedata
from pathlib import Path

from pypdf import PdfReader, PdfWriter
from xhtml2pdf import pisa

try:  # xhtml2pdf 0.2.28 and later: a policy on what a document may fetch
    from xhtml2pdf.config.resources import ResourceAccessPolicy
except ImportError:  # pragma: no cover - older xhtml2pdf: our documents fetch nothing anyway
    ResourceAccessPolicy = None  # type: ignore[assignment,misc]

# Characters NFKD cannot take apart into a base letter and an accent.
_NO_DECOMPOSITION = {"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "ħ": "h", "Ħ": "H",
                     "\u2212": "-", "\u2011": "-"}
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class PdfRenderError(RuntimeError):
    """xhtml2pdf could not turn the HTML into a PDF; the message says why."""


def html_to_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """Render `html` to PDF bytes, raising PdfRenderError when xhtml2pdf fails or reports errors.

    `base_url`: a local directory that relative resources (a logo, a font) are read from and
    confined to. Without it the document may read no local files; it never fetches over the
    network, so a value that slipped into the HTML cannot make the worker reach anything.
    """
    out = io.BytesIO()
    path = str(Path(base_url) / "document.html") if base_url else ""
    try:
        status = pisa.CreatePDF(
            printable(html), dest=out, path=path, encoding="utf-8", **_policy(base_url)
        )
    except Exception as exc:
        raise PdfRenderError(f"xhtml2pdf failed: {type(exc).__name__}: {exc}") from exc
    if status.err:
        raise PdfRenderError(f"xhtml2pdf reported errors: {_errors(status)}")
    return out.getvalue()


def _policy(base_url: str | None) -> dict:
    if ResourceAccessPolicy is None:  # pragma: no cover
        return {}
    base_dir = Path(base_url) if base_url else None
    return {"resource_policy": ResourceAccessPolicy(allow_remote=False, base_dir=base_dir)}


def _errors(status) -> str:
    messages = [f"line {line}: {message}" for kind, line, message, _ in status.log
                if kind == "error"]
    return "; ".join(messages) or f"{status.err} error(s)"


def printable(text: str) -> str:
    """`text` with the characters Helvetica lacks replaced by their nearest Latin letters."""
    return _NON_ASCII.sub(lambda match: _printable_char(match.group()), text)


@functools.lru_cache(maxsize=2048)
def _printable_char(char: str) -> str:
    if _in_helvetica(char):
        return char
    if char in _NO_DECOMPOSITION:
        return _NO_DECOMPOSITION[char]
    # NFKD splits é into e + accent and the ligature ĳ into i + j; keep the letters.
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and _in_helvetica(base) else char


def _in_helvetica(text: str) -> bool:
    try:
        text.encode("cp1252")  # the standard fonts' WinAnsiEncoding
    except UnicodeEncodeError:
        return False
    return True


def merge_pdfs(parts: list[bytes]) -> bytes:
    """One PDF with the pages of `parts` in order (e.g. a day's letters for the post room)."""
    if not parts:
        raise ValueError("nothing to merge")
    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def page_count(data: bytes) -> int:
    """The number of pages in a PDF."""
    return len(PdfReader(io.BytesIO(data)).pages)
