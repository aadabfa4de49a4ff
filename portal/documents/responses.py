"""A stored document sent to the browser: the same headers for every audience."""

from __future__ import annotations

from flask import Response

from portal.documents.storage import read_document
from portal.models import Document


def document_response(document: Document, *, attachment: bool = True) -> Response:
    """The document's bytes, never cached by a shared cache, never sniffed as another type;
    `attachment=False` lets the browser show it (a PDF opens in a tab)."""
    return file_response(read_document(document), document.filename, document.content_type,
                         attachment=attachment)


def file_response(data: bytes, filename: str, content_type: str, *,
                  attachment: bool = True) -> Response:
    """Bytes made or read for this request, with the headers of a stored document.
    `filename` must be safe in a header already (storage.safe_filename)."""
    disposition = "attachment" if attachment else "inline"
    return Response(data, mimetype=content_type, headers={
        "Content-Disposition": f'{disposition}; filename="{filename}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
