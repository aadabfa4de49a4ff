"""Remittance statements: what a client is told about one remittance, as a page and as a PDF.

One line per case (the sums of the remittance's items, from one grouped query), the totals, the
terms in words and a summary that walks from the money collected to the payout, each step a
visible subtraction. The lines must add up to the figures stored on the remittance (which the
transfer pays); a statement that does not add up is refused rather than sent. The PDF is made
once per remittance and kept as a document. Flushes, never commits.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select, update

from portal.documents.pdf import html_to_pdf
from portal.documents.storage import save_document
from portal.extensions import db
from portal.models import (
    Beneficiary,
    Bucket,
    Case,
    Debtor,
    Document,
    DocumentKind,
    Invoice,
    Remittance,
    RemittanceItem,
    RemittanceRun,
    RemittanceStatus,
    User,
)
from portal.services import audit
from portal.services.notices import agency_today, format_iban
from portal.services.report_csv import cell, euros
from portal.templating import commission_rate

TEMPLATE = "documents/remittance_statement.html"


class StatementMismatch(RuntimeError):
    """The items of a remittance no longer add up to the figures stored on it."""


@dataclass(frozen=True)
class StatementLine:
    """One case on a statement: what its debtor paid that this remittance passes on."""

    case_id: int
    reference: str
    debtor: str
    invoices: tuple[str, ...]
    principal_cents: int
    interest_cents: int
    costs_fees_cents: int  # collection costs and other fees together

    @property
    def total_cents(self) -> int:
        return self.principal_cents + self.interest_cents + self.costs_fees_cents


@dataclass(frozen=True)
class Totals:
    principal_cents: int = 0
    interest_cents: int = 0
    costs_fees_cents: int = 0

    @property
    def total_cents(self) -> int:
        return self.principal_cents + self.interest_cents + self.costs_fees_cents


@dataclass(frozen=True)
class SummaryLine:
    """A step of the summary: `sign` is "" for a subtotal, "-" for a deduction, "=" the end."""

    label: str
    cents: int
    sign: str = ""


def client_remittances(client_id: int) -> Select:
    """The client's remittances of approved runs, newest first. A draft is never shown."""
    return (
        select(Remittance).join(RemittanceRun, RemittanceRun.id == Remittance.run_id)
        .where(Remittance.client_id == client_id,
               RemittanceRun.status == RemittanceStatus.APPROVED)
        .order_by(RemittanceRun.execution_date.desc(), Remittance.id.desc())
    )


def statement_lines(remittance: Remittance) -> list[StatementLine]:
    """One line per case of the remittance, ordered by case reference (one grouped query for
    the money, one for the invoice numbers)."""
    rows = db.session.execute(
        select(Case.id, Case.reference, Debtor.name,
               _bucket_sum(Bucket.PRINCIPAL), _bucket_sum(Bucket.INTEREST),
               _bucket_sum(Bucket.COSTS, Bucket.FEES))
        .select_from(RemittanceItem)
        .join(Case, Case.id == RemittanceItem.case_id)
        .join(Debtor, Debtor.id == Case.debtor_id)
        .where(RemittanceItem.remittance_id == remittance.id)
        .group_by(Case.id, Case.reference, Debtor.name)
        .order_by(Case.reference)
    ).all()
    numbers = invoice_numbers([row[0] for row in rows])
    return [StatementLine(case_id, reference, debtor, numbers.get(case_id, ()),
                          int(principal), int(interest), int(costs))
            for case_id, reference, debtor, principal, interest, costs in rows]


def _bucket_sum(*buckets: Bucket):
    amount = case((RemittanceItem.bucket.in_(buckets), RemittanceItem.amount_cents), else_=0)
    return func.coalesce(func.sum(amount), 0)


def invoice_numbers(case_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The client's invoice numbers of each case, in the order they were handed over."""
    found: dict[int, list[str]] = defaultdict(list)
    if case_ids:
        for case_id, number in db.session.execute(
                select(Invoice.case_id, Invoice.number).where(Invoice.case_id.in_(case_ids))
                .order_by(Invoice.case_id, Invoice.id)):
            found[case_id].append(number)
    return {case_id: tuple(numbers) for case_id, numbers in found.items()}


def totals(lines: list[StatementLine]) -> Totals:
    return Totals(sum(line.principal_cents for line in lines),
                  sum(line.interest_cents for line in lines),
                  sum(line.costs_fees_cents for line in lines))


def check_adds_up(remittance: Remittance, found: Totals) -> None:
    """Raise StatementMismatch unless the lines and the summary reach the stored figures."""
    stored = Totals(remittance.principal_cents, remittance.interest_cents,
                    remittance.costs_cents + remittance.fees_cents)
    interest_kept, costs_kept = _kept(remittance)
    end = (remittance.collected_cents - remittance.commission_cents
           - remittance.commission_vat_cents - interest_kept - costs_kept)
    if found != stored or end != remittance.payout_cents:
        raise StatementMismatch(
            f"remittance {remittance.id}: lines {found}, stored {stored}, "
            f"summary ends at {end} but the payout is {remittance.payout_cents}")


def deductions(remittance: Remittance) -> list[SummaryLine]:
    """What comes off the money collected before it is paid out, under the terms used."""
    steps = [
        SummaryLine(_("Less commission (%(rate)s of the principal)",
                      rate=commission_rate(remittance.commission_bp)),
                    remittance.commission_cents, "-"),
        SummaryLine(_("Less VAT on the commission (%(vat)s %%)",
                      vat=remittance.commission_vat_percent),
                    remittance.commission_vat_cents, "-"),
    ]
    interest_kept, costs_kept = _kept(remittance)
    if interest_kept:
        steps.append(SummaryLine(_("Less interest, kept by the agency"), interest_kept, "-"))
    if costs_kept:
        steps.append(SummaryLine(_("Less collection costs and fees, kept by the agency"),
                                 costs_kept, "-"))
    return steps


def _kept(remittance: Remittance) -> tuple[int, int]:
    """The interest, and the costs and fees, that the terms leave with the agency."""
    interest = remittance.interest_cents if remittance.interest_to == Beneficiary.AGENCY else 0
    costs = remittance.costs_cents + remittance.fees_cents
    return interest, costs if remittance.costs_to == Beneficiary.AGENCY else 0


def summary(remittance: Remittance) -> list[SummaryLine]:
    """From the money collected, bucket by bucket, down to the payout."""
    return [
        SummaryLine(_("Principal collected"), remittance.principal_cents),
        SummaryLine(_("Interest collected"), remittance.interest_cents),
        SummaryLine(_("Collection costs and fees collected"),
                    remittance.costs_cents + remittance.fees_cents),
        SummaryLine(_("Total collected"), remittance.collected_cents, "="),
        *deductions(remittance),
        SummaryLine(_("Paid to you"), remittance.payout_cents, "="),
    ]


def terms_in_words(remittance: Remittance) -> list[str]:
    """The terms this remittance used, as sentences."""
    kept = {Beneficiary.CLIENT: _("passed on to you"), Beneficiary.AGENCY: _("kept by the agency")}
    return [
        _("Commission: %(rate)s of the principal collected, plus %(vat)s %% VAT on the "
          "commission.", rate=commission_rate(remittance.commission_bp),
          vat=remittance.commission_vat_percent),
        _("Interest: %(who)s.", who=kept[remittance.interest_to]),
        _("Collection costs and fees: %(who)s.", who=kept[remittance.costs_to]),
    ]


# xhtml2pdf takes about 6 ms a row: the PDF lists this many cases and points to the CSV (sent
# with it, and in the portal) for the rest; its totals are always those of all cases.
PDF_MAX_LINES = 400


def statement_context(remittance: Remittance) -> dict:
    """Everything the page and the PDF show; refuses a statement that does not add up."""
    lines = statement_lines(remittance)
    found = totals(lines)
    check_adds_up(remittance, found)
    return {
        "remittance": remittance,
        "run": remittance.run,
        "client": remittance.client,
        "lines": lines,
        "pdf_max_lines": PDF_MAX_LINES,
        "totals": found,
        "summary": summary(remittance),
        "terms": terms_in_words(remittance),
        "iban": format_iban(remittance.iban) if remittance.iban else None,
    }


def statement_csv(remittance: Remittance) -> bytes:
    """Every case of the statement as CSV (UTF-8 with BOM, so spreadsheets read accents): the
    complete list, also for a statement whose PDF lists only the first PDF_MAX_LINES."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Case"), _("Debtor"), _("Your invoices"), _("Principal"), _("Interest"),
                     _("Costs and fees"), _("Total")])
    for line in statement_lines(remittance):
        writer.writerow([line.reference, cell(line.debtor), cell(" ".join(line.invoices)),
                         euros(line.principal_cents), euros(line.interest_cents),
                         euros(line.costs_fees_cents), euros(line.total_cents)])
    return ("\ufeff" + out.getvalue()).encode()


def statement_language(client_id: int) -> str:
    """The language the client's active users read most (ties: alphabetically), if the portal
    has it; else the agency's default. A statement goes to the business, not to one user."""
    languages = current_app.config["LANGUAGES"]
    found = db.session.scalar(
        select(User.language)
        .where(User.client_id == client_id, User.active.is_(True), User.language.in_(languages))
        .group_by(User.language).order_by(func.count().desc(), User.language).limit(1))
    return found or current_app.config["BABEL_DEFAULT_LOCALE"]


def make_statement(remittance: Remittance, *, language: str | None = None) -> Document:
    """The remittance's statement PDF: made, stored and linked the first time; afterwards the
    stored one (also when another worker made it a moment ago). Written in `language`, by
    default the one the client's users read (statement_language)."""
    if remittance.statement_document_id is not None:
        return db.session.get(Document, remittance.statement_document_id)
    language = language or statement_language(remittance.client_id)
    with force_locale(language):
        html = render_template(TEMPLATE, made_on=agency_today(), **statement_context(remittance))
    document = save_document(DocumentKind.REMITTANCE,
                             f"remittance-statement-{remittance.reference}.pdf",
                             "application/pdf", html_to_pdf(html), case_id=None)
    linked = db.session.execute(
        update(Remittance).where(Remittance.id == remittance.id,
                                 Remittance.statement_document_id.is_(None))
        .values(statement_document_id=document.id)
    ).rowcount
    if not linked:  # made elsewhere meanwhile: keep theirs, drop ours (its file stays unused)
        db.session.delete(document)
        db.session.refresh(remittance)
        return db.session.get(Document, remittance.statement_document_id)
    audit.record("remittance.statement_made", f"Remittance statement {remittance.reference} made",
                 client_id=remittance.client_id, client_visible=False,
                 remittance_id=remittance.id, language=language)
    db.session.flush()
    return document

