from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from portal.debtor import bp, disputes, load_case
from portal.debtor.forms import SignInForm
from portal.extensions import db, limiter
from portal.models import Case
from portal.services import arrangements, correspondence, debtor_access, ledger
from portal.services.payments import for_case as payments_for_case


def _debtor_limit() -> str:
    return current_app.config["DEBTOR_RATE_LIMIT"]


def _start_session(case: Case) -> None:
    """A fresh session bound to this debtor; the chosen language survives."""
    language = session.get("lang")
    session.clear()
    session["debtor_id"] = case.debtor_id
    if language:
        session["lang"] = language


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(_debtor_limit, methods=["POST"])
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        result = debtor_access.sign_in(form.reference.data, form.code.data)
        db.session.commit()
        if result.ok:
            _start_session(result.case)
            return redirect(url_for("debtor.overview"))
        if result.locked:
            message = _("Too many wrong codes. For your safety this reference is locked for "
                        "%(minutes)s minutes. Please try again later, or call us.",
                        minutes=current_app.config["DEBTOR_LOCK_MINUTES"])
        else:
            message = _("We could not find that combination of reference and access code. "
                        "Please check both against your letter.")
        form.code.errors.append(message)
        return render_template("debtor/sign_in.html", form=form), 422
    # A form sent back with missing fields answers 422 too; a first view 200.
    return render_template("debtor/sign_in.html", form=form), 422 if form.is_submitted() else 200


@bp.get("/l/<token>")
def link(token: str):
    case = debtor_access.case_for_link(token)
    if case is None:
        flash(_("This link has expired. Please sign in with the reference and access code "
                "from your letter."), "error")
        return redirect(url_for("debtor.sign_in"))
    _start_session(case)
    return redirect(url_for("debtor.overview"))


@bp.get("/cases")
def overview():
    cases = db.session.scalars(
        select(Case).where(Case.debtor_id == g.debtor.id).order_by(Case.opened_on.desc())
    ).all()
    return render_template(
        "debtor/overview.html",
        debtor=g.debtor,
        cases=cases,
        balances=ledger.balances(c.id for c in cases),
    )


@bp.get("/cases/<int:case_id>")
def case(case_id: int):
    case = load_case(case_id)
    parts = disputes.case_parts(case)  # reading the page marks the agency's messages read
    db.session.commit()
    return render_template(
        "debtor/case.html",
        case=case,
        balance=ledger.balance(case),
        notices=correspondence.sent_notices(case),
        arrangement=arrangements.current_arrangement(case),
        payments=payments_for_case(case),
        **parts,
    )


@bp.post("/logout")
def logout():
    session.pop("debtor_id", None)
    flash(_("You are signed out."), "info")
    return redirect(url_for("debtor.sign_in"))
