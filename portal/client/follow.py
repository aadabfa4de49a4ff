"""Following cases as a client: the CSV export of the case list, and the actions on a case
(hold, end the hold, withdraw, note, answer a dispute). Every case is loaded through
`case_or_404`, so another client's case id answers 404 for every action."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

from flask import (
    Response,
    abort,
    flash,
    make_response,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal.client import bp
from portal.client.views import case_or_404, list_filters, scoped_cases
from portal.extensions import db
from portal.models import AuditEvent, Case
from portal.services import case_queries, client_actions, ledger
from portal.services.disputes import DisputeRefused
from portal.services.notices import agency_today
from portal.templating import event_label, status_label

CSV_COLUMNS = ("reference", "debtor", "status", "principal", "interest", "costs", "paid",
               "balance", "opened", "last action", "last action on")
CHUNK = 500


@bp.get("/cases.csv")
def cases_csv():
    """The filtered case list as CSV, streamed a chunk of cases at a time."""
    stmt = case_queries.search(scoped_cases(), list_filters())
    rows = stream_with_context(_csv_rows(stmt))
    filename = f"cases-{agency_today().isoformat()}.csv"
    return Response(rows, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _csv_rows(stmt) -> Iterator[str]:
    yield _line(CSV_COLUMNS)
    for chunk in db.session.scalars(stmt.execution_options(yield_per=CHUNK)).partitions():
        ids = [c.id for c in chunk]
        balances, last = ledger.balances(ids), _last_events(ids)
        for c in chunk:
            yield _line(_csv_row(c, balances[c.id], last.get(c.id)))


def _csv_row(case: Case, balance: ledger.Balance, event: AuditEvent | None) -> list[str]:
    return [case.reference, case.debtor.name, status_label(case.status),
            _euros(balance.principal), _euros(balance.interest),
            _euros(balance.costs + balance.fees), _euros(balance.paid), _euros(balance.total),
            case.opened_on.isoformat(), event_label(event) if event else "",
            event.occurred_at.date().isoformat() if event else ""]


def _last_events(case_ids: list[int]) -> dict[int, AuditEvent]:
    """Each case's latest event the client may see, in one query."""
    latest = (select(func.max(AuditEvent.id)).where(
        AuditEvent.case_id.in_(case_ids), AuditEvent.client_visible.is_(True))
        .group_by(AuditEvent.case_id))
    return {e.case_id: e for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.id.in_(latest)))}


def _euros(cents: int) -> str:
    return f"{cents / 100:.2f}"


def _line(values) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue()


# -- actions on one case ------------------------------------------------------------------

def action_done(case: Case, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("client.case", case_id=case.id))


def action_refused(case: Case, refused: Exception):
    """Nothing was saved: the case page again with the reason, as 422."""
    from portal.client.views import case as case_page

    db.session.rollback()
    messages = getattr(refused, "messages", None) or [refused.args[0]]
    flash(" ".join(str(m) for m in messages), "error")
    response = make_response(case_page(case.id))
    response.status_code = 422
    return response


def _act(case: Case, action, message: str):
    try:
        action()
    except (client_actions.ActionRefused, DisputeRefused) as refused:
        return action_refused(case, refused)
    return action_done(case, message)


@bp.post("/cases/<int:case_id>/hold")
def hold_case(case_id: int):
    case = case_or_404(case_id)
    try:
        until = date.fromisoformat(request.form.get("until", ""))
    except ValueError:
        return action_refused(case,
                              client_actions.ActionRefused(_("Please enter an end date.")))
    return _act(case, lambda: client_actions.put_on_hold(
        case, until, user=current_user, today=agency_today()), _("The case is on hold."))


@bp.post("/cases/<int:case_id>/hold/end")
def end_hold(case_id: int):
    case = case_or_404(case_id)
    return _act(case, lambda: client_actions.end_hold(case, user=current_user,
                                                      today=agency_today()),
                _("The hold has ended; collection goes on."))


@bp.post("/cases/<int:case_id>/withdraw")
def withdraw_case(case_id: int):
    case = case_or_404(case_id)
    reason = request.form.get("reason", "")
    return _act(case, lambda: client_actions.withdraw(case, reason, user=current_user,
                                                      today=agency_today()),
                _("The case is withdrawn."))


@bp.post("/cases/<int:case_id>/notes")
def add_note(case_id: int):
    case = case_or_404(case_id)
    body = request.form.get("body", "")
    shareable = request.form.get("shareable") == "1"
    return _act(case, lambda: client_actions.add_note(case, body, user=current_user,
                                                      shareable=shareable),
                _("Your note is saved."))


@bp.post("/cases/<int:case_id>/disputes/<int:dispute_id>/answer")
def answer_dispute(case_id: int, dispute_id: int):
    case = case_or_404(case_id)
    dispute = client_actions.open_dispute_on(case, dispute_id)
    if dispute is None:
        abort(404)
    files = [(f.filename or "file", f.read()) for f in request.files.getlist("files")
             if f and f.filename]
    answer = request.form.get("answer", "")
    return _act(case, lambda: client_actions.answer_dispute(dispute, answer, files,
                                                            user=current_user),
                _("Your answer is sent to the agency."))
