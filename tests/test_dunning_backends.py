"""A reminder day, decided, recorded and delivered on the migrated schema of each backend.

The chunk and the delivery job speak each backend's own SQL: on PostgreSQL the cases move in
one UPDATE ... FROM unnest, notices and communications go in with INSERT ... SELECT FROM
unnest, id lists go as one array (`= ANY`), and a sent notice is recorded in one statement
with two data-modifying CTEs; SQLite gets IN lists and executemany. The book and its
expectations are test_dunning_batch's; the jobs run in-process, the email goes over SMTP to
the test server.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from portal import create_app
from portal.documents.storage import document_path
from portal.extensions import db
from portal.jobs import delivery as delivery_jobs
from portal.jobs import dunning as jobs
from portal.models import AuditEvent, Case, CaseStatus, Channel, DeliveryStatus, Document, Notice
from tests import factories
from tests.test_dunning_batch import STEP_DAYS, _build_book, _position, _row_counts

pytest_plugins = ["tests.databases"]

DAY = STEP_DAYS[0]
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
TAKEN = ("p1", "p2", "p3", "b1", "q1", "r1", "h1", "n1")  # see test_dunning_batch


@pytest.fixture
def mail_app(backend_url: str, smtp_server, tmp_path: Path, flask_db) -> Flask:
    """The app on a migrated database of the backend, sending to the test SMTP server."""
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": backend_url, "REDIS_URL": None,
        "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_server.port, "MAIL_SUPPRESS_SEND": False,
        "DOCUMENTS_PATH": str(tmp_path / "documents"),
    })
    with app.app_context():
        flask_db(app, "upgrade")
        yield app
        db.session.remove()
        db.engine.dispose()


def _run_the_day(monkeypatch) -> list[tuple[str, list[int]]]:
    """The morning batch and its chunks, in-process; the delivery jobs they enqueued."""
    enqueued: list[tuple[str, str, tuple]] = []
    monkeypatch.setattr("portal.queue._enqueue_all", lambda pending: enqueued.extend(
        (queue, name, args) for queue, name, args, _kwargs in pending))
    monkeypatch.setattr(jobs, "agency_today", lambda: DAY)
    jobs.morning_batch()
    for _queue, name, args in list(enqueued):
        if name == jobs.RUN_CHUNK:
            jobs.run_chunk(*args)
    return [(queue, args[0]) for queue, name, args in enqueued
            if name == "portal.jobs.delivery.deliver_notices"]


@pytest.mark.parametrize("backend_url", BACKENDS, indirect=True)
def test_a_reminder_day_moves_records_and_delivers_on_each_backend(mail_app, outbox, monkeypatch):
    book = _build_book(factories.Factory())
    # Selected but not due (its first step is the 12th): it takes the rule's date again.
    db.session.get(Case, book.l1).next_step_on = DAY
    db.session.commit()
    before = {name: _position(case_id) for name, case_id in vars(book).items()}
    claims = _row_counts()["ledger"]

    sending = _run_the_day(monkeypatch)

    for name, case_id in vars(book).items():
        if name in TAKEN:
            assert _position(case_id) == (1, DAY, STEP_DAYS[1], CaseStatus.ACTIVE), name
        elif name == "l1":
            assert _position(case_id) == (0, None, DAY.replace(day=12), CaseStatus.NEW)
        else:  # disputed, on hold, paid: as they were
            assert _position(case_id) == before[name], name
    # One notice per debtor and client: P's two cases of client C share one email.
    # A reminder charges nothing: the ledger holds the claims only.
    assert _row_counts() == {"notices": 7, "communications": 8, "ledger": claims, "steps": 8}

    for queue, notice_ids in sending:
        results = delivery_jobs.deliver_notices(notice_ids)
        assert set(results.values()) == {"sent"}, (queue, results)

    db.session.expire_all()
    notices = db.session.scalars(select(Notice).order_by(Notice.id)).all()
    assert {notice.status for notice in notices} == {DeliveryStatus.SENT}
    emails = [notice for notice in notices if notice.channel == Channel.EMAIL]
    assert sorted(m["To"] for m in outbox) == sorted(n.to_address for n in emails)
    assert len(emails) == 6 and len(outbox) == 6
    for notice in notices:
        document = db.session.get(Document, notice.document_id)
        data = document_path(document).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (document.sha256, document.size)
        assert document.case_id == notice.communications[0].case_id
        if notice.channel == Channel.EMAIL:
            assert notice.subject and data.startswith(b"Content-Type: multipart/alternative")
        else:
            assert notice.subject is None and data.startswith(b"%PDF")
    sent_events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("notice.%"))).all()
    assert Counter((e.case_id, e.detail["notice_id"], e.action) for e in sent_events) == Counter(
        (comm.case_id, notice.id, f"notice.{notice.channel}")
        for notice in notices for comm in notice.communications
    )
    assert all(e.client_id == db.session.get(Case, e.case_id).client_id for e in sent_events)
