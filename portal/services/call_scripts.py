"""The caller's short script per task reason and language: an admin's text, else a default.

The caller screen reads `script_for(reason, language)`; the admin page edits with `save`.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import CallScript, TaskReason, User
from portal.services import audit

LANGUAGES = ("nl", "en")
FALLBACK_LANGUAGE = "en"

# The client's name ends no sentence: names like "Kookhuis Online B.V." bring their own dot.
_OPENING_EN = ("Good morning/afternoon, am I speaking with {debtor}? This is {caller} of the "
               "collection agency; I am calling on behalf of {client} about an open invoice. ")
_OPENING_NL = ("Goedemorgen/middag, spreek ik met {debtor}? U spreekt met {caller} van het "
               "incassobureau; ik bel namens {client} over een openstaande factuur. ")
_ASK_EN = "Ask why the invoice has not been paid and note the reason."
_ASK_NL = "Vraag waarom de factuur niet is betaald en noteer de reden."

DEFAULT_SCRIPTS: dict[tuple[TaskReason, str], str] = {
    (TaskReason.WORKFLOW_CALL, "en"): _OPENING_EN + "We wrote to you about the open amount. "
    + _ASK_EN + " Offer to settle today, a promise to pay by a date, or a payment plan.",
    (TaskReason.WORKFLOW_CALL, "nl"): _OPENING_NL + "Wij hebben u geschreven over het open "
    "bedrag. " + _ASK_NL + " Bied aan om vandaag te betalen, een betaalbelofte met datum of "
    "een betalingsregeling.",
    (TaskReason.PROMISE_DUE, "en"): _OPENING_EN + "You promised to pay today. Check whether the "
    "payment is on its way and when it will arrive.",
    (TaskReason.PROMISE_DUE, "nl"): _OPENING_NL + "U heeft toegezegd vandaag te betalen. Vraag "
    "of de betaling onderweg is en wanneer die binnenkomt.",
    (TaskReason.PROMISE_BROKEN, "en"): _OPENING_EN + "We did not receive the payment you "
    "promised. " + _ASK_EN + " Agree a new date only if it is realistic.",
    (TaskReason.PROMISE_BROKEN, "nl"): _OPENING_NL + "De toegezegde betaling is niet "
    "binnengekomen. " + _ASK_NL + " Spreek alleen een nieuwe datum af als die haalbaar is.",
    (TaskReason.MISSED_INSTALMENT, "en"): _OPENING_EN + "An instalment of your payment plan was "
    "missed. Ask what happened and when it will be paid, so the plan can continue.",
    (TaskReason.MISSED_INSTALMENT, "nl"): _OPENING_NL + "Een termijn van uw betalingsregeling "
    "is niet betaald. Vraag wat er gebeurde en wanneer die betaald wordt, zodat de regeling "
    "door kan lopen.",
    (TaskReason.CALLBACK, "en"): _OPENING_EN + "You asked us to call you back at this time. "
    "Pick up where the last conversation ended (see the timeline).",
    (TaskReason.CALLBACK, "nl"): _OPENING_NL + "U vroeg ons u op dit moment terug te bellen. "
    "Ga verder waar het vorige gesprek eindigde (zie de tijdlijn).",
    (TaskReason.NEW_CASE, "en"): _OPENING_EN + "We have received an unpaid invoice from "
    "{client} and would like to find a solution with you. " + _ASK_EN,
    (TaskReason.NEW_CASE, "nl"): _OPENING_NL + "Wij hebben een onbetaalde factuur van {client} "
    "ontvangen en zoeken graag samen met u een oplossing. " + _ASK_NL,
    (TaskReason.MANUAL, "en"): _OPENING_EN + "Read the supervisor's note on the task first. "
    + _ASK_EN,
    (TaskReason.MANUAL, "nl"): _OPENING_NL + "Lees eerst de notitie van de supervisor bij de "
    "taak. " + _ASK_NL,
}


def default_script(reason: TaskReason, language: str) -> str:
    """The shipped text (English when there is none in `language`)."""
    return DEFAULT_SCRIPTS.get((reason, language)) or DEFAULT_SCRIPTS[(reason, FALLBACK_LANGUAGE)]


def stored_scripts() -> dict[tuple[TaskReason, str], CallScript]:
    """Every script an admin saved, by (reason, language), in one query."""
    rows = db.session.scalars(select(CallScript))
    return {(TaskReason(row.reason), row.language): row for row in rows}


class _KeepUnknown(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


PLACEHOLDERS = ("caller", "client", "debtor")


def script_for(reason: TaskReason | str, language: str, **names: str) -> str:
    """The script a caller reads: the saved text, else the default. The placeholders {caller},
    {client} and {debtor} are filled from `names`; any other braces stay as they are."""
    reason = TaskReason(reason)
    language = language if language in LANGUAGES else FALLBACK_LANGUAGE
    stored = db.session.scalar(
        select(CallScript.body).where(CallScript.reason == reason,
                                      CallScript.language == language))
    text = stored if stored else default_script(reason, language)
    try:
        return text.format_map(_KeepUnknown(names))
    except (ValueError, IndexError):  # an admin's text with a stray brace: show it unfilled
        return text


def save(reason: TaskReason, language: str, body: str, *, user: User | None = None) -> None:
    """Store an admin's text (flushes); an empty text or the default removes the stored one."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    body = body.strip().replace("\r\n", "\n")
    row = db.session.scalar(
        select(CallScript).where(CallScript.reason == reason, CallScript.language == language))
    if not body or body == default_script(reason, language):
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(CallScript(reason=reason, language=language, body=body,
                                  updated_by_id=user.id if user else None))
    else:
        row.body = body
        row.updated_by_id = user.id if user else None
    audit.record("call_script.changed", f"Call script {reason} ({language}) changed",
                 user=user, client_visible=False, reason=str(reason), language=language)
    db.session.flush()
