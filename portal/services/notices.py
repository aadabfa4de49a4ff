"""Rendering a notice: the email or letter one debtor gets about one client's cases.

A notice is drawn in two layers. The fixed layout (templates/documents/: letterhead, address
window, invoice table, figures, payment box, closing) is the agency's design. The text in
between is editable: an admin's MessageTemplate row, else the shipped default, rendered in a
sandbox (portal.dunning_templates). The variables a text may use (amounts in cents for
`|money`, dates for `|day`):

  agency: name, address_lines, iban, bic, phone, email, kvk
  client: name, address_lines
  debtor: name, contact_person, greeting_name, address_lines, is_consumer
  cases: each reference, access_code, invoices (number, invoice_date, due_date, amount,
         description), principal, interest, costs, fees, paid, total
  totals: principal, interest, costs, fees, paid, total
  several, reference (the first), references, invoice_numbers, due_date (the earliest),
  dated, pay_by, payment (iban, bic, beneficiary, reference or None for several cases,
  references), pay_url, pay_link (emails), sender (name, title), language, action, channel
  fourteen_day (14-day letters only): posted_on, receipt, last_day, principal, costs,
         costs_before_vat, vat
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from flask import current_app
from flask_babel import force_locale
from jinja2 import Environment, Template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import dunning_templates, templating
from portal.documents.pdf import html_to_pdf
from portal.documents.storage import read_document, safe_filename
from portal.domain.costs import statutory_collection_costs
from portal.domain.deadlines import fourteen_day_term
from portal.domain.dunning import Channel, StepAction
from portal.dunning_templates import (
    TemplateProblem,
    check_fourteen_day_text,
    render_text,
    text_to_html,
    tidy,
)
from portal.extensions import db
from portal.links import public_url
from portal.models import (
    Bucket,
    Case,
    Client,
    Communication,
    Debtor,
    Document,
    Invoice,
    MessageTemplate,
    Notice,
)
from portal.services import access_codes, debtor_access, ledger
from portal.services.ledger import Balance

__all__ = ["TemplateProblem"]  # raised here, defined beside the sandbox

# Babel locale per document language: English letters from a Dutch agency say "2 March 2026".
DOCUMENT_LOCALES = {"nl": "nl_NL", "en": "en_GB"}
FALLBACK_LANGUAGE = "en"  # a debtor whose language has no texts reads English
# Placeholders, not an agency's details: the IBAN's check digits are invalid, so a letter
# printed before AGENCY_IBAN is set cannot send a debtor's money to a real account.
AGENCY_DEFAULTS = {
    "AGENCY_ADDRESS": "Voorbeeldstraat 1\n9711 AA Groningen",
    "AGENCY_IBAN": "NL00BANK0123456789",
    "AGENCY_BIC": "BANKNL2A",
    "AGENCY_PHONE": "050 000 0000",
    "AGENCY_EMAIL": "info@incasso.example",
    "AGENCY_KVK": "00000000",
}
DEFAULT_SENDER = "Marieke de Vries"
PAY_WITHIN_DAYS = 7  # "please pay by": DUNNING_PAY_WITHIN_DAYS
PREVIEW_CODE = "XXXX-XXXX"
FIGURES = ("principal", "interest", "costs", "fees", "paid", "total")


@dataclass(frozen=True)
class Draft:
    """What a notice is about, saved or not: a preview renders one that was never saved."""

    debtor: Debtor
    client: Client
    cases: tuple[Case, ...]
    action: StepAction
    channel: Channel
    template_key: str
    language: str
    dated: date
    preview: bool = False  # placeholders for the access code and the sign-in link
    # The cases' balances when they were read with others' (drafts_for); else read on use.
    balances: Mapping[int, Balance] | None = None


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    message_id: str  # stable per notice, so a resend is recognised as the same message


def draft_for(notice: Notice) -> Draft:
    """The notice with its debtor, client and cases (by reference, invoices loaded)."""
    draft = drafts_for([notice], with_balances=False).get(notice.id)
    if draft is None:
        raise ValueError(f"notice {notice.id} covers no case")
    return draft


def drafts_for(many: Iterable[Notice], *, with_balances: bool = True) -> dict[int, Draft]:
    """The drafts of many notices by notice id, in two queries (their cases with invoices,
    and the cases' balances) however many there are: a delivery job renders fifty. A notice
    that covers no case has no draft. Debtors and clients come from the session's identity
    map when the notices were loaded with them (delivery.load_many)."""
    by_id = {notice.id: notice for notice in many}
    if not by_id:
        return {}
    rows = db.session.execute(
        select(Communication.notice_id, Case)
        .join(Case, Case.id == Communication.case_id)
        .where(Communication.notice_id.in_(by_id))
        .options(selectinload(Case.invoices))
        .order_by(Case.reference)
    ).all()
    cases: dict[int, list[Case]] = {}
    for notice_id, case in rows:
        cases.setdefault(notice_id, []).append(case)
    balances = (ledger.balances(case.id for _, case in rows) if with_balances else None)
    return {
        notice_id: Draft(
            debtor=db.session.get(Debtor, by_id[notice_id].debtor_id),
            client=db.session.get(Client, by_id[notice_id].client_id),
            cases=tuple(found),
            action=StepAction(by_id[notice_id].action),
            channel=Channel(by_id[notice_id].channel),
            template_key=by_id[notice_id].template_key,
            language=document_language(by_id[notice_id].language),
            dated=by_id[notice_id].dated,
            balances=balances,
        )
        for notice_id, found in cases.items()
    }


def document_language(language: str | None) -> str:
    """The language a notice is written in: the debtor's, when there are texts for it."""
    return language if language in dunning_templates.LANGUAGES else FALLBACK_LANGUAGE


# -- The facts ---------------------------------------------------------------------------------


def notice_context(notice: Notice) -> dict:
    """Everything a notice's text and layout may show, as plain values (see the module doc).

    Old cases without an access-code nonce get one here (access_codes.printable_code):
    commit afterwards.
    """
    return context_for(draft_for(notice))


def context_for(draft: Draft) -> dict:
    """The context of a draft; plain dicts and lists only, so a sandboxed text cannot reach
    an ORM object (and through it the session)."""
    labels = dunning_templates.labels(draft.language)
    balances = draft.balances or ledger.balances(case.id for case in draft.cases)
    cases = [_case_facts(case, balances[case.id], draft) for case in draft.cases]
    invoices = [invoice for case in cases for invoice in case["invoices"]]
    agency = _agency()
    context = {
        "agency": agency,
        "client": {"name": draft.client.name, "address_lines": _lines(draft.client.address)},
        "debtor": _debtor(draft.debtor, labels, draft.language),
        "cases": cases,
        "totals": {name: sum(case[name] for case in cases) for name in FIGURES},
        "several": len(cases) > 1,
        "reference": cases[0]["reference"],
        "references": [case["reference"] for case in cases],
        "invoice_numbers": [invoice["number"] for invoice in invoices],
        "due_date": min((invoice["due_date"] for invoice in invoices), default=None),
        "dated": draft.dated,
        "pay_by": draft.dated + timedelta(days=_config("DUNNING_PAY_WITHIN_DAYS", PAY_WITHIN_DAYS)),
        "payment": _payment(agency, cases),
        "pay_url": f"{public_url()}/pay/",
        "pay_link": None,
        "sender": {"name": _config("DUNNING_SENDER_NAME", DEFAULT_SENDER),
                   "title": _config("DUNNING_SENDER_TITLE", labels["sender_title"])},
        "language": draft.language,
        "action": str(draft.action),
        "channel": str(draft.channel),
        "fourteen_day": None,
    }
    if draft.action is StepAction.FOURTEEN_DAY_LETTER:
        open_principal = sum(case["open_principal"] for case in cases)
        context["fourteen_day"] = fourteen_day_facts(draft.dated, open_principal, draft.client)
    return context


def fourteen_day_facts(posted_on: date, principal_cents: int, client: Client) -> dict:
    """The term and the exact costs a 14-day letter announces (art. 6:96 lid 6 BW).

    The costs are on the principal still open over all the letter's cases, added up before
    the BIK scale; VAT only when the client cannot deduct it, shown separately.
    """
    receipt, last_day = fourteen_day_term(posted_on)
    costs = statutory_collection_costs(principal_cents, vat=client.charges_vat_on_costs)
    before_vat = statutory_collection_costs(principal_cents)
    return {"posted_on": posted_on, "receipt": receipt, "last_day": last_day,
            "principal": principal_cents, "costs": costs, "costs_before_vat": before_vat,
            "vat": costs - before_vat}


def _case_facts(case: Case, balance: Balance, draft: Draft) -> dict:
    return {
        "reference": case.reference,
        "access_code": _access_code(case, draft.preview),
        "invoices": [
            {"number": invoice.number, "invoice_date": invoice.invoice_date,
             "due_date": invoice.due_date, "amount": invoice.amount_cents,
             "description": invoice.description or ""}
            for invoice in case.invoices
        ],
        "principal": balance.principal,
        "interest": balance.interest,
        "costs": balance.costs,
        "fees": balance.fees,
        "paid": balance.paid,
        "total": balance.total,
        "open_principal": balance.remaining.get(Bucket.PRINCIPAL, 0),
    }


def _access_code(case: Case, preview: bool) -> str:
    # A preview must not give an old case a new code: that would void the one it has.
    if preview and not case.access_code_nonce:
        return PREVIEW_CODE
    return access_codes.printable_code(case)


def _agency() -> dict:
    return {
        "name": current_app.config["AGENCY_NAME"],
        "address_lines": _lines(_config("AGENCY_ADDRESS")),
        "iban": format_iban(_config("AGENCY_IBAN")),
        "bic": _config("AGENCY_BIC"),
        "phone": _config("AGENCY_PHONE"),
        "email": _config("AGENCY_EMAIL"),
        "kvk": _config("AGENCY_KVK"),
    }


def _config(name: str, default=None):
    value = current_app.config.get(name)
    return value if value not in (None, "") else AGENCY_DEFAULTS.get(name, default)


def _lines(text: str | None) -> list[str]:
    """An address typed on one line ("street, 1234 AB City") or on several, as lines."""
    parts = (text or "").splitlines() if "\n" in (text or "") else (text or "").split(",")
    return [part.strip() for part in parts if part.strip()]


def format_iban(iban: str) -> str:
    """An IBAN in groups of four, as banks print it: NL00 BANK 0123 4567 89."""
    return templating.iban(iban)


def _debtor(debtor: Debtor, labels: dict, language: str) -> dict:
    contact = debtor.contact_person or None
    greeting = contact if contact and not debtor.is_consumer else debtor.name
    return {"name": debtor.name, "contact_person": contact, "greeting_name": greeting,
            "address_lines": address_block(debtor, labels, language),
            "is_consumer": debtor.is_consumer}


def address_block(debtor: Debtor, labels: dict, language: str) -> list[str]:
    """The lines in the envelope window, as PostNL asks: postcode, two spaces, CITY; the
    country in capitals on the last line for mail abroad."""
    lines = [debtor.name]
    if debtor.contact_person:
        lines.append(f"{labels['attention']} {debtor.contact_person}")
    if debtor.address_line:
        lines.append(debtor.address_line)
    abroad = (debtor.country or "NL").upper() != "NL"
    postcode = (debtor.postal_code or "").strip().upper()
    if not abroad and len(postcode.replace(" ", "")) == 6:
        postcode = f"{postcode.replace(' ', '')[:4]} {postcode.replace(' ', '')[4:]}"
    place = "  ".join(part for part in (postcode, (debtor.city or "").strip().upper()) if part)
    if place:
        lines.append(place)
    if abroad:
        country = debtor.country.upper()
        lines.append(Locale.parse(language).territories.get(country, country).upper())
    return lines


def _payment(agency: dict, cases: list[dict]) -> dict:
    several = len(cases) > 1
    return {"iban": agency["iban"], "bic": agency["bic"], "beneficiary": agency["name"],
            "reference": None if several else cases[0]["reference"],
            "references": [case["reference"] for case in cases], "several": several}


# -- The editable texts ------------------------------------------------------------------------


def template_source(
    key: str, channel: Channel | str, language: str, cache: dict | None = None
) -> tuple[str, str]:
    """(subject, body) of a text for the editor: the admin's version, else the shipped one.

    `cache` (a dict the caller scopes, e.g. to one delivery job) remembers texts already
    read; never a module-level one, which would miss an admin's edit.
    """
    if cache is None:
        return _template_source(key, Channel(channel), language)
    where = (key, Channel(channel), language)
    if where not in cache:
        cache[where] = _template_source(*where)
    return cache[where]


def _template_source(key: str, channel: Channel | str, language: str) -> tuple[str, str]:
    row = db.session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.key == key,
            MessageTemplate.channel == Channel(channel),
            MessageTemplate.language == language,
        )
    )
    if row is not None:
        return row.subject, row.body
    default = dunning_templates.read_default(key, str(Channel(channel)), language)
    if default is None:
        raise TemplateProblem(f"{key}.{channel}.{language}", "there is no such template")
    return default


def _render_texts(draft: Draft, context: dict, source: tuple[str, str] | None,
                  templates: dict | None = None) -> tuple[str, str]:
    """(subject, body) rendered for `draft`; `source` replaces the stored text (previews)."""
    subject_source, body_source = source or template_source(
        draft.template_key, draft.channel, draft.language, templates
    )
    where = f"{draft.template_key}.{draft.channel}.{draft.language}"
    # One line: a subject becomes a mail header, where a newline must never get through.
    subject = " ".join(render_text(subject_source, context, where=f"{where} subject").split())
    body = render_text(body_source, context, where=f"{where} body").strip()
    subject, body = tidy(subject), tidy(body)
    if draft.action is StepAction.FOURTEEN_DAY_LETTER:
        check_fourteen_day_text(body, context["fourteen_day"], where=f"{where} body")
    return subject, body


# -- Emails and letters ------------------------------------------------------------------------


def render_email(notice: Notice, *, templates: dict | None = None,
                 draft: Draft | None = None) -> RenderedEmail:
    """The notice as an email: subject, plain text, HTML and a Message-ID stable per notice.
    `templates`: a cache for template_source; `draft`: the notice's, when read with others'."""
    subject, text, html = _email_parts(draft or draft_for(notice), templates=templates)
    return RenderedEmail(subject=subject, text=text, html=html, message_id=message_id(notice))


def render_letter_html(notice: Notice, *, templates: dict | None = None,
                       draft: Draft | None = None) -> str:
    """The notice as the HTML of a printed letter (A4, the address in the envelope window)."""
    return _letter_html(draft or draft_for(notice), templates=templates)


def render_letter_pdf(notice: Notice, *, templates: dict | None = None,
                      draft: Draft | None = None) -> bytes:
    """The notice as a PDF letter. Old cases may get an access code here: commit afterwards."""
    return html_to_pdf(render_letter_html(notice, templates=templates, draft=draft))


def preview(
    template_key: str,
    channel: Channel | str,
    language: str,
    case: Case,
    *,
    action: StepAction | str,
    dated: date | None = None,
    subject: str | None = None,
    body: str | None = None,
) -> str:
    """The HTML a step would send for one real case, saving nothing.

    `subject`/`body` render a text being edited instead of the stored one. The access code
    (of a case without a nonce) and the sign-in link are placeholders.
    """
    draft = Draft(debtor=case.debtor, client=case.client, cases=(case,),
                  action=StepAction(action), channel=Channel(channel),
                  template_key=template_key, language=document_language(language),
                  dated=dated or agency_today(), preview=True)
    source = None
    if subject is not None or body is not None:
        stored = template_source(template_key, channel, draft.language)
        source = (stored[0] if subject is None else subject, stored[1] if body is None else body)
    with db.session.no_autoflush:
        if draft.channel is Channel.EMAIL:
            return _email_parts(draft, source)[2]
        return _letter_html(draft, source)


def _email_parts(draft: Draft, source: tuple[str, str] | None = None, *,
                 templates: dict | None = None) -> tuple[str, str, str]:
    with force_locale(DOCUMENT_LOCALES[draft.language]):
        context = context_for(draft)
        context["pay_link"] = _pay_link(draft)
        subject, body = _render_texts(draft, context, source, templates)
        page = {**context, "subject": subject, "body": body, "body_html": text_to_html(body),
                "labels": dunning_templates.labels(draft.language)}
        html = _layout("documents/email.html").render(page)
        text = _layout("documents/email.txt").render(page)
    return subject, text.strip() + "\n", html


def _letter_html(draft: Draft, source: tuple[str, str] | None = None, *,
                 templates: dict | None = None) -> str:
    with force_locale(DOCUMENT_LOCALES[draft.language]):
        context = context_for(draft)
        subject, body = _render_texts(draft, context, source, templates)
        page = {**context, "subject": subject, "body_html": text_to_html(body),
                "labels": dunning_templates.labels(draft.language)}
        return _layout("documents/letter.html").render(page)


@dataclass(frozen=True)
class InvoicePdf:
    filename: str  # as the debtor sees it attached: invoice-<number>.pdf
    data: bytes
    uploaded: bool  # the client's own PDF; else made from the claim data


def render_invoice_pdfs(draft: Draft, *, only: Invoice | None = None,
                        with_access_code: bool = True) -> list[InvoicePdf]:
    """The invoices of the draft's cases as PDFs (`only` that one), in the order of its
    invoice table: each the PDF its client handed over, else one made from the claim data
    (templates/documents/invoice.html). The "invoice" step sends these on the client's
    behalf. Without `with_access_code` a made one shows a placeholder for the debtor's code
    (for a client's download: the code is the debtor's key to the portal)."""
    made: list[InvoicePdf] = []
    context: dict | None = None
    for case in draft.cases:
        for invoice in case.invoices:
            if only is not None and invoice.id != only.id:
                continue
            filename = f"invoice-{safe_filename(invoice.number)}.pdf"
            if invoice.document_id is not None:
                document = db.session.get(Document, invoice.document_id)
                made.append(InvoicePdf(filename, read_document(document), uploaded=True))
                continue
            if context is None:
                context = context_for(draft)
                if not with_access_code:
                    context["cases"] = [{**row, "access_code": PREVIEW_CODE}
                                        for row in context["cases"]]
            made.append(InvoicePdf(filename, _invoice_pdf(draft, context, case, invoice),
                                   uploaded=False))
    return made


def _invoice_pdf(draft: Draft, context: dict, case: Case, invoice: Invoice) -> bytes:
    with force_locale(DOCUMENT_LOCALES[draft.language]):
        facts = next(row for row in context["cases"] if row["reference"] == case.reference)
        page = {**context, "case": facts, "labels": dunning_templates.labels(draft.language),
                "invoice": next(row for row in facts["invoices"]
                                if row["number"] == invoice.number)}
        return html_to_pdf(_layout("documents/invoice.html").render(page))


def _layout(name: str) -> Template:
    """A layout from templates/documents/: trusted, autoescaped, the app's filters."""
    return _layout_environment(current_app.jinja_env).get_template(name)


@lru_cache(maxsize=4)
def _layout_environment(app_environment: Environment) -> Environment:
    # The app's environment with the remembered money filter. An overlay shares its parent's
    # filters dict, so it gets a copy; and a cache of its own, so that no template compiled
    # for one environment is handed to the other.
    environment = app_environment.overlay(cache_size=64)
    environment.filters = {**app_environment.filters, "money": dunning_templates.money}
    return environment


def _pay_link(draft: Draft) -> str:
    """The signed sign-in link; it opens the debtor's session, which shows all their cases."""
    token = "preview" if draft.preview else debtor_access.link_token(draft.cases[0])
    return f"{public_url()}/pay/l/{token}"


def message_id(notice: Notice) -> str:
    """`<notice-<id>.<digest of key>@<public host>>`: the same for every send of a notice."""
    digest = hashlib.sha256(notice.key.encode()).hexdigest()[:16]
    return f"<notice-{notice.id}.{digest}@{urlsplit(public_url()).hostname or 'localhost'}>"


def agency_today() -> date:
    """Today where the agency works: a letter is dated in the agency's calendar."""
    return datetime.now(ZoneInfo(current_app.config["AGENCY_TIMEZONE"])).date()
