"""Who may open what, and signing in: the form, `next`, logout, throttling, reset, CSRF.

The sign-in tests go through the real form (with its CSRF token); the access matrix signs
in through the session, as the other tests do.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from itsdangerous import TimestampSigner

from portal import create_app
from portal.documents.storage import save_document
from portal.extensions import db
from portal.models import (
    BankStatement,
    BatchRun,
    Beneficiary,
    CallTask,
    Channel,
    Communication,
    DeliveryStatus,
    Dispute,
    DisputeOutcome,
    DisputeReason,
    DisputeStatus,
    Document,
    DocumentKind,
    ImportBatch,
    Notice,
    Remittance,
    RemittanceRun,
    RemittanceStatus,
    Role,
    StatementFormat,
    StatusReport,
    StepAction,
    TaskReason,
    TaskStatus,
    utcnow,
)
from portal.services import payments
from portal.services.workflows import ensure_default_workflow
from tests.conftest import FreshContextClient
from tests.factories import PASSWORD
from tests.pages import csrf_token, flashes

ROLES = {"admin": Role.ADMIN, "supervisor": Role.SUPERVISOR, "caller": Role.CALLER,
         "client": Role.CLIENT}


def sign_in(test_client, email: str, password: str, next_url: str | None = None):
    """Fill in and send the sign-in form, as a browser would."""
    token = csrf_token(test_client.get("/login").text)
    url = "/login" if next_url is None else "/login?" + urlencode({"next": next_url})
    return test_client.post(url, data={"email": email, "password": password,
                                       "csrf_token": token})


def session_keys(test_client) -> set[str]:
    with test_client.session_transaction() as session:
        return set(session)


_mail_jobs = []  # the current test's queued_jobs, for ask_for_reset


@pytest.fixture(autouse=True)
def mail_jobs(queued_jobs):
    """The reset email goes out from a job on the mail queue: `ask_for_reset` works it."""
    _mail_jobs[:] = [queued_jobs]
    yield queued_jobs
    _mail_jobs.clear()


@pytest.fixture(autouse=True)
def english(client):
    """Read messages in English: the source language, so no catalogue can change them."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


# -- the access matrix --------------------------------------------------------------------

LOGIN, PAY = "login", "pay"  # a redirect to the staff sign-in, or to the debtor's
VISITORS = ("admin", "supervisor", "caller", "client", "debtor", "anonymous")
PAGES = {
    # page                             admin supervisor caller client debtor anonymous
    "/agency/":                        (200, 200, 200, 403, LOGIN, LOGIN),
    "/agency/cases":                   (200, 200, 200, 403, LOGIN, LOGIN),
    "/agency/cases/{case}":            (200, 200, 200, 403, LOGIN, LOGIN),
    "/agency/settings/interest-rates": (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/batches/":                (200, 200, 403, 403, LOGIN, LOGIN),
    "/agency/batches/runs":            (302, 302, 403, 403, LOGIN, LOGIN),  # htmx only
    "/agency/batches/{run}":           (200, 200, 403, 403, LOGIN, LOGIN),
    "/agency/documents/{document}":    (200, 200, 200, 403, LOGIN, LOGIN),
    "/agency/workflows/":              (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/workflows/{workflow}":    (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/workflows/templates/{key}/{channel}/{language}":
                                       (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/workflows/templates/{key}/{channel}/{language}/rendered":
                                       (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/outbox/":                 (404, 404, 404, 403, LOGIN, LOGIN),  # tests: no outbox
    "/agency/outbox/{name}":           (404, 404, 404, 403, LOGIN, LOGIN),
    "/client/":                        (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/cases":                   (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/cases/{case}":            (403, 403, 403, 200, LOGIN, LOGIN),
    "/pay/cases":                      (PAY, PAY, PAY, PAY, 200, PAY),
    "/pay/cases/{case}":               (PAY, PAY, PAY, PAY, 200, PAY),
    "/pay/cases/{case}/letters/{notice}": (PAY, PAY, PAY, PAY, 200, PAY),
    "/pay/cases/{case}/arrangement":   (PAY, PAY, PAY, PAY, 200, PAY),
    "/pay/cases/{case}/dispute":       (PAY, PAY, PAY, PAY, 200, PAY),
    "/pay/cases/{case}/evidence/{document}": (PAY, PAY, PAY, PAY, 200, PAY),
    "/pay/payments/{payment}":         (PAY, PAY, PAY, PAY, 200, PAY),
    "/pay/payments/{payment}/status":  (PAY, PAY, PAY, PAY, 302, PAY),  # htmx only
    # The provider's own page: whoever holds the (unguessable) reference, like Mollie's.
    "/payments/sandbox/{ref}":         (200, 200, 200, 200, 200, 200),
    "/agency/disputes":                (200, 200, 200, 403, LOGIN, LOGIN),
    "/agency/messages":                (200, 200, 200, 403, LOGIN, LOGIN),
    "/agency/arrangements/":           (200, 200, 403, 403, LOGIN, LOGIN),
    "/agency/clients/{client}/policy": (200, 403, 403, 403, LOGIN, LOGIN),
    "/client/arrangements":            (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/cases/{case}/evidence/{document}": (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/cases/{case}/invoices/{invoice}/pdf": (403, 403, 403, 200, LOGIN, LOGIN),
    "/agency/cases/{case}/invoices/{invoice}/pdf": (200, 200, 200, 403, LOGIN, LOGIN),
    "/pay/cases/{case}/invoices/{invoice}/pdf": (PAY, PAY, PAY, PAY, 200, PAY),
    "/agency/settings/":               (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/settings/call-reasons":   (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/settings/call-scripts":   (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/settings/calls":          (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/queue/":                  (200, 200, 200, 403, LOGIN, LOGIN),
    "/agency/queue/board/":            (200, 200, 403, 403, LOGIN, LOGIN),
    # The caller who claimed the task works it; supervisors and admins may look on.
    "/agency/queue/tasks/{task}":      (200, 200, 200, 403, LOGIN, LOGIN),
    "/agency/queue/tasks/{task}/fields": (200, 200, 200, 403, LOGIN, LOGIN),
    "/agency/clients/{client}/reports": (200, 403, 403, 403, LOGIN, LOGIN),
    "/client/cases.csv":               (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/imports":                 (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/imports/{batch}":         (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/imports/{batch}/progress": (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/claims/new":              (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/reports":                 (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/reports/{report}/pdf":    (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/reports/{report}/csv":    (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/api":                     (403, 403, 403, 200, LOGIN, LOGIN),
    # The JSON API answers to a client's bearer token only, never to a browser session.
    "/api/v1/openapi.json":            (200, 200, 200, 200, 200, 200),
    "/api/v1/cases/{reference}":       (401, 401, 401, 401, 401, 401),
    "/api/v1/payments":                (401, 401, 401, 401, 401, 401),
    "/agency/bank/":                   (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/bank/unmatched":          (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/bank/statements/{statement}": (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/clients/":                (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/clients/new":             (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/clients/{client}":        (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/remittances/":            (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/remittances/trust":       (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/remittances/{remittance_run}": (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/remittances/{remittance_run}/pain001.xml": (200, 403, 403, 403, LOGIN, LOGIN),
    "/agency/remittances/statements/{remittance}.pdf": (200, 403, 403, 403, LOGIN, LOGIN),
    "/client/remittances":             (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/remittances/{remittance}": (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/remittances/{remittance}/pdf": (403, 403, 403, 200, LOGIN, LOGIN),
    "/client/remittances/{remittance}/csv": (403, 403, 403, 200, LOGIN, LOGIN),
}
MATRIX = [
    (visitor, path, outcome)
    for path, outcomes in PAGES.items()
    for visitor, outcome in zip(VISITORS, outcomes, strict=True)
]
# Pages anyone may open: sign-in, password reset, the debtor's ways in, static files.
PUBLIC_ENDPOINTS = {"static", "auth.index", "auth.login", "auth.forgot_password",
                    "auth.reset_password", "debtor.sign_in", "debtor.link"}


def test_every_page_is_in_the_matrix(app):
    """A new page must say who may open it: add it to the matrix or to the public list."""
    names = {"case_id": "{case}", "run_id": "{run}", "document_id": "{document}",
             "name": "{name}", "workflow_id": "{workflow}", "key": "{key}",
             "channel": "{channel}", "language": "{language}", "notice_id": "{notice}",
             "payment_id": "{payment}", "ref": "{ref}", "client_id": "{client}",
             "task_id": "{task}", "batch_id": "{batch}", "report_id": "{report}",
             "reference": "{reference}", "statement_id": "{statement}",
             "remittance_run_id": "{remittance_run}", "remittance_id": "{remittance}",
             "invoice_id": "{invoice}"}
    guarded = {
        re.sub(r"<(?:\w+:)?(\w+)>", lambda m: names[m.group(1)], rule.rule)
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint not in PUBLIC_ENDPOINTS
    }
    assert guarded == set(PAGES)


def sent_letter(case, document) -> Notice:
    """A letter about `case` that went out, kept as `document`."""
    notice = Notice(key=f"sent:{case.id}", debtor_id=case.debtor_id, client_id=case.client_id,
                    action=StepAction.LETTER, channel=Channel.LETTER, template_key="reminder",
                    language="nl", dated=date(2026, 3, 2), status=DeliveryStatus.SENT,
                    document_id=document.id)
    db.session.add(notice)
    db.session.flush()
    db.session.add(Communication(idempotency_key=f"case:{case.id}:sent", case_id=case.id,
                                 notice_id=notice.id, position=1))
    return notice


def resolved_dispute_evidence(case) -> Document:
    """A photo sent as evidence in a dispute about `case`, since resolved (so that the
    dispute form opens again)."""
    dispute = Dispute(case_id=case.id, reason=DisputeReason.OTHER, description="Not mine",
                      status=DisputeStatus.RESOLVED, outcome=DisputeOutcome.REJECTED,
                      resolution="The invoice stands.")
    db.session.add(dispute)
    db.session.flush()
    document = save_document(DocumentKind.EVIDENCE, "photo.png", "image/png",
                             b"\x89PNG\r\n\x1a\n test", case_id=case.id)
    document.dispute_id = dispute.id
    return document


def approved_remittance(client_id: int, document: Document) -> Remittance:
    """An approved run paying the client (its statement and bank file stand in as `document`)."""
    run = RemittanceRun(period_start=date(2026, 2, 1), period_end=date(2026, 2, 28),
                        execution_date=date(2026, 3, 3), status=RemittanceStatus.APPROVED,
                        sepa_document_id=document.id)
    db.session.add(run)
    db.session.flush()
    remittance = Remittance(run_id=run.id, client_id=client_id, reference=f"RM{run.id}-1",
                            commission_bp=1500, commission_vat_percent=21,
                            interest_to=Beneficiary.CLIENT, costs_to=Beneficiary.AGENCY,
                            statement_document_id=document.id)
    db.session.add(remittance)
    db.session.flush()
    return remittance


@pytest.fixture
def visitor(app, client, make, login):
    """Sign the test client in as a role; the one case every allowed role may see."""

    def _visitor(role: str) -> dict[str, int]:
        case, _ = make.case()
        run = BatchRun(run_on=date(2026, 3, 2), trigger="manual", counts={})
        letter = save_document(DocumentKind.LETTER, "letter.pdf", "application/pdf",
                               b"%PDF-1.4 test", case_id=case.id)
        db.session.add(run)
        notice = sent_letter(case, letter)
        document = resolved_dispute_evidence(case)
        with app.test_request_context():
            payment = payments.start_payment(case, 50_00, today=date(2026, 3, 2))
        workflow = ensure_default_workflow()
        if role in ROLES:
            user = make.user(ROLES[role], client=case.client if role == "client" else None)
        task = CallTask(case_id=case.id, day=date(2026, 3, 2), reason=TaskReason.MANUAL,
                        status=TaskStatus.CLAIMED, claimed_at=utcnow(),
                        claimed_by_id=user.id if role == "caller" else None)
        db.session.add(task)
        upload = save_document(DocumentKind.IMPORT, "claims.csv", "text/csv",
                               b"name;invoice;amount\nJan;F-1;12,50\n", case_id=None)
        batch = ImportBatch(client_id=case.client_id, filename="claims.csv",
                            document_id=upload.id)
        report = StatusReport(client_id=case.client_id, period_start=date(2026, 2, 1),
                              period_end=date(2026, 2, 28), pdf_document_id=letter.id,
                              csv_document_id=save_document(
                                  DocumentKind.REPORT, "open-cases.csv", "text/csv", b"a;b\n",
                                  case_id=None).id)
        statement = BankStatement(filename="statement.xml", format=StatementFormat.CAMT053)
        db.session.add_all([batch, report, statement])
        remittance = approved_remittance(case.client_id, letter)
        db.session.commit()
        if role in ROLES:
            login(user)
        elif role == "debtor":
            with client.session_transaction() as session:
                session["debtor_id"] = case.debtor_id
        return {"case": case.id, "run": run.id, "document": document.id, "name": "x.eml",
                "workflow": workflow.id, "key": "reminder", "channel": "letter", "language": "nl",
                "notice": notice.id, "payment": payment.id, "ref": payment.provider_ref,
                "client": case.client_id, "task": task.id, "batch": batch.id,
                "report": report.id, "reference": case.reference,
                "statement": statement.id, "remittance_run": remittance.run_id,
                "remittance": remittance.id, "invoice": case.invoices[0].id}

    return _visitor


@pytest.mark.parametrize(("role", "path", "outcome"), MATRIX)
def test_access_matrix(client, visitor, role, path, outcome):
    url = path.format(**visitor(role))
    response = client.get(url)
    if outcome == LOGIN:
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login"
        assert parse_qs(location.query)["next"] == [url]
    elif outcome == PAY:
        assert response.status_code == 302
        assert response.headers["Location"] == "/pay/"
    else:
        assert response.status_code == outcome


def test_a_deactivated_user_is_signed_out_on_the_next_request(client, make):
    user = make.user(Role.ADMIN)
    db.session.commit()
    assert sign_in(client, user.email, PASSWORD).status_code == 302
    assert client.get("/agency/").status_code == 200
    user.active = False
    db.session.commit()
    response = client.get("/agency/")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


# -- signing in through the form --------------------------------------------------------

@pytest.mark.parametrize(("role", "home"), [
    ("admin", "/agency/"), ("supervisor", "/agency/"), ("caller", "/agency/"),
    ("client", "/client/"),
])
def test_sign_in_lands_on_the_home_of_the_role(client, make, role, home):
    user = make.user(ROLES[role], client=make.client() if role == "client" else None)
    db.session.commit()
    response = sign_in(client, user.email.upper(), PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == home
    assert client.get(home).status_code == 200


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "inactive user"])
def test_refused_sign_in_says_so_and_starts_no_session(client, make, case):
    user = make.user(Role.ADMIN, active=case != "inactive user")
    db.session.commit()
    email = "nobody@example.test" if case == "unknown email" else user.email
    password = "not the password" if case == "wrong password" else PASSWORD
    response = sign_in(client, email, password)
    assert response.status_code == 422
    assert "That email address and password do not match." in response.text
    assert "_user_id" not in session_keys(client)
    assert client.get("/agency/").status_code == 302


def test_an_incomplete_form_is_sent_back_with_422(client):
    token = csrf_token(client.get("/login").text)
    response = client.post("/login", data={"email": "not-an-email", "password": "",
                                           "csrf_token": token})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text


@pytest.mark.parametrize(("next_url", "lands_on"), [
    ("/agency/cases", "/agency/cases"),
    ("/agency/cases?status=open", "/agency/cases?status=open"),
    ("https://evil.example/agency/", "/agency/"),
    ("//evil.example/agency/", "/agency/"),
    ("/\\evil.example/agency/", "/agency/"),
    ("/\t/evil.example/agency/", "/agency/"),
    ("http:/evil.example", "/agency/"),
    ("javascript:alert(1)", "/agency/"),
    ("agency/cases", "/agency/"),
])
def test_next_is_followed_only_when_it_stays_on_this_site(client, make, next_url, lands_on):
    user = make.user(Role.ADMIN)
    db.session.commit()
    response = sign_in(client, user.email, PASSWORD, next_url=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on


@pytest.mark.parametrize(("next_url", "lands_on"), [
    ("/pay/cases", "/pay/cases"),
    ("https://evil.example/", "/"),
    ("/\\evil.example", "/"),
])
def test_the_language_switch_only_returns_to_this_site(client, next_url, lands_on):
    token = csrf_token(client.get("/login").text)
    response = client.post("/language/en", data={"next": next_url, "csrf_token": token})
    assert response.headers["Location"] == lands_on


def test_signing_in_as_staff_ends_a_debtor_session(client, make):
    case, _ = make.case()
    user = make.user(Role.ADMIN)
    db.session.commit()
    with client.session_transaction() as session:
        session["debtor_id"] = case.debtor_id
    assert client.get("/pay/cases").status_code == 200
    sign_in(client, user.email, PASSWORD)
    assert client.get("/pay/cases").status_code == 302


# -- signing out -----------------------------------------------------------------------

def test_logout_is_post_only_and_clears_the_session(client, make):
    user = make.user(Role.ADMIN)
    db.session.commit()
    sign_in(client, user.email, PASSWORD)
    client.post("/language/en", data={"csrf_token": csrf_token(client.get("/agency/").text)})
    assert client.get("/logout").status_code == 405
    page = client.get("/agency/")
    assert page.status_code == 200, "a GET must not sign out"
    response = client.post("/logout", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert session_keys(client) <= {"_flashes"}
    assert client.get("/agency/").status_code == 302


# -- throttling ------------------------------------------------------------------------

@pytest.fixture
def throttled_client(tmp_path, smtp_server):
    """A test client of an app with rate limits on, as in production (tests turn them off)."""
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'throttled.sqlite3'}",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_server.port,
        "REDIS_URL": None,
        "RATELIMIT_ENABLED": True,
    })
    app.test_client_class = FreshContextClient
    with app.app_context():
        db.create_all()
        test_client = app.test_client()
        test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        yield test_client
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.mark.parametrize(("url", "allowed", "data"), [
    ("/login", 10, {"email": "someone@example.test", "password": "guess"}),
    ("/password/forgot", 10, {"email": "someone@example.test"}),
    ("/pay/", 20, {"reference": "K-2026-000001", "code": "AAAA-BBBB"}),
])
def test_sign_in_forms_are_throttled(throttled_client, url, allowed, data):
    token = csrf_token(throttled_client.get(url).text)
    answers = [throttled_client.post(url, data={**data, "csrf_token": token}).status_code
               for _ in range(allowed)]
    assert 429 not in answers
    refused = throttled_client.post(url, data={**data, "csrf_token": token})
    assert refused.status_code == 429
    assert "Too many attempts" in refused.text
    assert "Retry-After" in refused.headers
    assert throttled_client.get(url).status_code == 200, "reading the form is not throttled"


def test_one_account_is_throttled_across_addresses(throttled_client):
    """Twenty guesses an hour at one account, however many addresses they come from."""
    token = csrf_token(throttled_client.get("/login").text)
    data = {"email": "Target@Example.test", "password": "guess", "csrf_token": token}

    def attempt(n: int, email: str = data["email"]) -> int:
        address = {"REMOTE_ADDR": f"10.0.{n // 200}.{n % 200 + 1}"}
        return throttled_client.post("/login", data={**data, "email": email},
                                     environ_base=address).status_code

    assert [attempt(n) for n in range(20)] == [422] * 20
    assert attempt(20, "target@example.test ") == 429  # the same account, however written
    assert attempt(21, "someone.else@example.test") == 422


# -- password reset --------------------------------------------------------------------


def ask_for_reset(test_client, email: str):
    """Ask for a reset link, then work the mail queue as the worker would."""
    token = csrf_token(test_client.get("/password/forgot").text)
    response = test_client.post("/password/forgot", data={"email": email, "csrf_token": token})
    _mail_jobs[0].run()
    return response


def reset_path(message) -> str:
    """The path of the reset link in an email received by the test SMTP server."""
    body = message.get_payload(decode=True).decode()
    match = re.search(r"https?://[^/\s]+(/password/reset/\S+)", body)
    assert match, body
    return match.group(1)


def choose_password(test_client, path: str, password: str, confirm: str | None = None):
    token = csrf_token(test_client.get(path).text)
    return test_client.post(path, data={"password": password, "confirm": confirm or password,
                                         "csrf_token": token})


def test_password_reset_by_emailed_link(client, make, outbox):
    user = make.user(Role.SUPERVISOR)
    db.session.commit()
    assert ask_for_reset(client, user.email).headers["Location"] == "/login"
    [message] = outbox
    assert message["To"] == user.email
    path = reset_path(message)
    response = choose_password(client, path, "a brand new secret")
    assert response.headers["Location"] == "/login"
    assert sign_in(client, user.email, PASSWORD).status_code == 422
    assert sign_in(client, user.email, "a brand new secret").status_code == 302


def test_a_new_password_signs_out_the_other_sessions(app, client, make, login, outbox):
    """Someone who reset a stolen password must not leave the thief signed in elsewhere."""
    user = make.user(Role.ADMIN)
    db.session.commit()
    elsewhere = app.test_client()
    login(user, elsewhere)
    assert elsewhere.get("/agency/").status_code == 200
    ask_for_reset(client, user.email)
    choose_password(client, reset_path(outbox[0]), "a brand new secret")
    assert elsewhere.get("/agency/").headers["Location"].startswith("/login")


@pytest.mark.parametrize("server_name", ["portal.test", None])
def test_the_reset_link_ignores_the_host_header(app, client, make, outbox, server_name):
    """Reset poisoning: a request sent with Host: evil.example must not mail a link there."""
    app.config["SERVER_NAME"] = server_name  # production sets none
    user = make.user(Role.ADMIN)
    db.session.commit()
    evil = {"Host": "evil.example"}
    token = csrf_token(client.get("/password/forgot", headers=evil).text)
    client.post("/password/forgot", data={"email": user.email, "csrf_token": token},
                headers=evil)
    _mail_jobs[0].run()
    body = outbox[0].get_payload(decode=True).decode()
    assert "evil.example" not in body
    assert app.config["PUBLIC_URL"].rstrip("/") + reset_path(outbox[0]) in body


def test_a_reset_link_works_once(client, make, outbox):
    user = make.user(Role.ADMIN)
    db.session.commit()
    ask_for_reset(client, user.email)
    path = reset_path(outbox[0])
    token = csrf_token(client.get(path).text)
    choose_password(client, path, "a brand new secret")
    assert client.get(path).headers["Location"] == "/password/forgot"
    assert "expired or was already used" in " ".join(flashes(client.get("/login").text))
    second = client.post(path, data={"password": "yet another secret",
                                     "confirm": "yet another secret", "csrf_token": token})
    assert second.headers["Location"] == "/password/forgot"
    assert sign_in(client, user.email, "a brand new secret").status_code == 302


@pytest.mark.parametrize(("age", "works"), [(3500, True), (3700, False)])
def test_a_reset_link_expires_after_an_hour(client, make, outbox, monkeypatch, age, works):
    user = make.user(Role.ADMIN)
    db.session.commit()
    real_timestamp = TimestampSigner.get_timestamp
    with monkeypatch.context() as patch:
        # The link is signed `age` seconds ago; it is checked against the real clock.
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: real_timestamp(self) - age)
        ask_for_reset(client, user.email)
    response = client.get(reset_path(outbox[0]))
    assert response.status_code == (200 if works else 302)


def test_mismatched_new_passwords_are_sent_back(client, make, outbox):
    user = make.user(Role.ADMIN)
    db.session.commit()
    ask_for_reset(client, user.email)
    response = choose_password(client, reset_path(outbox[0]), "a brand new secret", "another")
    assert response.status_code == 422
    assert sign_in(client, user.email, PASSWORD).status_code == 302


@pytest.mark.parametrize(("who", "mails"), [("known", 1), ("unknown", 0), ("inactive", 0)])
def test_reset_answers_the_same_for_any_address(client, make, outbox, who, mails):
    user = make.user(Role.CALLER, active=who != "inactive")
    db.session.commit()
    email = "nobody@example.test" if who == "unknown" else user.email
    response = ask_for_reset(client, email)
    assert response.headers["Location"] == "/login"
    assert flashes(client.get("/login").text) == [
        "If that address has an account, we have emailed a link to reset the password. "
        "It works for one hour."
    ]
    assert len(outbox) == mails


def test_the_request_sends_nothing_itself_the_mail_queue_does(client, make, outbox,
                                                             mail_jobs):
    user = make.user(Role.ADMIN)
    db.session.commit()
    token = csrf_token(client.get("/password/forgot").text)
    client.post("/password/forgot", data={"email": user.email, "csrf_token": token})
    assert outbox == []
    assert mail_jobs.names == [("mail", "send_password_reset")]


@pytest.mark.parametrize(("language", "subject"), [("en", "Reset your password"),
                                                   ("nl", "Uw wachtwoord opnieuw instellen")])
def test_the_reset_email_is_in_the_users_language(client, make, outbox, language, subject):
    user = make.user(Role.ADMIN, language=language)
    db.session.commit()
    ask_for_reset(client, user.email)
    [message] = outbox
    assert message["Subject"] == subject


def test_a_user_deactivated_before_the_job_runs_gets_no_email(client, make, outbox, mail_jobs):
    user = make.user(Role.ADMIN)
    db.session.commit()
    token = csrf_token(client.get("/password/forgot").text)
    client.post("/password/forgot", data={"email": user.email, "csrf_token": token})
    user.active = False
    db.session.commit()
    assert mail_jobs.run() == [False]
    assert outbox == []


# -- CSRF ------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "data"), [
    ("/login", {"email": "someone@example.test", "password": PASSWORD}),
    ("/logout", {}),
    ("/pay/", {"reference": "K-2026-000001", "code": "AAAA-BBBB"}),
    ("/language/en", {"next": "/login"}),
])
@pytest.mark.parametrize("token", ["missing", "forged"])
def test_a_post_without_a_valid_token_is_refused(client, make, url, data, token):
    user = make.user(Role.ADMIN)
    db.session.commit()
    sign_in(client, user.email, PASSWORD)
    if token == "forged":
        data = {**data, "csrf_token": "IjAwMDAi.forged.token"}
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "This form had expired or was sent from elsewhere" in response.text
    assert client.get("/agency/").status_code == 200, "the refused POST changed nothing"
    assert "lang" not in session_keys(client)


def htmx_token(html: str) -> str:
    """The token the page hands to htmx in `hx-headers`."""
    match = re.search(r'"X-CSRFToken": "([^"]+)"', html)
    assert match, "the page gives htmx no CSRF token"
    return match.group(1)


def test_an_htmx_post_may_carry_the_token_in_a_header(client, make):
    user = make.user(Role.ADMIN)
    db.session.commit()
    headers = {"HX-Request": "true", "X-CSRFToken": htmx_token(client.get("/login").text)}
    response = client.post("/login", data={"email": user.email, "password": PASSWORD},
                           headers=headers)
    assert response.headers["Location"] == "/agency/"
    headers["X-CSRFToken"] = htmx_token(client.get("/agency/").text)
    assert client.post("/language/nl", headers=headers).status_code == 302
    with client.session_transaction() as session:
        assert session["lang"] == "nl"
