"""Debtor sign-in: case reference + access code, or a signed link; five misses lock 15 minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from portal.domain.references import case_reference as format_reference
from portal.domain.references import normalise_access_code, parse_case_reference
from portal.extensions import db
from portal.links import public_link
from portal.models import Case, utcnow
from portal.services import access_codes, audit


@dataclass(frozen=True)
class SignInResult:
    case: Case | None = None
    locked: bool = False

    @property
    def ok(self) -> bool:
        return self.case is not None


def find_case(reference_text: str) -> Case | None:
    parsed = parse_case_reference(reference_text)
    if parsed is None:
        return None
    return db.session.scalar(select(Case).where(Case.reference == format_reference(*parsed)))


def sign_in(reference_text: str, code_text: str) -> SignInResult:
    """Check a reference and code. A locked reference refuses even the right code."""
    case = find_case(reference_text)
    if case is None:
        return SignInResult()
    now = utcnow()
    if case.locked_until is not None and case.locked_until > now:
        # Still recorded: someone trying during a lock is worth a look.
        audit.record("debtor.refused_locked", "Sign-in refused: the reference is locked",
                     case=case, client_visible=False)
        return SignInResult(locked=True)
    code = normalise_access_code(code_text)
    if access_codes.matches(case.access_code_hash, case.reference, code):
        case.failed_code_attempts = 0
        case.locked_until = None
        audit.record("debtor.signed_in", "Debtor signed in with the access code", case=case,
                     debtor_id=case.debtor_id, client_visible=False)
        return SignInResult(case=case)
    return SignInResult(locked=_count_failure(case, now))


def _count_failure(case: Case, now: datetime) -> bool:
    """Count a wrong code; the last allowed miss locks the reference (True when it did)."""
    config = current_app.config
    case.failed_code_attempts += 1
    audit.record("debtor.wrong_code", "Wrong access code entered", case=case,
                 client_visible=False, attempt=case.failed_code_attempts)
    if case.failed_code_attempts < config["DEBTOR_MAX_FAILED_CODES"]:
        return False
    case.failed_code_attempts = 0
    case.locked_until = now + timedelta(minutes=config["DEBTOR_LOCK_MINUTES"])
    audit.record("debtor.locked", "Access locked after repeated wrong codes", case=case,
                 client_visible=False)
    return True


def _link_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="debtor-link")


def link_token(case: Case) -> str:
    """A token for the link in an email; it expires after DEBTOR_LINK_MAX_AGE seconds."""
    return _link_serializer().dumps({"case": case.id, "debtor": case.debtor_id})


def sign_in_link(case: Case) -> str:
    """The absolute signed link for an email: it opens the debtor's session on /pay."""
    return public_link("debtor.link", token=link_token(case))


def case_for_link(token: str) -> Case | None:
    try:
        data = _link_serializer().loads(token, max_age=current_app.config["DEBTOR_LINK_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    case = db.session.get(Case, data.get("case"))
    if case is None or case.debtor_id != data.get("debtor"):
        return None
    return case
