"""Handing over claims: upload, preview with problems, all-or-nothing import, re-import, the
job for large files, the remembered mapping, and the single claim form."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Case, Debtor, Invoice, LedgerEntry, Role
from portal.models.client_portal import ImportBatch, ImportStatus
from tests.pages import csrf_token

HEADER = ("Naam;Soort;E-mail;Telefoon;Land;Factuurnummer;Factuurdatum;Vervaldatum;Bedrag;"
          "Omschrijving")
GOOD_ROWS = [
    "Jan Jansen;particulier;jan@example.com;06 12345678;NL;F-1;01-01-2026;31-01-2026;"
    "1.234,56;Fiets",
    "Jan Jansen;particulier;jan@example.com;06 12345678;NL;F-2;2026-01-05;2026-01-20;10,00;",
    "Bakkerij B.V.;bedrijf;info@bakkerij.example.com;;NL;F-3;01/02/2026;01/03/2026;€ 99;",
]


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8-sig")


def _counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m))  # type: ignore[return-value]
                 for m in (Case, Invoice, Debtor))


@pytest.fixture
def client_user(app, make, login, client):
    user = make.user(Role.CLIENT, client=make.client(), language="en")
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(user)
    return user


def _upload(client, data: bytes, filename: str = "claims.csv"):
    page = client.get("/client/imports")
    return client.post("/client/imports", data={
        "csrf_token": csrf_token(page.text), "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data")


def _confirm(client, batch_id: int):
    page = client.get(f"/client/imports/{batch_id}")
    return client.post(f"/client/imports/{batch_id}", data={
        "csrf_token": csrf_token(page.text), "action": "confirm"})


def _last_batch() -> ImportBatch:
    db.session.expire_all()
    return db.session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()


def test_a_good_file_is_previewed_then_imported(client, client_user):
    response = _upload(client, _csv(*GOOD_ROWS))
    assert response.status_code == 302
    batch = _last_batch()
    assert (batch.status, batch.rows_total, batch.problems) == (ImportStatus.PREVIEWED, 3, [])
    page = client.get(f"/client/imports/{batch.id}")
    assert "Ready to import" in page.text and "Jan Jansen" in page.text
    assert _counts() == (0, 0, 0)  # a preview saves nothing

    assert _confirm(client, batch.id).status_code == 302
    assert _counts() == (2, 3, 2)  # Jan's two invoices make one case
    batch = _last_batch()
    assert (batch.status, batch.cases_created) == (ImportStatus.DONE, 2)
    jan = db.session.scalar(select(Debtor).where(Debtor.name == "Jan Jansen"))
    assert jan.phone == "+31612345678" and jan.kind == "person"
    case = db.session.scalar(select(Case).where(Case.debtor_id == jan.id))
    assert sorted(i.number for i in case.invoices) == ["F-1", "F-2"]
    assert case.client_id == client_user.client_id and case.workflow_id is not None
    # first step counts from the oldest due date (F-2: 2026-01-20), +7 days friendly reminder
    assert str(case.next_step_on) == "2026-01-27"
    claims = db.session.scalar(select(func.sum(LedgerEntry.amount_cents))
                               .where(LedgerEntry.case_id == case.id))
    assert claims == 123456 + 1000
    assert "2 cases opened" in client.get(f"/client/imports/{batch.id}").text


BAD_ROWS = [
    ("no name", ";particulier;a@example.com;;NL;B-1;01-01-2026;31-01-2026;10;", "debtor_name",
     "This is empty but needed."),
    ("bad email", "A;particulier;a@;;NL;B-1;01-01-2026;31-01-2026;10;", "email",
     "This is not an email address."),
    ("bad phone", "A;particulier;;12;NL;B-1;01-01-2026;31-01-2026;10;", "phone",
     "This is not a phone number"),
    ("bad amount", "A;particulier;;;NL;B-1;01-01-2026;31-01-2026;tien;", "amount",
     "This is not an amount"),
    ("zero amount", "A;particulier;;;NL;B-1;01-01-2026;31-01-2026;0;", "amount",
     "more than zero"),
    ("bad date", "A;particulier;;;NL;B-1;32-01-2026;31-01-2026;10;", "invoice_date",
     "This is not a date"),
    ("due before invoice", "A;particulier;;;NL;B-1;01-02-2026;31-01-2026;10;", "due_date",
     "before the invoice date"),
    ("bad country", "A;particulier;;;Narnia;B-1;01-01-2026;31-01-2026;10;", "country",
     "not a country code"),
    ("bad kind", "A;martian;;;NL;B-1;01-01-2026;31-01-2026;10;", "debtor_kind",
     "person or business"),
    ("twice in file", GOOD_ROWS[0].replace("F-1", "F-2"), "invoice_number", "in the file twice"),
]


@pytest.mark.parametrize(("bad", "field", "words"), [r[1:] for r in BAD_ROWS],
                         ids=[r[0] for r in BAD_ROWS])
def test_a_bad_row_is_named_and_nothing_is_written(client, client_user, bad, field, words):
    _upload(client, _csv(*GOOD_ROWS[:2], bad))
    batch = _last_batch()
    assert batch.problems[0][:2] == [4, field]  # the spreadsheet's row 4: header, 2 good rows
    page = client.get(f"/client/imports/{batch.id}")
    assert "Problems to fix" in page.text and words in page.text
    assert "Import these claims" not in page.text
    response = _confirm(client, batch.id)
    assert response.status_code == 422
    assert _counts() == (0, 0, 0)
    assert _last_batch().status == ImportStatus.PREVIEWED


def test_a_missing_required_column_is_named(client, client_user):
    _upload(client, _csv("A;10", header="Naam;Bedrag"))
    batch = _last_batch()
    assert [1, "invoice_number", "not_mapped"] in batch.problems
    assert "No column of the file is chosen for this." in client.get(
        f"/client/imports/{batch.id}").text


def test_importing_the_same_invoices_again_creates_no_duplicates(client, client_user):
    _upload(client, _csv(*GOOD_ROWS))
    _confirm(client, _last_batch().id)
    new_row = "Piet;particulier;;;NL;F-4;01-01-2026;31-01-2026;5,00;"
    _upload(client, _csv(*GOOD_ROWS, new_row))
    batch = _last_batch()
    assert batch.invoices_existing == 3
    page = client.get(f"/client/imports/{batch.id}")
    assert "Ready to import" in page.text and "will be skipped" in page.text
    _confirm(client, batch.id)
    assert _counts() == (3, 4, 3)
    page = client.get(f"/client/imports/{batch.id}")
    assert "Handed over before" in page.text
    assert all(f"Row {n}" in page.text for n in (2, 3, 4)) and "Row 5" not in page.text


def test_an_xlsx_file(client, client_user):
    book = Workbook()
    sheet = book.active
    sheet.append(["Debtor name", "Email", "Invoice number", "Invoice date", "Due date",
                  "Amount", "Country", "Language"])
    day = datetime(2026, 1, 1)  # noqa: DTZ001 (spreadsheet cells carry no time zone)
    sheet.append(["Ann Smith", "ann@example.com", "X-1", day,
                  day.replace(day=31), 250.5, "GB", "en"])
    out = io.BytesIO()
    book.save(out)
    _upload(client, out.getvalue(), "claims.xlsx")
    batch = _last_batch()
    assert batch.problems == [] and batch.rows_total == 1
    _confirm(client, batch.id)
    invoice = db.session.scalar(select(Invoice))
    assert (invoice.number, invoice.amount_cents, str(invoice.due_date)) == (
        "X-1", 25050, "2026-01-31")
    assert db.session.scalar(select(Debtor)).language == "en"


def test_the_mapping_is_remembered_for_the_next_upload(client, client_user):
    header = "Wie;Nummer;Wanneer;Uiterlijk;Hoeveel"
    _upload(client, _csv("A;M-1;01-01-2026;31-01-2026;10", header=header))
    batch = _last_batch()
    assert batch.mapping.get("invoice_number") is None  # nothing guessed for "Nummer"
    page = client.get(f"/client/imports/{batch.id}")
    mapping = {"map-debtor_name": "Wie", "map-invoice_number": "Nummer",
               "map-invoice_date": "Wanneer", "map-due_date": "Uiterlijk",
               "map-amount": "Hoeveel"}
    client.post(f"/client/imports/{batch.id}", data={
        "csrf_token": csrf_token(page.text), "action": "remap", **mapping})
    assert _last_batch().problems == []
    _confirm(client, batch.id)
    _upload(client, _csv("B;M-2;01-01-2026;31-01-2026;10", header=header))
    again = _last_batch()
    assert again.id != batch.id
    assert again.mapping["invoice_number"] == "Nummer" and again.problems == []


def test_a_large_file_runs_as_a_job(app, client, client_user, queued_jobs):
    app.config["IMPORT_SYNC_MAX_ROWS"] = 10
    rows = [f"Debtor {i % 7};particulier;;;NL;L-{i};01-01-2026;31-01-2026;{i + 1},00;"
            for i in range(30)]
    _upload(client, _csv(*rows))
    batch = _last_batch()
    _confirm(client, batch.id)
    assert _last_batch().status == ImportStatus.QUEUED
    assert queued_jobs.names == [("imports", "portal.jobs.imports.run_import")]
    assert _counts() == (0, 0, 0)
    progress = client.get(f"/client/imports/{batch.id}/progress")
    assert 'hx-trigger="every 1s"' in progress.text

    assert queued_jobs.run() == ["done"]
    assert _counts() == (7, 30, 7)
    batch = _last_batch()
    assert (batch.status, batch.rows_done, batch.cases_created) == (ImportStatus.DONE, 30, 7)
    progress = client.get(f"/client/imports/{batch.id}/progress")
    assert "every 1s" not in progress.text and "7 cases opened" in progress.text


def test_another_clients_batch_is_404(client, client_user, make):
    other = make.client()
    batch = ImportBatch(client_id=other.id, filename="x.csv", mapping={}, problems=[])
    db.session.add(batch)
    db.session.commit()
    assert client.get(f"/client/imports/{batch.id}").status_code == 404
    assert client.get(f"/client/imports/{batch.id}/progress").status_code == 404
    page = client.get("/client/imports")
    assert client.post(f"/client/imports/{batch.id}", data={
        "csrf_token": csrf_token(page.text), "action": "confirm"}).status_code == 404


def test_an_unreadable_file_is_refused_with_422(client, client_user):
    response = _upload(client, b"", "empty.csv")
    assert response.status_code == 422
    assert "We cannot read this file" in response.text


CLAIM = {"debtor_name": "Kees", "debtor_kind": "person", "email": "kees@example.com",
         "phone": "0612345678", "address_line": "", "postal_code": "", "city": "",
         "country": "NL", "language": "nl", "invoice_number": "S-1",
         "invoice_date": "2026-01-01", "due_date": "2026-01-31", "amount": "75,00",
         "description": ""}


def test_the_single_claim_form_opens_a_case(client, client_user):
    page = client.get("/client/claims/new")
    response = client.post("/client/claims/new", data={**CLAIM,
                                                       "csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    case = db.session.scalar(select(Case))
    assert response.location.endswith(f"/client/cases/{case.id}")
    assert case.debtor.phone == "+31612345678" and case.invoices[0].amount_cents == 7500


@pytest.mark.parametrize(("field", "value", "words"), [
    ("email", "kees@", "This is not an email address."),
    ("amount", "", "This is empty but needed."),
    ("debtor_name", "", "This is empty but needed."),
    ("due_date", "2025-12-01", "The due date is before the invoice date."),
])
def test_the_single_claim_form_names_the_field(client, client_user, field, value, words):
    page = client.get("/client/claims/new")
    response = client.post("/client/claims/new", data={
        **CLAIM, field: value, "csrf_token": csrf_token(page.text)})
    assert response.status_code == 422
    assert words in response.text and f'id="{field}-error"' in response.text
    assert _counts() == (0, 0, 0)


def test_the_single_claim_form_refuses_an_invoice_handed_over_before(client, client_user):
    page = client.get("/client/claims/new")
    data = {**CLAIM, "csrf_token": csrf_token(page.text)}
    assert client.post("/client/claims/new", data=data).status_code == 302
    again = client.post("/client/claims/new", data={**data, "debtor_name": "Other"})
    assert again.status_code == 422 and "You handed over this invoice before" in again.text
    assert _counts() == (1, 1, 1)
