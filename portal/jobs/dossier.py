"""The legal dossier on the `letters` queue: enqueued by a dunning chunk after the commit that
handed a case over to legal, and by the case page's "make the dossier again"."""

from __future__ import annotations

from portal.extensions import db
from portal.jobs import job_logger
from portal.models import Case
from portal.services import dossier


def make_dossier(case_id: int) -> int:
    """Render and store the case's dossier PDF; returns the document's id. One commit."""
    log = job_logger(__name__)
    case = db.session.get(Case, case_id)
    if case is None:
        raise LookupError(f"no case {case_id}")
    document = dossier.build_dossier(case)
    db.session.commit()
    log.info("dossier for case %s stored as document %s", case_id, document.id)
    return document.id
