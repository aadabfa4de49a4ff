"""Reading a claim sent to the API: one debtor and one or more invoices, checked by the same
rules as an uploaded file (portal.services.claims_rows), with field names of the JSON body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.services.claims_rows import ClaimRow, check_row

MAX_INVOICES = 500
# The upload's field -> where it sits in the JSON body.
DEBTOR_FIELDS = {"debtor_name": "name", "debtor_kind": "kind", "email": "email",
                 "phone": "phone", "address_line": "address_line", "postal_code": "postal_code",
                 "city": "city", "country": "country", "language": "language"}
INVOICE_FIELDS = {"invoice_number": "number", "invoice_date": "invoice_date",
                  "due_date": "due_date", "amount": "amount_cents", "currency": "currency",
                  "description": "description"}
MESSAGES = {
    "missing": "This is required.",
    "too_long": "This is too long.",
    "bad_email": "This is not an email address.",
    "bad_phone": "This is not a phone number we can call.",
    "bad_amount": "Give the amount in cents, as a whole number.",
    "not_positive": "The amount must be above zero.",
    "bad_date": "Give a date as YYYY-MM-DD.",
    "due_before_invoice": "The due date is before the invoice date.",
    "bad_country": "Give a two-letter country code (NL, BE, DE, ...).",
    "bad_language": "The language must be nl or en.",
    "bad_kind": "The kind must be person or business.",
    "bad_currency": "Only EUR is accepted.",
    "duplicate_in_file": "This invoice number is in the request twice.",
    "not_text": "This must be a string.",
    "not_object": "This must be an object.",
    "not_list": "This must be a list of one or more invoices.",
}


@dataclass(frozen=True)
class Claim:
    rows: list[ClaimRow]  # one per invoice; the debtor fields are the same on each

    @property
    def debtor(self) -> ClaimRow:
        return self.rows[0]


def read_claim(body: Any) -> tuple[Claim | None, dict[str, str]]:
    """The checked claim, or None and {field path: message} ("invoices[1].due_date")."""
    errors: dict[str, str] = {}
    if not isinstance(body, dict):
        return None, {"": MESSAGES["not_object"]}
    debtor = body.get("debtor")
    invoices = body.get("invoices")
    if not isinstance(debtor, dict):
        errors["debtor"] = MESSAGES["not_object"]
    if not isinstance(invoices, list) or not invoices or len(invoices) > MAX_INVOICES:
        errors["invoices"] = MESSAGES["not_list"]
    if errors:
        return None, errors
    raw_debtor = _raw(debtor, DEBTOR_FIELDS, "debtor", errors)
    rows: list[ClaimRow] = []
    seen: set[str] = set()
    for index, invoice in enumerate(invoices):
        where = f"invoices[{index}]"
        if not isinstance(invoice, dict):
            errors[where] = MESSAGES["not_object"]
            continue
        raw = {**raw_debtor, **_raw(invoice, INVOICE_FIELDS, where, errors)}
        row, problems = check_row(raw)
        for field, code in problems:
            prefix, names = ("debtor", DEBTOR_FIELDS) if field in DEBTOR_FIELDS else (
                where, INVOICE_FIELDS)
            errors.setdefault(f"{prefix}.{names[field]}", MESSAGES.get(code, code))
        if row is not None:
            if row.invoice_number in seen:
                errors[f"{where}.number"] = MESSAGES["duplicate_in_file"]
            seen.add(row.invoice_number)
            rows.append(row)
    if errors:
        return None, errors
    return Claim(rows), {}


def _raw(data: dict, names: dict[str, str], where: str, errors: dict[str, str]) -> dict[str, str]:
    """The upload's raw text per field from a JSON object (amounts come as integer cents)."""
    raw: dict[str, str] = {}
    for field, key in names.items():
        value = data.get(key)
        if value is None:
            continue
        if key == "amount_cents":
            if isinstance(value, bool) or not isinstance(value, int):
                errors[f"{where}.{key}"] = MESSAGES["bad_amount"]
                continue
            value = f"{value // 100}.{value % 100:02d}" if value > 0 else "0"
        elif not isinstance(value, str):
            errors[f"{where}.{key}"] = MESSAGES["not_text"]
            continue
        raw[field] = value
    return raw
