"""The workflow's "invoice" step sends the invoices themselves, on the client's behalf: the
client's own PDF where it handed one over, else one made from the claim data; attached to
the email, or after the letter in the same envelope."""

from __future__ import annotations

import io
import re
from email import message_from_bytes, policy

from pypdf import PdfReader
from sqlalchemy import func, select

from portal.documents.pdf import html_to_pdf, page_count
from portal.documents.storage import document_path, read_document
from portal.extensions import db
from portal.jobs import delivery as jobs
from portal.models import (
    AuditEvent,
    Channel,
    Communication,
    DebtorKind,
    Document,
    Notice,
    StepAction,
)
from portal.services import access_codes, invoice_files, notices
from tests.test_delivery import DAY
from tests.test_notices import pdf_text

CLIENT = "Kookhuis Online B.V."


def invoice_notice(make, channel: Channel) -> tuple[Notice, bytes]:
    """An invoice-step notice of one case with two invoices, 125.00 and 80.50: the first
    with the client's own PDF, the second without. Returns the notice and that PDF."""
    client = make.client(CLIENT, address="Havenkade 3, 3011 AA Rotterdam")
    debtor = make.debtor(DebtorKind.PERSON, name="Sanne de Vries", address_line="Dorpsstraat 1",
                         postal_code="1234 AB", city="Utrecht")
    case, _code = make.case(client, debtor, amounts=(125_00, 80_50))
    own = html_to_pdf("<p>Eigen factuur van het Kookhuis</p>")
    invoice_files.attach_pdf(case.invoices[0], "kookhuis-factuur.pdf", own, user=None)
    notice = Notice(key=f"{debtor.id}:{client.id}:1:{DAY}", debtor_id=debtor.id,
                    client_id=client.id, action=StepAction.INVOICE, channel=channel,
                    template_key="invoice", language="nl", dated=DAY)
    db.session.add(notice)
    db.session.flush()
    db.session.add(Communication(idempotency_key=f"case:{case.id}:step:1", case_id=case.id,
                                 notice_id=notice.id, position=1))
    db.session.commit()
    return notice, own


def test_the_invoice_email_carries_the_clients_pdf_and_one_made_from_the_claim(
    app, make, outbox
):
    notice, own = invoice_notice(make, Channel.EMAIL)
    case = notice.communications[0].case
    first, second = (invoice.number for invoice in case.invoices)
    assert jobs.deliver_notices([notice.id]) == {notice.id: "sent"}
    [received] = outbox
    db.session.expire_all()
    kept = read_document(db.session.get(Notice, notice.id).document)
    message = message_from_bytes(kept, policy=policy.default)
    assert message.get_content_type() == "multipart/mixed"
    assert case.reference in message.get_body(("plain",)).get_content()
    files = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert list(files) == [f"invoice-{first}.pdf", f"invoice-{second}.pdf"]
    assert files[f"invoice-{first}.pdf"] == own  # the client's, byte for byte
    made = pdf_text(files[f"invoice-{second}.pdf"])
    for shown in (second, CLIENT, "Havenkade 3", "Sanne de Vries", case.reference,
                  "€ 80,50", "Factuurnummer", "NL00 BANK 0123 4567 89"):
        assert shown in made, shown
    assert first not in made  # one invoice per PDF
    arrived = message_from_bytes(received.as_bytes(), policy=policy.default)
    assert {part.get_filename(): part.get_content() for part in arrived.iter_attachments()} == files
    # Both boundaries are the notice's own: a resend writes the same parts.
    own_id = notices.message_id(notice).strip("<>").partition("@")[0]
    assert re.findall(rb'boundary="([^"]+)"', kept) == [f"=_{own_id}".encode(),
                                                         f"=_{own_id}.alt".encode()]


def test_the_invoice_letter_is_followed_by_the_invoices_in_one_envelope(app, make):
    notice, own = invoice_notice(make, Channel.LETTER)
    case = notice.communications[0].case
    letter_only = notices.render_letter_pdf(notice)
    assert jobs.deliver_notices([notice.id]) == {notice.id: "sent"}
    db.session.expire_all()
    sent = read_document(db.session.get(Notice, notice.id).document)
    assert page_count(sent) == page_count(letter_only) + page_count(own) + 1
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(sent)).pages]
    after_letter = pages[page_count(letter_only):]
    assert "Eigen factuur van het Kookhuis" in after_letter[0]
    assert case.invoices[1].number in after_letter[1] and "€ 80,50" in after_letter[1]


def test_a_new_pdf_replaces_the_old_for_what_is_sent_next_and_both_are_kept(app, make):
    notice, own = invoice_notice(make, Channel.EMAIL)
    invoice = notice.communications[0].case.invoices[0]
    first_document = invoice.document_id
    newer = html_to_pdf("<p>Gecorrigeerde factuur</p>")
    invoice_files.attach_pdf(invoice, "correctie.pdf", newer, user=None)
    db.session.commit()
    case = notice.communications[0].case
    assert invoice_files.invoice_pdf(case, invoice).data == newer
    assert invoice_files.invoice_pdf(case, case.invoices[1]).uploaded is False
    assert read_document(db.session.get(Document, first_document)) == own
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "invoice.pdf")
                                .order_by(AuditEvent.id)).all()
    assert [event.summary for event in events] == [
        f"Invoice {invoice.number}: PDF added", f"Invoice {invoice.number}: PDF replaced"]



def test_a_made_invoice_for_the_clients_eyes_hides_the_debtors_access_code(app, make):
    notice, _own = invoice_notice(make, Channel.EMAIL)
    case = notice.communications[0].case
    code = access_codes.printable_code(case)
    made = case.invoices[1]
    assert code in pdf_text(invoice_files.invoice_pdf(case, made).data)
    hidden = pdf_text(invoice_files.invoice_pdf(case, made, with_access_code=False).data)
    assert code not in hidden and notices.PREVIEW_CODE in hidden


def test_a_clients_pdf_gone_from_disk_fails_the_notice_visibly_and_sends_nothing(
    app, make, outbox
):
    notice, _own = invoice_notice(make, Channel.EMAIL)
    invoice = notice.communications[0].case.invoices[0]
    document_path(db.session.get(Document, invoice.document_id)).unlink()
    documents_before = db.session.scalar(select(func.count()).select_from(Document))
    assert jobs.deliver_notices([notice.id]) == {notice.id: "failed"}
    assert outbox == []
    db.session.expire_all()
    failed = db.session.get(Notice, notice.id)
    assert failed.document_id is None and "the file is missing" in failed.last_error
    assert db.session.scalar(select(func.count()).select_from(Document)) == documents_before
