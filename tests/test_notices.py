"""Rendering notices: figures from the ledger, the 14-day letter's law, editable texts in a
sandbox, emails and PDF letters checked against stored snapshots."""

from __future__ import annotations

import io
import os
import re
from datetime import date
from pathlib import Path

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import func, select

from portal import dunning_templates, templating
from portal.domain.costs import statutory_collection_costs
from portal.domain.deadlines import fourteen_day_term
from portal.domain.references import normalise_access_code
from portal.extensions import db
from portal.models import (
    Bucket,
    Channel,
    Communication,
    DebtorKind,
    EntryCause,
    MessageTemplate,
    Notice,
    StepAction,
)
from portal.services import access_codes, debtor_access, ledger
from portal.services.cases import InvoiceData, open_case
from portal.services.notices import (
    PREVIEW_CODE,
    TemplateProblem,
    notice_context,
    preview,
    render_email,
    render_letter_html,
    render_letter_pdf,
    template_source,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
DATED = date(2026, 3, 6)
FIGURES = ("principal", "interest", "costs", "fees", "paid", "total")
ACTIONS = {
    "invoice": StepAction.INVOICE,
    "friendly_reminder": StepAction.EMAIL_REMINDER,
    "reminder": StepAction.EMAIL_REMINDER,
    "fourteen_day_letter": StepAction.FOURTEEN_DAY_LETTER,
    "final_demand": StepAction.FINAL_DEMAND,
    "legal_handover": StepAction.LEGAL_HANDOVER,
    "payment_plan_reminder": StepAction.EMAIL_REMINDER,
}


def assert_snapshot(name: str, text: str) -> None:
    """Compare with tests/snapshots/<name>; UPDATE_SNAPSHOTS=1 writes it instead (then review
    the diff in git before committing)."""
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {name}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text(encoding="utf-8")


def make_notice(cases, *, template_key="reminder", channel=Channel.EMAIL, language="nl",
                dated=DATED, action=None) -> Notice:
    """A notice for `cases` (one debtor, one client), as the batch records it."""
    first = cases[0]
    notice = Notice(
        key=f"debtor:{first.debtor_id}:client:{first.client_id}:{template_key}:{channel}:"
            f"{language}:{dated}",
        debtor_id=first.debtor_id, client_id=first.client_id,
        action=action or ACTIONS[template_key], channel=channel, template_key=template_key,
        language=language, dated=dated,
    )
    db.session.add(notice)
    db.session.flush()
    for case in cases:
        db.session.add(Communication(idempotency_key=f"case:{case.id}:notice:{notice.id}",
                                     case_id=case.id, notice_id=notice.id, position=1))
    db.session.flush()
    return notice


def flat(text: str) -> str:
    """Whitespace (line breaks, the no-break space after €) as single spaces."""
    return " ".join(text.split())


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def book(make):
    """A consumer's case: invoices of 600 and 400, interest 12.34, costs 40, 25 paid."""
    client = make.client("Bakkerij Vermeulen B.V.")
    debtor = make.debtor(name="Anneke van Dijk", address_line="Kerkstraat 12",
                         postal_code="9711ab", city="Groningen")
    case, _ = make.case(client, debtor, amounts=(600_00, 400_00))
    ledger.book(case, Bucket.INTEREST, 12_34, EntryCause.INTEREST, "Rente", booked_on=DATED)
    ledger.book(case, Bucket.COSTS, 40_00, EntryCause.COLLECTION_COSTS, "Kosten", booked_on=DATED)
    ledger.book(case, Bucket.COSTS, -25_00, EntryCause.PAYMENT, "Betaling", booked_on=DATED)
    db.session.flush()
    return case


# -- The facts -------------------------------------------------------------------------------


def test_the_figures_come_from_the_ledger(book):
    facts = notice_context(make_notice([book]))
    balance = ledger.balance(book)
    expected = {"principal": 1000_00, "interest": 12_34, "costs": 40_00, "fees": 0,
                "paid": 25_00, "total": 1027_34}
    assert {name: facts["cases"][0][name] for name in FIGURES} == expected
    assert expected == {name: getattr(balance, name) for name in FIGURES}
    assert facts["totals"] == expected
    assert [invoice["amount"] for invoice in facts["cases"][0]["invoices"]] == [600_00, 400_00]


def test_the_payment_instructions_and_the_printed_code_open_the_case(app, book):
    app.config["PUBLIC_URL"] = "https://incasso.example/"
    facts = notice_context(make_notice([book]))
    assert facts["payment"]["reference"] == book.reference
    assert facts["pay_url"] == "https://incasso.example/pay/"
    code = facts["cases"][0]["access_code"]
    assert access_codes.matches(book.access_code_hash, book.reference, normalise_access_code(code))


def test_an_old_case_without_a_nonce_gets_a_printable_code(book):
    book.access_code_nonce = ""
    facts = notice_context(make_notice([book]))
    code = facts["cases"][0]["access_code"]
    assert book.access_code_nonce  # set here; the caller commits
    assert access_codes.matches(book.access_code_hash, book.reference, normalise_access_code(code))


def test_the_address_block_follows_postnl(book):
    facts = notice_context(make_notice([book]))
    assert facts["debtor"]["address_lines"] == [
        "Anneke van Dijk", "Kerkstraat 12", "9711 AB  GRONINGEN"
    ]


def test_a_business_abroad_is_addressed_to_its_contact(make):
    debtor = make.debtor(DebtorKind.BUSINESS, name="Leer Handel GmbH", contact_person="Jan Berg",
                         address_line="Hauptstraße 5", postal_code="26789", city="Leer",
                         country="DE")
    case, _ = make.case(debtor=debtor)
    facts = notice_context(make_notice([case], language="en"))
    assert facts["debtor"]["greeting_name"] == "Jan Berg"
    assert facts["debtor"]["address_lines"] == [
        "Leer Handel GmbH", "Attn. Jan Berg", "Hauptstraße 5", "26789  LEER", "GERMANY"
    ]


@pytest.mark.parametrize(
    ("vat", "costs", "vat_part"),
    [pytest.param(False, 150_00, 0, id="no VAT"), pytest.param(True, 181_50, 31_50, id="VAT")],
)
def test_the_fourteen_day_letter_announces_the_exact_costs(make, vat, costs, vat_part):
    client = make.client(charges_vat_on_costs=vat)
    case, _ = make.case(client, amounts=(1000_00,))
    notice = make_notice([case], template_key="fourteen_day_letter", channel=Channel.LETTER)
    facts = notice_context(notice)["fourteen_day"]
    assert (facts["costs"], facts["vat"], facts["costs_before_vat"]) == (costs, vat_part, 150_00)
    assert (facts["receipt"], facts["last_day"]) == fourteen_day_term(DATED)


def test_costs_are_announced_on_the_principal_still_open(make):
    case, _ = make.case(amounts=(1000_00,))
    ledger.book(case, Bucket.PRINCIPAL, -400_00, EntryCause.PAYMENT, "Deel", booked_on=DATED)
    notice = make_notice([case], template_key="fourteen_day_letter", channel=Channel.LETTER)
    assert notice_context(notice)["fourteen_day"]["costs"] == statutory_collection_costs(600_00)


# The example of the issue: posted Friday 2024-03-08, received Tuesday 2024-03-12, term up to
# and including 2024-03-26; consumer principal 1,000.00 with VAT: 181.50 of which 31.50 VAT.
LEGAL_WORDING = {
    "nl": ["binnen 14 dagen, te rekenen vanaf de dag na ontvangst van deze brief",
           "12 maart 2024", "tot en met 26 maart 2024", "€ 181,50, inclusief € 31,50 btw",
           "Betaalt u binnen deze termijn, dan bent u geen incassokosten verschuldigd"],
    "en": ["within 14 days from the day after this letter reaches you",
           "12 March 2024", "up to and including 26 March 2024", "€181.50, including €31.50 VAT",
           "If you pay within this term, you owe no collection costs"],
}


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_fourteen_day_letter_says_what_the_law_requires(make, language):
    client = make.client(charges_vat_on_costs=True)
    case, _ = make.case(client, amounts=(1000_00,), opened_on=date(2024, 2, 1))
    notice = make_notice([case], template_key="fourteen_day_letter", channel=Channel.LETTER,
                         language=language, dated=date(2024, 3, 8))
    text = flat(pdf_text(render_letter_pdf(notice)))
    for wording in LEGAL_WORDING[language]:
        assert wording in text
    assert "date of this letter" not in text and "datum van deze brief" not in text


def test_a_notice_for_two_cases_lists_both_and_adds_up(make):
    client, debtor = make.client(), make.debtor()
    first, _ = make.case(client, debtor, amounts=(200_00,))
    second, _ = make.case(client, debtor, amounts=(100_00,))
    ledger.book(second, Bucket.INTEREST, 5_00, EntryCause.INTEREST, "Rente", booked_on=DATED)
    notice = make_notice([second, first], template_key="fourteen_day_letter",
                         channel=Channel.LETTER)
    facts = notice_context(notice)
    assert facts["references"] == [first.reference, second.reference]
    assert facts["totals"]["total"] == ledger.balance(first).total + ledger.balance(second).total
    assert facts["payment"]["reference"] is None
    # Principals are added up before the scale: 15 % of 300, not the minimum of 40 twice.
    assert facts["fourteen_day"]["costs"] == statutory_collection_costs(300_00) == 45_00
    text = flat(pdf_text(render_letter_pdf(notice)))
    for case in facts["cases"]:
        assert case["reference"] in text and case["access_code"] in text
    assert "€ 305,00" in text


# -- The editable texts ----------------------------------------------------------------------


def edit(key="reminder", channel=Channel.EMAIL, language="nl", *, subject="Over {{ reference }}",
         body="Beste {{ debtor.name }},\n\nEen eigen tekst.") -> MessageTemplate:
    row = MessageTemplate(key=key, channel=channel, language=language, subject=subject, body=body)
    db.session.add(row)
    db.session.flush()
    return row


def test_an_edited_text_replaces_the_default(book):
    edit()
    rendered = render_email(make_notice([book]))
    assert rendered.subject == f"Over {book.reference}"
    assert rendered.text.startswith("Beste Anneke van Dijk,\n\nEen eigen tekst.")
    assert "<p>Een eigen tekst.</p>" in rendered.html
    assert template_source("reminder", "email", "en") == dunning_templates.read_default(
        "reminder", "email", "en"
    )


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        pytest.param("Beste {{ debtor.name }},\n\nUw {{ debtr.name }}", 3, "'debtr' is undefined",
                     id="unknown name"),
        pytest.param("Beste {{ debtor.nmae }},", 1, "unknown field 'nmae'", id="unknown field"),
        pytest.param("Beste,\n\n{{ totals.total|mony }}", 3, "No filter named 'mony'",
                     id="unknown filter"),
        pytest.param("Beste,\n{% if %}", 2, "Expected an expression", id="syntax"),
    ],
)
def test_a_mistake_in_a_text_is_a_clear_problem(book, body, line, message):
    edit(body=body)
    with pytest.raises(TemplateProblem) as problem:
        render_email(make_notice([book]))
    assert (problem.value.where, problem.value.line) == ("reminder.email.nl body", line)
    assert message in problem.value.message
    assert str(problem.value).startswith(f"reminder.email.nl body, line {line}: ")


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ debtor.name.__init__.__globals__ }}",
        "{{ cases.append(1) }}",
        "{% set gone = debtor.pop('name') %}",
        "{{ config.SECRET_KEY }}",
        "{{ range(10 ** 9)|list|length }}",
    ],
)
def test_the_sandbox_refuses_to_reach_outside(book, body):
    edit(body=body)
    with pytest.raises(TemplateProblem):
        render_email(make_notice([book]))


def test_the_sandbox_says_why_it_refused(book):
    edit(body="{{ ''.__class__ }}")
    with pytest.raises(TemplateProblem, match="unsafe"):
        render_email(make_notice([book]))


@pytest.mark.parametrize(
    ("vat", "body", "problem"),
    [
        (False, "Betaal uiterlijk {{ fourteen_day.last_day|day }}.", "exact collection costs"),
        (False, "Kosten: {{ fourteen_day.costs|money }}.", "last day of the term"),
        (True, "Kosten {{ fourteen_day.costs|money }}, uiterlijk {{ fourteen_day.last_day|day }}.",
         "VAT"),
        (False, "Binnen 14 dagen na dagtekening, uiterlijk {{ fourteen_day.last_day|day }}, "
                "anders {{ fourteen_day.costs|money }}.", "day after receipt"),
    ],
)
def test_an_edited_fourteen_day_text_must_keep_the_law(make, vat, body, problem):
    case, _ = make.case(make.client(charges_vat_on_costs=vat), amounts=(1000_00,))
    edit("fourteen_day_letter", Channel.LETTER, body=body)
    notice = make_notice([case], template_key="fourteen_day_letter", channel=Channel.LETTER)
    with pytest.raises(TemplateProblem, match=problem):
        render_letter_html(notice)


def test_a_subject_stays_on_one_line(book):
    edit(subject="Eerste regel\r\nBcc: iemand@example.test")
    assert render_email(make_notice([book])).subject == "Eerste regel Bcc: iemand@example.test"


def test_names_from_imports_are_escaped(make):
    debtor = make.debtor(name='<img src="x" onerror="alert(1)">')
    case, _ = make.case(debtor=debtor)
    rendered = render_email(make_notice([case]))
    assert "<img" not in rendered.html and "&lt;img" in rendered.html
    assert "<img" not in render_letter_html(make_notice([case], channel=Channel.LETTER))


def test_a_language_without_texts_reads_english(book):
    rendered = render_email(make_notice([book], language="de"))
    assert rendered.subject.startswith("Reminder: outstanding payment")


def test_remembered_amounts_follow_the_locale(app, book):
    render_email(make_notice([book]))
    with force_locale("nl_NL"):
        dutch = dunning_templates.money(1234_56)
    with force_locale("en_GB"):
        english = dunning_templates.money(1234_56)
    assert (flat(dutch), english) == ("€ 1.234,56", "€1,234.56")
    assert app.jinja_env.filters["money"] is templating.money  # the pages' filter is untouched


# -- Emails and letters ----------------------------------------------------------------------


def test_the_email_link_signs_the_debtor_in(book):
    rendered = render_email(make_notice([book]))
    token = re.search(r"/pay/l/(\S+)", rendered.text)[1]
    assert debtor_access.case_for_link(token) == book
    assert f"/pay/l/{token}" in rendered.html


def test_the_email_carries_the_letters_facts(book):
    rendered = render_email(make_notice([book]))
    code = access_codes.printable_code(book)
    for fact in ("NL00 BANK 0123 4567 89", book.reference, code, "€ 1.027,34", "Incasso"):
        assert fact in flat(rendered.text) and fact in flat(rendered.html)


def test_the_message_id_is_stable_per_notice(app, book):
    app.config["PUBLIC_URL"] = "https://incasso.example"
    notice = make_notice([book])
    first, again = render_email(notice).message_id, render_email(notice).message_id
    assert first == again
    assert re.fullmatch(rf"<notice-{notice.id}\.[0-9a-f]{{16}}@incasso\.example>", first)
    other = make_notice([book], language="en")
    assert render_email(other).message_id != first


def test_the_address_sits_in_the_envelope_window(book):
    notice = make_notice([book], channel=Channel.LETTER)
    lines = notice_context(notice)["debtor"]["address_lines"]
    found = {}

    def visit(text, cm, tm, font, size):
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        found.setdefault(flat(text), (x * 25.4 / 72, (841.89 - y) * 25.4 / 72))

    PdfReader(io.BytesIO(render_letter_pdf(notice))).pages[0].extract_text(visitor_text=visit)
    for line in lines:  # a window envelope shows 20 mm from the left, from about 50 mm down
        left, top = found[flat(line)]
        assert 19 <= left <= 22 and 50 <= top <= 88, (line, left, top)


def test_a_preview_saves_nothing(book):
    book.access_code_nonce = ""
    db.session.commit()
    for channel in (Channel.EMAIL, Channel.LETTER):
        html = preview("reminder", channel, "nl", book, action=StepAction.EMAIL_REMINDER,
                       body="Beste {{ debtor.name }}, dit is een proef.")
        assert "Beste Anneke van Dijk, dit is een proef." in html
        assert PREVIEW_CODE in html
        if channel is Channel.EMAIL:
            assert "/pay/l/preview" in html  # not a link that really signs in
    assert not db.session.dirty and not db.session.new
    assert book.access_code_nonce == ""
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0


def test_a_preview_shows_a_problem_in_the_text_being_edited(book):
    with pytest.raises(TemplateProblem, match="unknown field 'nmae'"):
        preview("reminder", "email", "nl", book, action="email_reminder",
                body="{{ debtor.nmae }}")


# -- Snapshots of every default text -------------------------------------------------------


@pytest.fixture
def fixed_case(app, make, monkeypatch):
    """The same case every run: names, numbers, dates, access code and sign-in link fixed."""
    app.config.update(AGENCY_NAME="Incasso Noord B.V.", PUBLIC_URL="https://incasso.example",
                      DUNNING_SENDER_NAME="Marieke de Vries")
    monkeypatch.setattr(debtor_access, "link_token", lambda case: "signed-token")
    client = make.client("Bakkerij Vermeulen B.V.")
    debtor = make.debtor(name="Anneke van Dijk", email="anneke@example.test",
                         address_line="Kerkstraat 12", postal_code="9711 AB", city="Groningen")
    invoices = [
        InvoiceData("F-2026-0112", date(2026, 1, 5), date(2026, 2, 4), 600_00,
                    "Taarten en gebak, januari"),
        InvoiceData("F-2026-0140", date(2026, 1, 19), date(2026, 2, 18), 400_00),
    ]
    case, _ = open_case(client, debtor, invoices, opened_on=date(2026, 3, 2))
    case.access_code_nonce = "5eed5eed5eed5eed"
    ledger.book(case, Bucket.INTEREST, 3_12, EntryCause.INTEREST, "Rente", booked_on=DATED)
    ledger.book(case, Bucket.PRINCIPAL, -50_00, EntryCause.PAYMENT, "Betaling", booked_on=DATED)
    db.session.flush()
    return case


TEXTS = [(key, language) for key in dunning_templates.KEYS for language in ("nl", "en")]


@pytest.mark.parametrize(("key", "language"), TEXTS)
def test_each_default_email_matches_its_snapshot(fixed_case, key, language):
    rendered = render_email(make_notice([fixed_case], template_key=key, language=language))
    text = f"Subject: {rendered.subject}\n\n{rendered.text}"
    assert_snapshot(f"{key}.email.{language}.txt", text)


@pytest.mark.parametrize(("key", "language"), TEXTS)
def test_each_default_letter_matches_its_snapshot(fixed_case, key, language):
    notice = make_notice([fixed_case], template_key=key, channel=Channel.LETTER,
                         language=language)
    assert_snapshot(f"{key}.letter.{language}.txt", pdf_text(render_letter_pdf(notice)) + "\n")


def test_every_key_has_a_default_in_both_languages_and_channels():
    for key in dunning_templates.KEYS:
        for channel in dunning_templates.CHANNELS:
            for language in dunning_templates.LANGUAGES:
                subject, body = dunning_templates.read_default(key, channel, language)
                assert subject and body.startswith(("Beste ", "Dear "))
