"""The provider side of payments: the webhook and the sandbox's own checkout page.

Neither is a debtor page: the provider calls the webhook, and the sandbox checkout stands in
for a provider's site (anyone holding the unguessable ref may open it, as with Mollie).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request
from flask_babel import lazy_gettext as _l

from portal.extensions import csrf, db
from portal.models import PaymentStatus
from portal.payments import PROVIDER_NAMES, ProviderError, sandbox
from portal.services import payments as payments_service
from portal.services.notices import agency_today

bp = Blueprint("payments", __name__)
log = logging.getLogger(__name__)

# What a debtor reads about a payment: plain words, no provider jargon.
DEBTOR_LABELS = {
    "open": _l("Waiting for you to finish paying"),
    "pending": _l("Waiting for your bank"),
    "paid": _l("Paid. Thank you!"),
    "failed": _l("The payment did not go through"),
    "canceled": _l("You cancelled the payment"),
    "expired": _l("The payment expired before it was finished"),
}
STAFF_LABELS = {
    "open": _l("Not finished yet"),
    "pending": _l("Pending"),
    "paid": _l("Paid"),
    "failed": _l("Failed"),
    "canceled": _l("Cancelled"),
    "expired": _l("Expired"),
}


@bp.app_template_global()
def payment_status_label(status: object, audience: str = "debtor") -> str:
    labels = DEBTOR_LABELS if audience == "debtor" else STAFF_LABELS
    return str(labels.get(str(status), status))


@bp.post("/webhook/<provider>")
@csrf.exempt
def webhook(provider: str):
    """The provider says "payment <id> changed"; we ask the provider what it changed to.

    An id we do not know answers 200 with nothing done (a prober learns nothing). When the
    provider cannot be reached we answer 503, so it tries again later.
    """
    if provider not in PROVIDER_NAMES:
        abort(404)
    ref = request.form.get("id", "").strip()
    if not ref:
        return "", 200
    try:
        payments_service.sync_payment(provider, ref, today=agency_today())
    except ProviderError:
        log.exception("webhook %s: could not fetch %s", provider, ref)
        db.session.rollback()
        return "", 503
    db.session.commit()
    return "", 200


def _sandbox_record(ref: str) -> dict:
    if current_app.config["PAYMENT_PROVIDER"] != "sandbox":
        abort(404)  # with a real provider configured, nobody approves sandbox payments
    try:
        return sandbox.load(ref)
    except ProviderError:
        abort(404)


@bp.get("/sandbox/<ref>")
def sandbox_checkout(ref: str):
    record = _sandbox_record(ref)
    return render_template("payments/sandbox.html", record=record, back=_return_path(record),
                           is_open=record["status"] == PaymentStatus.OPEN)


@bp.post("/sandbox/<ref>")
def sandbox_choose(ref: str):
    """Record the payer's choice, then tell our side as a provider would: through the same
    sync the webhook runs (which reads the choice back from the sandbox, not from this form)."""
    record = _sandbox_record(ref)
    sandbox.choose(ref, request.form.get("choice", ""))
    payments_service.sync_payment("sandbox", ref, today=agency_today())
    db.session.commit()
    return redirect(_return_path(record), 303)


def _return_path(record: dict) -> str:
    # The sandbox lives on our own site: back to the return page on whatever host this is.
    back = urlsplit(record["redirect_url"])
    return back.path + (f"?{back.query}" if back.query else "")
