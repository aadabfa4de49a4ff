"""Serving a dispute's evidence file: the type it was stored with, inline, never sniffed."""

from __future__ import annotations

from flask import Response

from portal.documents.storage import read_document
from portal.models import Document


def evidence_response(document: Document) -> Response:
    """The file as the type its bytes showed at upload (PDF or photo); the browser must not
    guess another (nosniff), and nothing caches it."""
    return Response(
        read_document(document),
        mimetype=document.content_type,
        headers={
            "Content-Disposition": f'inline; filename="{document.filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
