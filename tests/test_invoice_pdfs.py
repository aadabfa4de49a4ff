"""Invoice PDFs in the pages and the API: the client hands over its own PDF of an invoice
(page or API), every audience downloads the PDF the debtor gets, each only for its own cases."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select

from portal.documents.pdf import html_to_pdf
from portal.documents.storage import read_document
from portal.extensions import db
from portal.models import (
    AuditEvent,
    CaseStatus,
    Client,
    Document,
    DocumentKind,
    Invoice,
    Role,
)
from portal.services import api_tokens
from portal.services.notices import PREVIEW_CODE
from tests.pages import csrf_token, flashes
from tests.test_notices import pdf_text

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def own_pdf() -> bytes:
    return html_to_pdf("<p>Our own invoice</p>")


@pytest.fixture
def setup(make, login, client):
    """A client user (English) with an open case of two invoices; another client's case."""
    mine = make.client("Mine B.V.")
    user = make.user(Role.CLIENT, client=mine, language="en")
    case, code = make.case(mine, amounts=(100_00, 50_00))
    other, _ = make.case(make.client("Other B.V."))
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(user)
    return {"case_id": case.id, "invoice_ids": [i.id for i in case.invoices], "code": code,
            "reference": case.reference, "client_id": mine.id, "debtor_id": case.debtor_id,
            "other_id": other.id, "other_invoice_id": other.invoices[0].id}


def pdf_url(audience: str, case_id: int, invoice_id: int) -> str:
    return f"/{audience}/cases/{case_id}/invoices/{invoice_id}/pdf"


def upload(client, case_id: int, invoice_id: int, data: bytes, filename: str = "own.pdf", *,
           audience: str = "client", with_csrf: bool = True):
    form = {"pdf": (io.BytesIO(data), filename)}
    if with_csrf:
        page = client.get(f"/{audience}/cases/{case_id}").get_data(as_text=True)
        form["csrf_token"] = csrf_token(page)
    return client.post(pdf_url(audience, case_id, invoice_id), data=form,
                       content_type="multipart/form-data")


def invoice(invoice_id: int) -> Invoice:
    db.session.expire_all()
    return db.session.get(Invoice, invoice_id)


def pdf_events() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.summary)
                                   .where(AuditEvent.action == "invoice.pdf")
                                   .order_by(AuditEvent.id)))


def invoice_documents() -> int:
    return db.session.scalar(select(func.count(Document.id))
                             .where(Document.kind == DocumentKind.INVOICE))


def assert_pdf_download(response) -> None:
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline; filename=\"invoice-")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.data.startswith(b"%PDF")


# -- the client's case page ------------------------------------------------------------------

def test_an_uploaded_pdf_is_kept_audited_and_downloaded(client, setup, own_pdf):
    first = setup["invoice_ids"][0]
    response = upload(client, setup["case_id"], first, own_pdf, "Factuur 1.pdf")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/client/cases/{setup['case_id']}"
    record = invoice(first)
    document = db.session.get(Document, record.document_id)
    assert document.kind == DocumentKind.INVOICE and document.case_id == setup["case_id"]
    assert document.sha256 == hashlib.sha256(own_pdf).hexdigest()
    assert read_document(document) == own_pdf
    assert pdf_events() == [f"Invoice {record.number}: PDF added"]

    page = client.get(f"/client/cases/{setup['case_id']}").get_data(as_text=True)
    assert f"Your PDF of invoice {record.number} is saved" in " ".join(flashes(page))
    assert "your own" in page and "Replace your PDF" in page
    download = client.get(pdf_url("client", setup["case_id"], first))
    assert_pdf_download(download)
    assert download.data == own_pdf
    assert f'filename="invoice-{record.number}.pdf"' in download.headers["Content-Disposition"]


def test_a_new_pdf_replaces_the_old_one(client, setup, own_pdf):
    first = setup["invoice_ids"][0]
    upload(client, setup["case_id"], first, own_pdf)
    old_document = invoice(first).document_id
    newer = html_to_pdf("<p>Corrected invoice</p>")
    assert upload(client, setup["case_id"], first, newer, "corrected.pdf").status_code == 302
    assert invoice(first).document_id != old_document
    assert client.get(pdf_url("client", setup["case_id"], first)).data == newer
    number = invoice(first).number
    assert pdf_events() == [f"Invoice {number}: PDF added", f"Invoice {number}: PDF replaced"]


@pytest.mark.parametrize(("data", "filename", "max_bytes", "message"), [
    (b"", "empty.pdf", None, "The file is empty."),
    (PNG, "photo.pdf", None, "The file is not a PDF."),
    (b"Dear customer, you owe us.", "letter.pdf", None, "The file is not a PDF."),
    (b"%PDF-1.4 garbage", "damaged.pdf", None, "The file is not a PDF."),
    ("own", "big.pdf", 1024, "The file is larger than"),
], ids=["empty", "png", "text", "damaged", "too-large"])
def test_a_rejected_file_is_shown_and_nothing_is_saved(client, app, setup, own_pdf, data,
                                                       filename, max_bytes, message):
    if max_bytes:
        app.config["INVOICE_PDF_MAX_BYTES"] = max_bytes
    data = own_pdf if data == "own" else data
    first = setup["invoice_ids"][0]
    response = upload(client, setup["case_id"], first, data, filename)
    assert response.status_code == 422
    assert message in " ".join(flashes(response.get_data(as_text=True)))
    assert invoice(first).document_id is None
    assert invoice_documents() == 0 and pdf_events() == []


def test_a_form_without_a_file_is_refused_as_empty(client, setup):
    page = client.get(f"/client/cases/{setup['case_id']}").get_data(as_text=True)
    response = client.post(pdf_url("client", setup["case_id"], setup["invoice_ids"][0]),
                           data={"csrf_token": csrf_token(page)})
    assert response.status_code == 422
    assert "The file is empty." in " ".join(flashes(response.get_data(as_text=True)))


def test_an_upload_without_its_csrf_token_is_refused(client, setup, own_pdf):
    first = setup["invoice_ids"][0]
    response = upload(client, setup["case_id"], first, own_pdf, with_csrf=False)
    assert response.status_code == 400
    assert invoice(first).document_id is None and invoice_documents() == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_clients_case_or_invoice_is_404(client, setup, own_pdf, method):
    own_case, own_invoice = setup["case_id"], setup["invoice_ids"][0]
    for case_id, invoice_id in [(setup["other_id"], setup["other_invoice_id"]),
                                (setup["other_id"], own_invoice),
                                (own_case, setup["other_invoice_id"]),
                                (own_case, 999_999)]:
        if method == "get":
            response = client.get(pdf_url("client", case_id, invoice_id))
        else:
            token = csrf_token(client.get(f"/client/cases/{own_case}").get_data(as_text=True))
            response = client.post(pdf_url("client", case_id, invoice_id), data={
                "csrf_token": token, "pdf": (io.BytesIO(own_pdf), "own.pdf")},
                content_type="multipart/form-data")
        assert response.status_code == 404, (case_id, invoice_id)
    assert invoice_documents() == 0


def test_without_an_upload_the_client_gets_the_made_pdf_without_the_access_code(client,
                                                                                setup):
    page = client.get(f"/client/cases/{setup['case_id']}").get_data(as_text=True)
    assert "made from the claim data" in page and "Add your own PDF" in page
    response = client.get(pdf_url("client", setup["case_id"], setup["invoice_ids"][1]))
    assert_pdf_download(response)
    text = pdf_text(response.data)
    assert invoice(setup["invoice_ids"][1]).number in text
    assert setup["code"] not in text and PREVIEW_CODE in text


def test_a_closed_case_offers_no_upload_and_refuses_one(client, setup, own_pdf):
    case = invoice(setup["invoice_ids"][0]).case
    case.status = CaseStatus.WITHDRAWN
    db.session.commit()
    page = client.get(f"/client/cases/{setup['case_id']}").get_data(as_text=True)
    assert "Add your own PDF" not in page and "made from the claim data" in page
    response = upload(client, setup["case_id"], setup["invoice_ids"][0], own_pdf)
    assert response.status_code == 422
    assert "This case is closed" in " ".join(flashes(response.get_data(as_text=True)))
    assert invoice_documents() == 0


# -- the agency's case page ------------------------------------------------------------------

def staff(make, login, role: Role) -> None:
    login(make.user(role, language="en"))
    db.session.commit()


def test_staff_download_the_pdf_as_sent_with_the_access_code(client, make, login, setup):
    staff(make, login, Role.CALLER)
    response = client.get(pdf_url("agency", setup["case_id"], setup["invoice_ids"][0]))
    assert_pdf_download(response)
    assert setup["code"] in pdf_text(response.data)
    page = client.get(f"/agency/cases/{setup['case_id']}").get_data(as_text=True)
    assert "made from the claim data" in page
    assert "Add the client's PDF" not in page  # callers do not hand over PDFs
    assert upload(client, setup["case_id"], setup["invoice_ids"][0], b"%PDF",
                  audience="agency").status_code == 403


def test_an_admin_hands_over_the_clients_pdf(client, make, login, setup, own_pdf):
    staff(make, login, Role.ADMIN)
    first = setup["invoice_ids"][0]
    page = client.get(f"/agency/cases/{setup['case_id']}").get_data(as_text=True)
    assert "Add the client's PDF" in page
    response = upload(client, setup["case_id"], first, own_pdf, audience="agency")
    assert response.status_code == 302
    assert client.get(pdf_url("agency", setup["case_id"], first)).data == own_pdf
    refused = upload(client, setup["case_id"], first, b"%PDF-1.4 garbage", audience="agency")
    assert refused.status_code == 422
    assert "The file is not a PDF." in " ".join(flashes(refused.get_data(as_text=True)))
    assert invoice_documents() == 1
    assert client.get(pdf_url("agency", setup["case_id"], setup["other_invoice_id"])
                      ).status_code == 404


# -- the debtor's case page ------------------------------------------------------------------

def as_debtor(client, debtor_id: int) -> None:
    with client.session_transaction() as session:
        session.clear()
        session["debtor_id"] = debtor_id


def test_the_debtor_sees_their_invoices_as_pdfs(client, setup, own_pdf):
    upload(client, setup["case_id"], setup["invoice_ids"][0], own_pdf)
    as_debtor(client, setup["debtor_id"])
    page = client.get(f"/pay/cases/{setup['case_id']}").get_data(as_text=True)
    for invoice_id in setup["invoice_ids"]:
        assert pdf_url("pay", setup["case_id"], invoice_id) in page
    assert client.get(pdf_url("pay", setup["case_id"], setup["invoice_ids"][0])).data == own_pdf
    made = client.get(pdf_url("pay", setup["case_id"], setup["invoice_ids"][1]))
    assert_pdf_download(made)
    assert invoice(setup["invoice_ids"][1]).number in pdf_text(made.data)


def test_a_debtor_cannot_reach_another_cases_invoice(client, setup):
    as_debtor(client, setup["debtor_id"])
    assert client.get(pdf_url("pay", setup["other_id"], setup["other_invoice_id"])
                      ).status_code == 404
    assert client.get(pdf_url("pay", setup["case_id"], setup["other_invoice_id"])
                      ).status_code == 404


# -- the API ---------------------------------------------------------------------------------

@pytest.fixture
def api(setup):
    """A token of the setup's client; returns its headers for a PDF body."""
    _token, plain = api_tokens.issue(db.session.get(Client, setup["client_id"]), "ERP", None)
    db.session.commit()
    return {"Authorization": f"Bearer {plain}", "Content-Type": "application/pdf"}


def api_url(reference: str, number: str) -> str:
    return f"/api/v1/cases/{reference}/invoices/{number}/pdf"


def test_api_put_keeps_the_pdf_then_replaces_it(client, setup, api, own_pdf):
    first = invoice(setup["invoice_ids"][0])
    url = api_url(setup["reference"], first.number)
    response = client.put(url, data=own_pdf, headers=api)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["sha256"] == hashlib.sha256(own_pdf).hexdigest()
    assert body["replaced"] is False and body["invoice"] == first.number
    assert invoice(first.id).document_id == body["document_id"]
    document = db.session.get(Document, body["document_id"])
    assert document.kind == DocumentKind.INVOICE and read_document(document) == own_pdf
    again = client.put(url, data=own_pdf, headers=api)
    assert again.status_code == 200 and again.json["replaced"] is True
    case = client.get(f"/api/v1/cases/{setup['reference']}", headers=api).json
    assert [i["has_pdf"] for i in case["invoices"]] == [True, False]
    assert len(pdf_events()) == 2


def test_api_put_takes_an_invoice_number_with_a_slash(client, setup, api, own_pdf):
    first = invoice(setup["invoice_ids"][0])
    first.number = "2026/0042"
    db.session.commit()
    response = client.put(api_url(setup["reference"], "2026%2F0042"), data=own_pdf,
                          headers=api)
    assert response.status_code == 201, response.json


@pytest.mark.parametrize("data", [b"", PNG, b"%PDF-1.4 garbage"], ids=["empty", "png", "damaged"])
def test_api_put_of_a_bad_file_is_422(client, setup, api, data):
    number = invoice(setup["invoice_ids"][0]).number
    response = client.put(api_url(setup["reference"], number), data=data, headers=api)
    assert response.status_code == 422
    assert response.json["error"] == "pdf_rejected" and response.json["message"]
    assert invoice_documents() == 0


def test_api_put_needs_a_pdf_content_type(client, setup, api, own_pdf):
    number = invoice(setup["invoice_ids"][0]).number
    headers = {**api, "Content-Type": "application/octet-stream"}
    response = client.put(api_url(setup["reference"], number), data=own_pdf, headers=headers)
    assert response.status_code == 415 and invoice_documents() == 0


def test_api_put_for_another_clients_case_or_an_unknown_number_is_404(client, setup, api,
                                                                      own_pdf):
    other = invoice(setup["other_invoice_id"])
    for reference, number in [(other.case.reference, other.number),
                              (setup["reference"], other.number),
                              (setup["reference"], "NO-SUCH-INVOICE")]:
        response = client.put(api_url(reference, number), data=own_pdf, headers=api)
        assert response.status_code == 404 and response.json["error"] == "not_found"
    assert invoice_documents() == 0


def test_api_put_without_a_token_is_401(client, setup, own_pdf):
    number = invoice(setup["invoice_ids"][0]).number
    response = client.put(api_url(setup["reference"], number), data=own_pdf,
                          headers={"Content-Type": "application/pdf"})
    assert response.status_code == 401 and invoice_documents() == 0
