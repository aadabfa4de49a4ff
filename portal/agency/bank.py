"""Money in by bank transfer (admins): upload statements, see what each booked, and match the
credits nobody could match by hand, or set them aside as not ours."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from jinja2_fragments.flask import render_block

from portal import htmx
from portal.agency import bp as agency_bp
from portal.auth.loader import guard_roles
from portal.extensions import db
from portal.models import BankEntry, BankStatement, Role
from portal.services import bank_import
from portal.services.notices import agency_today

bp = Blueprint("bank", __name__)
guard_roles(bp, [Role.ADMIN])

PER_PAGE = 25
EXTENSIONS = ["xml", "sta", "txt", "940", "mt940"]


class StatementForm(FlaskForm):
    file = FileField(_l("Bank statement (CAMT.053 .xml or MT940 .sta, .txt, .940)"),
                     validators=[FileRequired(),
                                 FileAllowed(EXTENSIONS, _l("Choose a CAMT.053 or MT940 file."))])


@bp.route("/", methods=["GET", "POST"])
def index():
    form = StatementForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            statement = bank_import.import_statement(
                upload.filename or "statement", upload.read(), current_user,
                today=agency_today())
        except bank_import.StatementRejected as rejected:
            db.session.rollback()
            form.file.errors = [str(rejected)]
            status = 422
        else:
            db.session.commit()
            flash(_("%(name)s: %(new)s new lines of %(total)s.", name=statement.filename,
                    new=statement.entries_new, total=statement.entries_total), "success")
            return redirect(url_for(".statement", statement_id=statement.id))
    elif form.is_submitted():
        status = 422
    page = db.paginate(bank_import.statements(), per_page=PER_PAGE, error_out=False)
    counts = bank_import.statement_counts([s.id for s in page.items])
    return render_template("agency/bank/index.html", form=form, page=page,
                           counts=counts), status


@bp.get("/statements/<int:statement_id>")
def statement(statement_id: int):
    statement = db.get_or_404(BankStatement, statement_id)
    return render_template("agency/bank/statement.html", statement=statement,
                           entries=bank_import.entries_of(statement))


@bp.get("/unmatched")
def unmatched(errors: dict[int, str] | None = None, status: int = 200):
    page = db.paginate(bank_import.unmatched(), per_page=PER_PAGE, error_out=False)
    context = {"page": page, "errors": errors or {},
               "suggested": {e.id: bank_import.suggestions(e) for e in page.items}}
    if htmx.wants_fragment():
        return htmx.add_vary(make_response(
            render_block("agency/bank/unmatched.html", "results", **context)))
    return htmx.add_vary(make_response(
        render_template("agency/bank/unmatched.html", **context), status))


@bp.post("/entries/<int:entry_id>/match")
def match(entry_id: int):
    entry = db.get_or_404(BankEntry, entry_id)
    reference = request.form.get("reference", "")[:50]
    case = bank_import.find_case(reference)
    if case is None:
        return _row(entry, _("No case has the reference %(ref)s.", ref=reference.strip()), 422)
    try:
        bank_import.match_by_hand(entry, case, current_user, today=agency_today())
    except bank_import.EntryNotOpen:
        db.session.rollback()
        return _row(entry, _("This transfer was handled already."), 422)
    db.session.commit()
    return _done(entry, _("Booked to %(ref)s.", ref=case.reference))


@bp.post("/entries/<int:entry_id>/not-ours")
def not_ours(entry_id: int):
    entry = db.get_or_404(BankEntry, entry_id)
    try:
        bank_import.mark_not_ours(entry, current_user, request.form.get("note", "")[:1000])
    except bank_import.EntryNotOpen:
        db.session.rollback()
        return _row(entry, _("This transfer was handled already."), 422)
    db.session.commit()
    return _done(entry, _("Set aside as not ours."))


def _row(entry: BankEntry, error: str, status: int):
    """The entry's row again with the problem: htmx swaps the row, a plain form the page."""
    if htmx.wants_fragment():
        return render_template("agency/bank/_entry.html", entry=entry, error=error,
                               suggested=bank_import.suggestions(entry)), status
    return unmatched(errors={entry.id: error}, status=status)


def _done(entry: BankEntry, message: str):
    if htmx.wants_fragment():
        return render_template("agency/bank/_entry.html", entry=entry, done=message)
    flash(message, "success")
    return redirect(url_for(".unmatched"))


RULES = {"reference": _l("by the case reference"), "rf": _l("by the RF reference"),
         "amount_name": _l("by amount and name"), "manual": _l("by hand")}


@bp.app_template_global()
def match_rule_label(rule: str) -> str:
    """How a bank line found its case, in words."""
    return str(RULES.get(rule, rule))


agency_bp.register_blueprint(bp, url_prefix="/bank")
