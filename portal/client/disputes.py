"""The client's read-only view of a case's disputes, and their evidence files."""

from __future__ import annotations

from flask import abort

from portal.client import bp
from portal.client.views import case_or_404
from portal.documents.evidence import evidence_response
from portal.services import disputes


@bp.get("/cases/<int:case_id>/evidence/<int:document_id>")
def evidence(case_id: int, document_id: int):
    case = case_or_404(case_id)
    document = disputes.case_evidence(case, document_id, kinds=disputes.ALL_FILES)
    if document is None:
        abort(404)
    return evidence_response(document)
