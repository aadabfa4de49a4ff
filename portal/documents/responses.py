"""A stored document sent to the browser: the same headers for every audience."""

from __future__ import annotations

from flask import Response

from portal.documents.storage import read_document
from portal.models import Document


def document_response(document: Document, *, attachment: bool = True) -> Response:
    """The document's bytes, never cached by a shared cache, never sniffed as another type;
    `attachment=False` lets the browser show it (a PDF opens in a tab)."""
    disposition = "attachment" if attachment else "inline"
    return Response(read_document(document), mimetype=document.content_type, headers={
        "Content-Disposition": f'{disposition}; filename="{document.filename}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})
