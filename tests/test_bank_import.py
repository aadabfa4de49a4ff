"""Bank statements through the admin pages: import, match, book once; match by hand; not ours."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.domain.references import rf_reference
from portal.extensions import db
from portal.models import (
    BankEntry,
    BankStatement,
    Bucket,
    CaseStatus,
    Document,
    EntryCause,
    EntryStatus,
    LedgerEntry,
    Payment,
    Role,
)
from portal.services import ledger
from tests.pages import csrf_token

IBAN = "NL91ABNA0417164300"


def camt(entries: list[dict], statement_id: str = "STMT-1") -> bytes:
    """A CAMT.053.001.02 statement with one Ntry per dict (ref, amount, name, text, debit)."""
    lines = []
    for e in entries:
        side = "DBIT" if e.get("debit") else "CRDT"
        party = "Cdtr" if e.get("debit") else "Dbtr"
        lines.append(f"""
      <Ntry>
        <Amt Ccy="EUR">{e['amount']}</Amt><CdtDbtInd>{side}</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-03-05</Dt></BookgDt><ValDt><Dt>2026-03-05</Dt></ValDt>
        <AcctSvcrRef>{e['ref']}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <RltdPties><{party}><Nm>{e['name']}</Nm></{party}>
            <{party}Acct><Id><IBAN>NL02RABO0123456789</IBAN></Id></{party}Acct></RltdPties>
          <RmtInf><Ustrd>{e['text']}</Ustrd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-03-06T08:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{statement_id}</Id><CreDtTm>2026-03-06T08:00:00</CreDtTm>
      <Acct><Id><IBAN>{IBAN}</IBAN></Id></Acct>
      {''.join(lines)}
    </Stmt>
  </BkToCstmrStmt>
</Document>""".encode()


@pytest.fixture
def admin(make, login, client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    user = login(make.user(Role.ADMIN, language="en"))
    db.session.commit()
    return user


def upload(client, data: bytes, filename: str = "statement.xml"):
    token = csrf_token(client.get("/agency/bank/").get_data(as_text=True))
    return client.post("/agency/bank/", data={"csrf_token": token,
                                              "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def payment_entries(case) -> dict[Bucket, int]:
    rows = db.session.execute(select(LedgerEntry.bucket, LedgerEntry.amount_cents).where(
        LedgerEntry.case_id == case.id, LedgerEntry.cause == EntryCause.PAYMENT)).all()
    sums: dict[Bucket, int] = {}
    for bucket, cents in rows:
        sums[Bucket(bucket)] = sums.get(Bucket(bucket), 0) + cents
    return sums


@pytest.fixture
def book(make, today):
    """Four open cases: by reference (with costs and interest), by RF, by amount and name, and
    two with the same amount and name (ambiguous)."""
    a, _ = make.case(debtor=make.debtor(name="Anna de Vries"), amounts=(100_00,))
    ledger.book(a, Bucket.COSTS, 40_00, EntryCause.COLLECTION_COSTS, "costs", booked_on=today)
    ledger.book(a, Bucket.INTEREST, 5_00, EntryCause.INTEREST, "interest", booked_on=today)
    b, _ = make.case(debtor=make.debtor(name="Bert Bakker"), amounts=(80_00,))
    c, _ = make.case(debtor=make.debtor(name="Carla Jansen"), amounts=(123_45,))
    d1, _ = make.case(debtor=make.debtor(name="Dirk Smit"), amounts=(77_00,))
    d2, _ = make.case(debtor=make.debtor(name="Dirk Smit"), amounts=(77_00,))
    db.session.commit()
    return {"a": a, "b": b, "c": c, "d1": d1, "d2": d2}


def statement_for(book) -> bytes:
    a, b = book["a"], book["b"]
    spaced = a.reference.lower().replace("-", " ")  # "k 2026 000001": noise still matches
    return camt([
        {"ref": "R1", "amount": "60.00", "name": "A. de Vries", "text": f"kenmerk {spaced}"},
        {"ref": "R2", "amount": "80.00", "name": "Someone Else", "text": rf_reference(b.reference)},
        {"ref": "R3", "amount": "123.45", "name": "C JANSEN", "text": "invoice"},
        {"ref": "R4", "amount": "77.00", "name": "D. Smit", "text": "betaling"},
        {"ref": "R5", "amount": "12.34", "name": "Unknown Person", "text": "gift"},
        {"ref": "R6", "amount": "9.99", "name": "Bank", "text": "fees", "debit": True},
    ])


def test_upload_books_matches_and_lists_the_rest(client, admin, book, queued_jobs):
    response = upload(client, statement_for(book))
    assert response.status_code == 302
    a, b, c = book["a"], book["b"], book["c"]
    # 60.00 on costs 40 + interest 5 + principal 100: costs first, then interest, then principal.
    assert payment_entries(a) == {Bucket.COSTS: -40_00, Bucket.INTEREST: -5_00,
                                  Bucket.PRINCIPAL: -15_00}
    assert payment_entries(b) == {Bucket.PRINCIPAL: -80_00}
    assert payment_entries(c) == {Bucket.PRINCIPAL: -123_45}
    db.session.expire_all()
    assert (b.status, a.status) == (CaseStatus.PAID, CaseStatus.NEW)
    entries = {e.bank_ref: e for e in db.session.scalars(select(BankEntry))}
    assert [entries[r].match_rule for r in ("R1", "R2", "R3")] == ["reference", "rf",
                                                                   "amount_name"]
    assert entries["R4"].status == EntryStatus.UNMATCHED  # two Dirk Smits owe 77.00
    assert entries["R5"].status == EntryStatus.UNMATCHED
    assert entries["R6"].status == EntryStatus.DEBIT
    payments = list(db.session.scalars(select(Payment)))
    assert {(p.provider, p.method, p.status) for p in payments} == {("bank", "transfer", "paid")}
    assert queued_jobs.names == [("mail", "portal.jobs.payments.send_payment_confirmation")] * 3

    page = client.get("/agency/bank/unmatched").get_data(as_text=True)
    assert "Unknown Person" in page and "D. Smit" in page
    assert "A. de Vries" not in page and "Bank" not in page.split("<tbody>")[1]
    assert book["d1"].reference in page  # suggested: same amount, similar name
    listing = client.get("/agency/bank/").get_data(as_text=True)
    assert "statement.xml" in listing


def test_the_same_statement_twice_books_nothing_twice(client, admin, book):
    data = statement_for(book)
    upload(client, data)
    before = (count(Payment), count(LedgerEntry), count(BankEntry))
    response = upload(client, data, "again.xml")
    assert response.status_code == 302
    assert (count(Payment), count(LedgerEntry), count(BankEntry)) == before
    second = db.session.scalar(select(BankStatement).where(BankStatement.filename == "again.xml"))
    assert (second.entries_total, second.entries_new) == (6, 0)
    page = client.get(f"/agency/bank/statements/{second.id}").get_data(as_text=True)
    assert "every line was known already" in page


def test_a_broken_file_is_refused_and_nothing_stored(client, admin):
    response = upload(client, b"<Document><nonsense/></Document", "broken.xml")
    assert response.status_code == 422
    assert "CAMT.053" in response.get_data(as_text=True) or "XML" in response.get_data(
        as_text=True)
    assert (count(BankStatement), count(BankEntry), count(Document)) == (0, 0, 0)


def test_a_file_of_another_kind_is_refused(client, admin):
    response = upload(client, b"name,amount\nx,1\n", "claims.csv")
    assert response.status_code == 422
    assert count(BankStatement) == 0


def test_statement_page_shows_where_each_line_went(client, admin, book):
    upload(client, statement_for(book))
    statement = db.session.scalar(select(BankStatement))
    page = client.get(f"/agency/bank/statements/{statement.id}").get_data(as_text=True)
    assert book["a"].reference in page and "by the case reference" in page
    assert "by amount and name" in page and "Money out" in page


def _unmatched_entry(ref: str) -> BankEntry:
    return db.session.scalar(select(BankEntry).where(BankEntry.bank_ref == ref))


def test_match_by_hand_books_the_transfer(client, admin, book):
    upload(client, statement_for(book))
    entry, d2 = _unmatched_entry("R4"), book["d2"]
    token = csrf_token(client.get("/agency/bank/unmatched").get_data(as_text=True))
    response = client.post(f"/agency/bank/entries/{entry.id}/match",
                           data={"csrf_token": token, "reference": d2.reference.lower()},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Booked to" in response.get_data(as_text=True)
    db.session.expire_all()
    entry = db.session.get(BankEntry, entry.id)
    assert (entry.status, entry.case_id, entry.match_rule) == (EntryStatus.BOOKED, d2.id,
                                                                "manual")
    assert payment_entries(d2) == {Bucket.PRINCIPAL: -77_00}
    assert payment_entries(book["d1"]) == {}
    # Twice: refused, nothing booked again.
    again = client.post(f"/agency/bank/entries/{entry.id}/match",
                        data={"csrf_token": token, "reference": d2.reference})
    assert again.status_code == 422
    assert count(Payment) == 4


def test_match_by_hand_to_an_unknown_reference_is_refused(client, admin, book):
    upload(client, statement_for(book))
    entry = _unmatched_entry("R5")
    token = csrf_token(client.get("/agency/bank/unmatched").get_data(as_text=True))
    response = client.post(f"/agency/bank/entries/{entry.id}/match",
                           data={"csrf_token": token, "reference": "K-1999-999999"})
    assert response.status_code == 422
    assert "No case has the reference K-1999-999999" in response.get_data(as_text=True)
    assert db.session.get(BankEntry, entry.id).status == EntryStatus.UNMATCHED


def test_not_ours_sets_the_transfer_aside(client, admin, book):
    upload(client, statement_for(book))
    entry = _unmatched_entry("R5")
    token = csrf_token(client.get("/agency/bank/unmatched").get_data(as_text=True))
    response = client.post(f"/agency/bank/entries/{entry.id}/not-ours",
                           data={"csrf_token": token, "note": "a gift to the staff"})
    assert response.status_code == 302
    db.session.expire_all()
    entry = db.session.get(BankEntry, entry.id)
    assert (entry.status, entry.note) == (EntryStatus.NOT_OURS, "a gift to the staff")
    assert "Unknown Person" not in client.get("/agency/bank/unmatched").get_data(as_text=True)
    assert count(Payment) == 3


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.CALLER])
def test_other_staff_may_not(client, make, login, role):
    login(make.user(role))
    db.session.commit()
    assert client.get("/agency/bank/").status_code == 403
    assert client.get("/agency/bank/unmatched").status_code == 403
    assert client.post("/agency/bank/entries/1/not-ours").status_code in (400, 403)


def test_a_debit_cannot_be_matched(app, make, today):
    from portal.services import bank_import

    case, _ = make.case()
    statement = BankStatement(filename="x.xml", format="camt053")
    db.session.add(statement)
    db.session.flush()
    entry = BankEntry(statement_id=statement.id, entry_key="k", booked_on=date(2026, 3, 5),
                      amount_cents=-5_00, status=EntryStatus.DEBIT)
    db.session.add(entry)
    db.session.flush()
    with pytest.raises(bank_import.EntryNotOpen):
        bank_import.match_by_hand(entry, case, make.user(), today=today)


FIXTURES = Path(__file__).parent / "fixtures" / "bank"


def test_the_sample_mt940_statement_books_to_its_cases(client, admin, make):
    jansen, _ = make.case(debtor=make.debtor(name="J. Jansen"), amounts=(500_00,))
    smit, _ = make.case(debtor=make.debtor(name="Bakkerij Smit B.V."), amounts=(310_00,))
    vries, _ = make.case(debtor=make.debtor(name="Piet de Vries"), amounts=(250_00,))
    jansen.reference, smit.reference = "K-2026-000123", "K-2026-000124"
    db.session.commit()
    data = (FIXTURES / "mt940_abn.sta").read_bytes()
    assert upload(client, data, "mt940_abn.sta").status_code == 302
    db.session.expire_all()
    assert payment_entries(jansen) == {Bucket.PRINCIPAL: -165_50}  # 125.50 + 40.00
    assert payment_entries(smit) == {Bucket.PRINCIPAL: -310_00}
    assert payment_entries(vries) == {Bucket.PRINCIPAL: -250_00}
    rules = sorted(e.match_rule or str(e.status) for e in db.session.scalars(select(BankEntry)))
    assert rules == ["amount_name", "debit", "reference", "reference", "rf"]
    assert upload(client, data, "again.sta").status_code == 302
    assert (count(Payment), count(BankEntry)) == (4, 5)
