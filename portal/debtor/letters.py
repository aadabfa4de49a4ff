"""The letters and emails sent to the debtor, to read again or download."""

from __future__ import annotations

from flask import Response, abort, render_template

from portal.debtor import bp, load_case
from portal.documents.storage import read_document
from portal.models import Channel
from portal.services import correspondence


@bp.get("/cases/<int:case_id>/letters/<int:notice_id>")
def letter(case_id: int, notice_id: int):
    """A letter as the PDF that was posted; an email as a page with its text."""
    case = load_case(case_id)
    notice = correspondence.sent_notice(case, notice_id)
    if notice is None:
        abort(404)
    if notice.channel == Channel.EMAIL:
        email = correspondence.read_email(notice.document)
        return render_template("debtor/letters/email.html", case=case, notice=notice,
                               email=email)
    document = notice.document
    return Response(
        read_document(document),
        mimetype=document.content_type,
        headers={"Content-Disposition": f'inline; filename="{document.filename}"',
                 "Cache-Control": "private, no-store"},
    )
