"""The API's endpoints: hand over a claim, read a case, put an invoice's PDF, list payments,
the OpenAPI document."""

from __future__ import annotations

from datetime import date

from flask import g, jsonify, request, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.api import bp, problem
from portal.api.claims import read_claim
from portal.api.openapi import document
from portal.extensions import db
from portal.models import AuditEvent, Bucket, Case, Client, EntryCause, LedgerEntry
from portal.services import api_claims, invoice_files, ledger
from portal.services.notices import agency_today

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
KEY_MAX_LENGTH = 200


@bp.get("/openapi.json")
def openapi():
    return jsonify(document(server=url_for("api.openapi", _external=True).rsplit("/", 1)[0]))


@bp.post("/claims")
def create_claim():
    body = request.get_json(silent=True)
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > KEY_MAX_LENGTH:
        return problem(422, "validation_failed", "The request has problems.",
                       fields={"Idempotency-Key": f"At most {KEY_MAX_LENGTH} characters."})
    body_hash = api_claims.request_hash(body)
    if key:
        earlier = api_claims.find_key(g.api_client_id, key)
        if earlier is not None:
            return _replay(earlier, body_hash)
    try:
        status, answer = _hand_over(body)
        if key:
            api_claims.remember(g.api_client_id, key, body_hash, status, answer)
        db.session.commit()
    except IntegrityError:  # a twin request with the same key (or invoice) got there first
        db.session.rollback()
        earlier = api_claims.find_key(g.api_client_id, key) if key else None
        if earlier is not None:
            return _replay(earlier, body_hash)
        return problem(409, "already_handed_over",
                       "Some invoices were handed over at the same moment by another request.")
    return jsonify(answer), status


def _replay(earlier, body_hash: str):
    db.session.commit()  # the token's last use
    if earlier.request_hash != body_hash:
        return problem(422, "idempotency_key_reused",
                       "This Idempotency-Key was used before with a different request.")
    return jsonify(earlier.response_body), earlier.response_status


def _hand_over(body) -> tuple[int, dict]:
    """(status, answer) for the claim; a refusal is an answer too (kept for the key)."""
    claim, errors = read_claim(body)
    if claim is None:
        return 422, {"error": "validation_failed", "message": "The request has problems.",
                     "fields": errors}
    client = db.session.get(Client, g.api_client_id)
    try:
        case = api_claims.hand_over(client, claim.rows, today=agency_today())
    except api_claims.AlreadyHandedOver as known:
        return 409, {"error": "already_handed_over",
                     "message": "These invoices were handed over before: "
                                + ", ".join(known.numbers) + ".",
                     "invoices": known.numbers}
    return 201, case_json(case)


def _own_case(reference: str) -> Case | None:
    """The token's client's case; another client's answers like a missing one."""
    return db.session.scalar(select(Case).where(Case.reference == reference,
                                                Case.client_id == g.api_client_id))


@bp.get("/cases/<reference>")
def case(reference: str):
    found = _own_case(reference)
    if found is None:
        return problem(404, "not_found", "There is no such case, or it is not yours.")
    answer = case_json(found)
    db.session.commit()  # the token's last use
    return jsonify(answer)


# An invoice number may hold a slash (2026/0042): sent as %2F it reaches the route decoded.
@bp.put("/cases/<reference>/invoices/<path:number>/pdf")
def put_invoice_pdf(reference: str, number: str):
    """The client's own PDF of an invoice, the raw bytes as the body; the "invoice" step
    sends it from now on. 201 for the first, 200 when it replaces one."""
    found = _own_case(reference)
    invoice = next((i for i in found.invoices if i.number == number), None) if found else None
    if invoice is None:
        return problem(404, "not_found", "There is no such invoice on a case of yours.")
    if request.mimetype != "application/pdf":
        return problem(415, "unsupported_media_type",
                       "Send the PDF itself as the body, with Content-Type: application/pdf.")
    if not found.is_open:
        return problem(409, "case_closed",
                       "The case is closed; its invoices can no longer change.")
    replaced = invoice.document_id is not None
    try:
        document = invoice_files.attach_pdf(invoice, "", request.get_data(), user=None)
    except invoice_files.InvoicePdfRejected as rejected:
        db.session.rollback()
        return problem(422, "pdf_rejected", str(rejected))
    answer = {"invoice": invoice.number, "document_id": document.id,
              "sha256": document.sha256, "size": document.size, "replaced": replaced}
    db.session.commit()
    return jsonify(answer), 200 if replaced else 201


def case_json(case: Case) -> dict:
    """A case as the API shows it: status, money per bucket in cents, invoices, last action."""
    balance = ledger.balance(case)
    last = db.session.scalar(
        select(AuditEvent).where(AuditEvent.case_id == case.id,
                                 AuditEvent.client_visible.is_(True))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(1))
    return {
        "reference": case.reference,
        "status": str(case.status),
        "opened_on": case.opened_on.isoformat(),
        "closed_on": case.closed_on.isoformat() if case.closed_on else None,
        "debtor": {"name": case.debtor.name, "kind": str(case.debtor.kind)},
        "balance": {
            "charged": {str(b): balance.charged.get(b, 0) for b in Bucket},
            "outstanding": {str(b): balance.remaining.get(b, 0) for b in Bucket},
            "outstanding_total": balance.total,
            "paid": balance.paid,
        },
        "invoices": [{"number": i.number, "invoice_date": i.invoice_date.isoformat(),
                      "due_date": i.due_date.isoformat(), "amount_cents": i.amount_cents,
                      "currency": i.currency, "description": i.description,
                      "has_pdf": i.document_id is not None}
                     for i in case.invoices],
        "last_action": {"at": last.occurred_at.isoformat(), "action": last.action,
                        "summary": last.summary} if last else None,
    }


@bp.get("/payments")
def payments():
    try:
        since = date.fromisoformat(request.args.get("since", ""))
    except ValueError:
        return problem(422, "validation_failed", "The request has problems.",
                       fields={"since": "Give a date as YYYY-MM-DD."})
    after, limit = request.args.get("cursor", "0"), request.args.get("limit", str(PAGE_SIZE))
    if not after.isdigit() or not limit.isdigit() or not 1 <= int(limit) <= MAX_PAGE_SIZE:
        return problem(422, "validation_failed", "The request has problems.",
                       fields={"cursor": "Use the `next` value of the previous page.",
                               "limit": f"A whole number from 1 to {MAX_PAGE_SIZE}."})
    rows = _payment_rows(g.api_client_id, since, int(after), int(limit) + 1)
    more = len(rows) > int(limit)
    rows = rows[: int(limit)]
    items = [{"id": ref or f"entry:{first_id}", "case_reference": reference,
              "amount_cents": -int(total), "booked_on": booked_on.isoformat()}
             for first_id, reference, ref, booked_on, total in rows]
    db.session.commit()  # the token's last use
    return jsonify({"payments": items, "next": str(rows[-1][0]) if more else None})


def _payment_rows(client_id: int, since: date, after: int, limit: int) -> list:
    """One row per payment (its ledger entries share a cause_ref and a day), in booking order;
    keyset pages on the first entry id of each payment."""
    first_id = func.min(LedgerEntry.id)
    return list(db.session.execute(
        select(first_id, Case.reference, LedgerEntry.cause_ref, LedgerEntry.booked_on,
               func.sum(LedgerEntry.amount_cents))
        .join(Case, Case.id == LedgerEntry.case_id)
        .where(Case.client_id == client_id, LedgerEntry.cause == EntryCause.PAYMENT,
               LedgerEntry.booked_on >= since)
        .group_by(LedgerEntry.case_id, Case.reference, LedgerEntry.cause_ref,
                  LedgerEntry.booked_on)
        .having(first_id > after)
        .order_by(first_id).limit(limit)).all())
