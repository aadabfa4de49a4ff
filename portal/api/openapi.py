"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from portal.api.claims import MAX_INVOICES
from portal.services.invoice_files import MAX_BYTES as PDF_MAX_BYTES

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> Schema:
    return _json(_ref("Problem"), description)


DATE = {"type": "string", "format": "date", "examples": ["2026-03-02"]}
CENTS = {"type": "integer", "description": "An amount in euro cents."}
BUCKETS = {"type": "object", "properties": {b: CENTS for b in
                                            ("principal", "interest", "costs", "fees")}}

SCHEMAS: dict[str, Schema] = {
    "Problem": {
        "type": "object", "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "A stable code: unauthorized, "
                      "not_found, validation_failed, already_handed_over, "
                      "idempotency_key_reused, unsupported_media_type, case_closed, "
                      "pdf_rejected, too_large, rate_limited."},
            "message": {"type": "string", "description": "The problem in plain words."},
            "fields": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "Per field path (debtor.email, invoices[0].due_date): "
                                      "what is wrong with it."},
            "invoices": {"type": "array", "items": {"type": "string"},
                         "description": "The invoice numbers handed over before (409)."},
        },
    },
    "Debtor": {
        "type": "object", "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "kind": {"type": "string", "enum": ["person", "business"], "default": "person"},
            "email": {"type": "string", "format": "email"},
            "phone": {"type": "string", "description": "Any format; stored as E.164."},
            "address_line": {"type": "string", "maxLength": 200},
            "postal_code": {"type": "string", "maxLength": 20},
            "city": {"type": "string", "maxLength": 100},
            "country": {"type": "string", "minLength": 2, "maxLength": 2, "default": "NL"},
            "language": {"type": "string", "enum": ["nl", "en"], "default": "nl"},
        },
    },
    "Invoice": {
        "type": "object", "required": ["number", "invoice_date", "due_date", "amount_cents"],
        "properties": {
            "number": {"type": "string", "maxLength": 64,
                       "description": "Unique per client: an invoice is handed over once."},
            "invoice_date": DATE, "due_date": DATE,
            "amount_cents": {**CENTS, "minimum": 1},
            "currency": {"type": "string", "enum": ["EUR"], "default": "EUR"},
            "description": {"type": ["string", "null"], "maxLength": 500},
        },
    },
    "CaseInvoice": {"allOf": [_ref("Invoice"), {"type": "object", "properties": {
        "has_pdf": {"type": "boolean", "description": "Whether you put your own PDF of this "
                    "invoice; the invoice step sends it, else one made from these fields."},
    }}]},
    "InvoicePdf": {
        "type": "object",
        "properties": {
            "invoice": {"type": "string", "description": "The invoice number."},
            "document_id": {"type": "integer", "description": "The stored PDF."},
            "sha256": {"type": "string", "description": "Hex SHA-256 of the bytes kept: "
                       "compare it with your file's."},
            "size": {"type": "integer", "description": "Bytes."},
            "replaced": {"type": "boolean", "description": "An earlier PDF of yours was "
                         "replaced (it stays on record for what was sent with it)."},
        },
    },
    "ClaimRequest": {
        "type": "object", "required": ["debtor", "invoices"],
        "properties": {"debtor": _ref("Debtor"),
                       "invoices": {"type": "array", "minItems": 1, "maxItems": MAX_INVOICES,
                                    "items": _ref("Invoice")}},
    },
    "Case": {
        "type": "object",
        "properties": {
            "reference": {"type": "string", "examples": ["K-2026-000123"]},
            "status": {"type": "string", "enum": ["new", "active", "promised", "arrangement",
                                                  "disputed", "on_hold", "legal", "paid",
                                                  "closed", "withdrawn"]},
            "opened_on": DATE, "closed_on": {**DATE, "type": ["string", "null"]},
            "debtor": {"type": "object", "properties": {"name": {"type": "string"},
                                                        "kind": {"type": "string"}}},
            "balance": {"type": "object", "properties": {
                "charged": BUCKETS, "outstanding": BUCKETS,
                "outstanding_total": CENTS, "paid": CENTS}},
            "invoices": {"type": "array", "items": _ref("CaseInvoice")},
            "last_action": {"type": ["object", "null"], "properties": {
                "at": {"type": "string", "format": "date-time"},
                "action": {"type": "string"}, "summary": {"type": "string"}}},
        },
    },
    "Payment": {
        "type": "object",
        "properties": {"id": {"type": "string", "examples": ["payment:17"]},
                       "case_reference": {"type": "string"}, "amount_cents": CENTS,
                       "booked_on": DATE},
    },
    "PaymentPage": {
        "type": "object",
        "properties": {"payments": {"type": "array", "items": _ref("Payment")},
                       "next": {"type": ["string", "null"],
                                "description": "Pass as `cursor` for the next page; null at "
                                               "the end."}},
    },
    "WebhookEvent": {
        "type": "object", "required": ["event", "case_reference"],
        "properties": {
            "event": {"type": "string", "enum": ["payment.received", "case.status_changed"]},
            "case_reference": {"type": "string"},
            "amount_cents": {**CENTS, "description": "payment.received: the amount paid."},
            "booked_on": {**DATE, "description": "payment.received: the day it was booked."},
            "payment_id": {"type": "integer", "description": "payment.received"},
            "old_status": {"type": "string", "description": "case.status_changed"},
            "status": {"type": "string", "description": "case.status_changed"},
            "on": {**DATE, "description": "case.status_changed: the day of the change."},
        },
    },
}

UNAUTHORIZED = _problem("No token, an unknown one, or a revoked one.")
RATE_LIMITED = _problem("Too many requests with this token (API_RATE_LIMIT).")

PATHS: dict[str, Schema] = {
    "/claims": {"post": {
        "operationId": "createClaim",
        "summary": "Hand over one debtor's unpaid invoices; opens one case.",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                        "description": "Send the same key when you retry: the same body gets "
                                       "the first answer again; another body gets 422."}],
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": _ref("ClaimRequest")}}},
        "responses": {
            "201": _json(_ref("Case"), "The case opened."),
            "401": UNAUTHORIZED,
            "409": _problem("Invoice numbers handed over before; nothing was created."),
            "422": _problem("Validation problems per field, or an Idempotency-Key reused "
                            "with another body; nothing was created."),
            "429": RATE_LIMITED,
        },
    }},
    "/cases/{reference}": {"get": {
        "operationId": "getCase",
        "summary": "A case's status, money per bucket, invoices and last action.",
        "parameters": [{"name": "reference", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": _json(_ref("Case"), "The case."), "401": UNAUTHORIZED,
                      "404": _problem("No such case, or another client's."),
                      "429": RATE_LIMITED},
    }},
    "/cases/{reference}/invoices/{number}/pdf": {"put": {
        "operationId": "putInvoicePdf",
        "summary": "Your own PDF of an invoice; the invoice step sends it from now on.",
        "description": "The body is the PDF itself (not a form). A new PDF replaces the old "
                       "one for what is sent next. The bytes must be a PDF that opens, of "
                       f"at most {PDF_MAX_BYTES // (1024 * 1024)} MB; the case must be open.",
        "parameters": [{"name": "reference", "in": "path", "required": True,
                        "schema": {"type": "string"}},
                       {"name": "number", "in": "path", "required": True,
                        "schema": {"type": "string"},
                        "description": "The invoice number, URL-encoded (a / as %2F)."}],
        "requestBody": {"required": True, "content": {"application/pdf": {
            "schema": {"type": "string", "contentMediaType": "application/pdf"}}}},
        "responses": {
            "200": _json(_ref("InvoicePdf"), "Kept; it replaced your earlier PDF."),
            "201": _json(_ref("InvoicePdf"), "Kept; the invoice's first PDF of yours."),
            "401": UNAUTHORIZED,
            "404": _problem("No such case or invoice number, or another client's."),
            "409": _problem("The case is closed."),
            "413": _problem("The body is larger than the server accepts."),
            "415": _problem("The Content-Type is not application/pdf."),
            "422": _problem("Empty, too large, not a PDF, or a PDF that cannot be read; "
                            "nothing was kept."),
            "429": RATE_LIMITED,
        },
    }},
    "/payments": {"get": {
        "operationId": "listPayments",
        "summary": "Payments booked on your cases since a day, oldest first.",
        "parameters": [
            {"name": "since", "in": "query", "required": True, "schema": DATE},
            {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}},
        ],
        "responses": {"200": _json(_ref("PaymentPage"), "One page of payments."),
                      "401": UNAUTHORIZED, "422": _problem("A bad date, cursor or limit."),
                      "429": RATE_LIMITED},
    }},
    "/openapi.json": {"get": {
        "operationId": "getOpenApi", "summary": "This document.", "security": [],
        "responses": {"200": {"description": "The OpenAPI document.",
                              "content": {"application/json": {}}}},
    }},
}

WEBHOOK_DESCRIPTION = (
    "POSTed as JSON to each webhook endpoint you add on the API page of the client portal. "
    "Headers: X-Portal-Event (the event), X-Portal-Delivery (an id, the same on retries), "
    "X-Portal-Signature: sha256=<hex HMAC-SHA256 of the raw body with your endpoint secret>. "
    "Answer 2xx within 10 seconds; anything else is retried after 1 min, 5 min, 30 min, 2 h "
    "and 12 h, then given up."
)


def document(server: str = "/api/v1") -> Schema:
    """The whole OpenAPI document; `server` is the API's base URL."""
    hook = {"post": {"summary": "An event on one of your cases.",
                     "description": WEBHOOK_DESCRIPTION,
                     "requestBody": {"content": {"application/json": {
                         "schema": _ref("WebhookEvent")}}},
                     "responses": {"200": {"description": "Received."}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Incasso Portal API", "version": "1.0.0",
                 "description": "Hand over claims, follow cases and receive payments from "
                                "your accounting system. Amounts are integer euro cents; "
                                "dates are YYYY-MM-DD. Create a token under API in the "
                                "client portal."},
        "servers": [{"url": server}],
        "security": [{"bearerAuth": []}],
        "paths": PATHS,
        "webhooks": {"paymentReceived": hook, "caseStatusChanged": hook},
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "A client API token (ip_...)."}},
            "schemas": SCHEMAS,
        },
    }
