"""Handing over claims in a file: the known fields, guessing a column mapping from the headers,
and checking one row into clean values or a list of problems per field.

Problems are codes (see PROBLEMS); the pages put them in plain words in the reader's language.
No Flask, no database; not in portal.domain only because it leans on phonenumbers and
email_validator (the domain imports the standard library alone).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from portal.domain.payment_amounts import parse_euros

# The fields of a claim, in the order the mapping step shows them.
FIELDS = (
    "debtor_name", "debtor_kind", "email", "phone", "address_line", "postal_code", "city",
    "country", "language", "invoice_number", "invoice_date", "due_date", "amount", "currency",
    "description",
)
REQUIRED = frozenset({"debtor_name", "invoice_number", "invoice_date", "due_date", "amount"})

# Header names people use, Dutch and English, compared after simplify().
HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "debtor_name": ("debtor", "debtor name", "name", "customer", "customer name", "debiteur",
                    "naam", "naam debiteur", "debiteurnaam", "klant", "klantnaam", "relatie"),
    "debtor_kind": ("kind", "type", "debtor type", "person or business", "soort",
                    "particulier of zakelijk", "type debiteur", "klanttype"),
    "email": ("email", "e mail", "email address", "e mailadres", "emailadres", "mail"),
    "phone": ("phone", "phone number", "telephone", "mobile", "telefoon", "telefoonnummer",
              "tel", "mobiel", "gsm"),
    "address_line": ("address", "street", "address line", "adres", "straat",
                     "straat en huisnummer"),
    "postal_code": ("postal code", "postcode", "zip", "zip code", "post code"),
    "city": ("city", "town", "plaats", "woonplaats", "stad"),
    "country": ("country", "land", "country code", "landcode"),
    "language": ("language", "taal", "lang"),
    "invoice_number": ("invoice", "invoice number", "invoice no", "invoice nr", "factuur",
                       "factuurnummer", "factuur nr", "factuurnr"),
    "invoice_date": ("invoice date", "date", "factuurdatum", "datum"),
    "due_date": ("due date", "due", "payment due", "vervaldatum", "vervaldag",
                 "uiterste betaaldatum"),
    "amount": ("amount", "total", "amount due", "bedrag", "openstaand", "openstaand bedrag",
               "totaal", "saldo"),
    "currency": ("currency", "valuta", "munt"),
    "description": ("description", "omschrijving", "notes", "remark", "opmerking", "toelichting"),
}

PERSON_WORDS = frozenset({"particulier", "persoon", "person", "consumer", "consument",
                          "private", "prive", "p"})
BUSINESS_WORDS = frozenset({"bedrijf", "zakelijk", "business", "company", "b2b", "onderneming",
                            "organisation", "organization", "b"})
LANGUAGES = frozenset({"nl", "en"})
LANGUAGE_WORDS = {"nederlands": "nl", "dutch": "nl", "engels": "en", "english": "en"}
CURRENCIES = frozenset({"EUR"})
MAX_LENGTH = {"debtor_name": 200, "address_line": 200, "postal_code": 20, "city": 100,
              "invoice_number": 64, "description": 500}

# Problem codes; the pages word them (portal/client/imports.py).
PROBLEMS = ("missing", "too_long", "bad_email", "bad_phone", "bad_amount", "not_positive",
            "bad_date", "due_before_invoice", "bad_country", "bad_language", "bad_kind",
            "bad_currency", "duplicate_in_file")


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """One checked row: a debtor and one invoice, normalised."""

    debtor_name: str
    debtor_kind: str  # "person" or "business"
    email: str | None
    phone: str | None  # E.164
    address_line: str | None
    postal_code: str | None
    city: str | None
    country: str
    language: str
    invoice_number: str
    invoice_date: date
    due_date: date
    amount_cents: int
    currency: str
    description: str | None

    @property
    def debtor_key(self) -> tuple[str, str]:
        """Rows with the same name and email are one debtor (within one file)."""
        return (" ".join(self.debtor_name.casefold().split()), (self.email or "").casefold())


def simplify(header: str) -> str:
    """'E-mailadres ' -> 'e mailadres': lower case, no accents, punctuation as spaces."""
    plain = unicodedata.normalize("NFKD", header or "").encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.lower()).split())


def guess_mapping(headers: list[str]) -> dict[str, int]:
    """Field -> column index, for the headers that name a known field; each column used once."""
    mapping: dict[str, int] = {}
    taken: set[int] = set()
    simple = [simplify(h) for h in headers]
    for field in FIELDS:
        names = {simplify(n) for n in HEADER_NAMES[field]} | {simplify(field)}
        for index, header in enumerate(simple):
            if index not in taken and header in names:
                mapping[field] = index
                taken.add(index)
                break
    return mapping


def apply_mapping(mapping: dict[str, int], cells: list) -> dict[str, str]:
    """The row's raw text per field (missing cells are empty)."""
    return {field: _text(cells[i]) if i < len(cells) else "" for field, i in mapping.items()}


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def check_row(raw: dict[str, str]) -> tuple[ClaimRow | None, list[tuple[str, str]]]:
    """Check and normalise one row: (the clean row, []) or (None, [(field, problem code)])."""
    problems: list[tuple[str, str]] = []
    values: dict[str, object] = {}
    for field in FIELDS:
        text = (raw.get(field) or "").strip()
        if not text:
            if field in REQUIRED:
                problems.append((field, "missing"))
            values[field] = None
            continue
        if len(text) > MAX_LENGTH.get(field, 1000):
            problems.append((field, "too_long"))
            continue
        try:
            values[field] = _CHECKS.get(field, _keep)(text, raw)
        except _Problem as problem:
            problems.append((field, problem.code))
    if not problems and values["due_date"] < values["invoice_date"]:  # type: ignore[operator]
        problems.append(("due_date", "due_before_invoice"))
    if problems:
        return None, problems
    return ClaimRow(
        debtor_name=values["debtor_name"], debtor_kind=values["debtor_kind"] or "person",
        email=values["email"], phone=values["phone"], address_line=values["address_line"],
        postal_code=values["postal_code"], city=values["city"],
        country=values["country"] or "NL", language=values["language"] or "nl",
        invoice_number=values["invoice_number"], invoice_date=values["invoice_date"],
        due_date=values["due_date"], amount_cents=values["amount"],
        currency=values["currency"] or "EUR", description=values["description"],
    ), []  # type: ignore[arg-type]


class _Problem(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _keep(text: str, raw: dict[str, str]) -> str:
    return " ".join(text.split())


def _email(text: str, raw: dict[str, str]) -> str:
    return _normal_email(text)


@lru_cache(maxsize=4096)
def _normal_email(text: str) -> str:
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise _Problem("bad_email") from None


def _phone(text: str, raw: dict[str, str]) -> str:
    try:
        region = _country(raw.get("country") or "NL", raw)
    except _Problem:
        region = "NL"
    return _normal_phone(text, region)


@lru_cache(maxsize=4096)  # a debtor's number repeats on each of their invoices
def _normal_phone(text: str, region: str) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise _Problem("bad_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise _Problem("bad_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _amount(text: str, raw: dict[str, str]) -> int:
    try:
        cents = parse_euros(text)
    except ValueError:
        raise _Problem("bad_amount") from None
    if cents <= 0:
        raise _Problem("not_positive")
    return cents


_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})")


def parse_date(text: str) -> date:
    """ISO (2026-03-02), 02-03-2026, 02/03/2026 or 02.03.2026; ValueError otherwise.

    (Regular expressions rather than strptime: a 100k-row file has 200k dates.)"""
    clean = text.strip().split(" ")[0].split("T")[0]  # a spreadsheet's "2026-03-02 00:00:00"
    if match := _ISO_DATE.fullmatch(clean):
        year, month, day = match.groups()
    elif match := _DAY_FIRST.fullmatch(clean):
        day, _sep, month, year = match.groups()
    else:
        raise ValueError(f"{text!r} is not a date")
    return date(int(year), int(month), int(day))  # ValueError for 31-02


def _date(text: str, raw: dict[str, str]) -> date:
    try:
        return parse_date(text)
    except ValueError:
        raise _Problem("bad_date") from None


def _country(text: str, raw: dict[str, str]) -> str:
    code = text.strip().upper()
    if code in {"NEDERLAND", "HOLLAND", "THE NETHERLANDS", "NETHERLANDS"}:
        return "NL"
    if len(code) != 2 or code not in phonenumbers.SUPPORTED_REGIONS:
        raise _Problem("bad_country")
    return code


def _language(text: str, raw: dict[str, str]) -> str:
    word = text.strip().lower()
    word = LANGUAGE_WORDS.get(word, word)
    if word not in LANGUAGES:
        raise _Problem("bad_language")
    return word


def _kind(text: str, raw: dict[str, str]) -> str:
    word = simplify(text)
    if word in PERSON_WORDS:
        return "person"
    if word in BUSINESS_WORDS:
        return "business"
    raise _Problem("bad_kind")


def _currency(text: str, raw: dict[str, str]) -> str:
    code = text.strip().upper().replace("€", "EUR")
    if code not in CURRENCIES:
        raise _Problem("bad_currency")
    return code


_CHECKS = {
    "debtor_name": _keep, "email": _email, "phone": _phone, "amount": _amount,
    "invoice_date": _date, "due_date": _date, "country": _country, "language": _language,
    "debtor_kind": _kind, "currency": _currency,
    "invoice_number": lambda text, raw: text.strip(),
}
