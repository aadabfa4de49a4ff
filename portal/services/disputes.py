"""Opening and resolving disputes: a dispute pauses dunning and calls until it is resolved.

Outcomes (decided here, shown to the agency on the resolve form):
- REJECTED: the claim stands; no credit; the case resumes collection (status refresh).
- PARTLY_UPHELD: part of the invoices is credited (a negative principal entry, cause
  CREDIT_NOTE, cause_ref "dispute:<id>"); collection resumes for the rest. If the credit
  leaves nothing to pay, the case is closed.
- UPHELD: the debtor was right about the whole claim: everything still open (principal,
  interest, costs, fees) is credited, bucket by bucket, and the case is CLOSED today.
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import case as sql_case
from sqlalchemy import select

from portal.documents.storage import save_document
from portal.domain import evidence
from portal.extensions import db
from portal.models import (
    Bucket,
    Case,
    CaseStatus,
    Dispute,
    DisputeOutcome,
    DisputeReason,
    DisputeStatus,
    Document,
    DocumentKind,
    EntryCause,
    Party,
    Role,
    User,
    utcnow,
)
from portal.queue import enqueue_after_commit
from portal.services import audit, case_status, ledger
from portal.templating import file_size

MAX_DESCRIPTION = 5000
SEND_RECEIVED = "portal.jobs.disputes.send_dispute_received"
SEND_RESOLVED = "portal.jobs.disputes.send_dispute_resolved"


class DisputeRefused(ValueError):
    """The dispute cannot be opened or resolved as asked; `messages` say why, in plain words."""

    def __init__(self, messages: list) -> None:
        # Lazy texts: rendered in the reader's language when shown, not when raised.
        super().__init__(*messages)
        self.messages = messages


class EvidenceRejected(DisputeRefused):
    """One or more files were refused; nothing was stored."""


def open_dispute(
    case: Case,
    reason: DisputeReason,
    description: str,
    files: list[tuple[str, bytes]],
    *,
    today: date,
    debtor_id: int | None = None,
    user: User | None = None,
) -> Dispute:
    """Open a dispute with its evidence; the case becomes DISPUTED (dunning and calls pause).

    Every file is checked before any is stored. The debtor is emailed after the commit.
    """
    if case_status.has_open_dispute(case):
        raise DisputeRefused([_("There is already an open dispute about this case.")])
    description = (description or "").strip()
    if not description or len(description) > MAX_DESCRIPTION:
        raise DisputeRefused([_("Please describe the problem in at most %(n)s characters.",
                                n=MAX_DESCRIPTION)])
    content_types = _checked(files)
    dispute = Dispute(case_id=case.id, reason=reason, description=description,
                      opened_by=_party(debtor_id, user),
                      opened_by_user_id=user.id if user is not None else None)
    db.session.add(dispute)
    db.session.flush()
    for (filename, data), content_type in zip(files, content_types, strict=True):
        document = save_document(DocumentKind.EVIDENCE, filename, content_type, data,
                                 case_id=case.id)
        document.dispute_id = dispute.id
    audit.record("dispute.opened", f"Dispute opened: {reason}", case=case, user=user,
                 debtor_id=debtor_id, dispute=dispute.id, reason=str(reason), files=len(files))
    case_status.refresh(case, today)
    enqueue_after_commit("mail", SEND_RECEIVED, dispute.id)
    return dispute


def _party(debtor_id: int | None, user: User | None) -> Party:
    if user is None:
        return Party.DEBTOR
    return Party.CLIENT if user.role == Role.CLIENT else Party.AGENCY


def _checked(files: list[tuple[str, bytes]]) -> list[str]:
    """The content types of the files, or EvidenceRejected with a line per problem."""
    max_bytes = current_app.config["EVIDENCE_MAX_BYTES"]
    types, rejections = evidence.check(files, max_files=evidence.MAX_FILES, max_bytes=max_bytes)
    if rejections:
        raise EvidenceRejected([_rejection_message(r, max_bytes) for r in rejections])
    return types


def _rejection_message(rejection: evidence.Rejection, max_bytes: int) -> str:
    name = rejection.filename
    if rejection.problem == evidence.Problem.TOO_MANY:
        return _("Please send at most %(n)s files.", n=evidence.MAX_FILES)
    if rejection.problem == evidence.Problem.EMPTY:
        return _("%(name)s is empty.", name=name)
    if rejection.problem == evidence.Problem.TOO_LARGE:
        return _("%(name)s is larger than %(size)s.", name=name, size=file_size(max_bytes))
    return _("%(name)s is not a PDF or a photo.", name=name)


def resolve(
    dispute: Dispute,
    outcome: DisputeOutcome,
    resolution_text: str,
    user: User,
    *,
    today: date,
    credit_cents: int = 0,
) -> Dispute:
    """Record the outcome (told to the debtor by email after the commit) and book any credit.

    See the module docstring for what each outcome does to the case and its balance.
    """
    resolution_text = (resolution_text or "").strip()
    if not dispute.is_open:
        raise DisputeRefused([_("This dispute has already been resolved.")])
    if not resolution_text:
        raise DisputeRefused([_("Write what you tell the debtor.")])
    case = dispute.case
    credits = _credits(case, outcome, credit_cents)
    dispute.status = DisputeStatus.RESOLVED
    dispute.outcome = outcome
    dispute.resolution = resolution_text
    dispute.resolved_at = utcnow()
    dispute.resolved_by_id = user.id
    for bucket, cents in credits.items():
        ledger.book(case, bucket, -cents, EntryCause.CREDIT_NOTE,
                    f"Credit after dispute {dispute.id}", booked_on=today,
                    cause_ref=f"dispute:{dispute.id}", user=user)
    db.session.flush()
    case_status.refresh(case, today)
    if credits and case.is_open and ledger.balance(case).total <= 0:
        case.status = CaseStatus.CLOSED
        case.closed_on = today
    audit.record("dispute.resolved", f"Dispute resolved: {outcome}", case=case, user=user,
                 dispute=dispute.id, outcome=str(outcome), credit_cents=sum(credits.values()))
    db.session.flush()
    enqueue_after_commit("mail", SEND_RESOLVED, dispute.id)
    return dispute


def _credits(case: Case, outcome: DisputeOutcome, credit_cents: int) -> dict[Bucket, int]:
    """What to credit per bucket for this outcome (checked against what is still open)."""
    remaining = ledger.balance(case).remaining
    if outcome == DisputeOutcome.UPHELD:
        return {bucket: cents for bucket, cents in remaining.items() if cents > 0}
    if outcome == DisputeOutcome.REJECTED:
        if credit_cents:
            raise DisputeRefused([_("A rejected dispute gets no credit.")])
        return {}
    principal = remaining.get(Bucket.PRINCIPAL, 0)
    if not 0 < credit_cents <= principal:
        raise DisputeRefused([_("The credit must be more than zero and at most the invoices "
                                "still open.")])
    return {Bucket.PRINCIPAL: credit_cents}


def open_dispute_of(case: Case) -> Dispute | None:
    return db.session.scalar(select(Dispute).where(
        Dispute.case_id == case.id, Dispute.status == DisputeStatus.OPEN))


def case_disputes(case: Case) -> list[Dispute]:
    """The case's disputes, newest first."""
    return list(db.session.scalars(
        select(Dispute).where(Dispute.case_id == case.id)
        .order_by(Dispute.opened_at.desc(), Dispute.id.desc())))


# The debtor's evidence; the agency and the client also see the client's files with its answer.
DEBTOR_FILES = (DocumentKind.EVIDENCE,)
ALL_FILES = (DocumentKind.EVIDENCE, DocumentKind.ANSWER)


def with_evidence(case: Case, *, kinds=DEBTOR_FILES) -> dict[str, object]:
    """The case's disputes (newest first) and each one's files of `kinds`: what a case page
    shows (the debtor's page only the debtor's own evidence)."""
    all_disputes = case_disputes(case)
    return {"disputes": all_disputes,
            "evidence": evidence_by_dispute([d.id for d in all_disputes], kinds=kinds)}


def evidence_by_dispute(dispute_ids: list[int], *, kinds=DEBTOR_FILES
                        ) -> dict[int, list[Document]]:
    """Each dispute's files of `kinds`, in one query."""
    found: dict[int, list[Document]] = {dispute_id: [] for dispute_id in dispute_ids}
    if dispute_ids:
        for document in db.session.scalars(
            select(Document).where(Document.dispute_id.in_(dispute_ids),
                                   Document.kind.in_(kinds))
            .order_by(Document.id)
        ):
            found[document.dispute_id].append(document)
    return found


def case_evidence(case: Case, document_id: int, *, kinds=DEBTOR_FILES) -> Document | None:
    """A file of `kinds` of one of this case's disputes (and only those)."""
    return db.session.scalar(
        select(Document).join(Dispute, Dispute.id == Document.dispute_id).where(
            Document.id == document_id, Document.kind.in_(kinds),
            Dispute.case_id == case.id, Document.case_id == case.id))


def checked_files(files: list[tuple[str, bytes]]) -> list[str]:
    """The content types of evidence files, or EvidenceRejected saying what is wrong with each
    (the checks of a debtor's evidence, for anyone who sends files with a dispute)."""
    return _checked(files)


def disputes_page_query(status: DisputeStatus | None):
    """The agency's list: open first, then newest first; optionally one status."""
    query = select(Dispute)
    if status is not None:
        query = query.where(Dispute.status == status)
    open_first = sql_case((Dispute.status == DisputeStatus.OPEN, 0), else_=1)
    return query.order_by(open_first, Dispute.opened_at.desc(), Dispute.id.desc())
