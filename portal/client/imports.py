"""Handing over claims: upload a file, map its columns, preview every problem, confirm; and a
form for a single claim. Every batch is loaded through the signed-in client: another client's
batch answers 404."""

from __future__ import annotations

from itertools import islice

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from portal.client import bp
from portal.extensions import db
from portal.models import Client, Debtor, DebtorKind
from portal.models.client_portal import ImportBatch, ImportStatus
from portal.queue import get_redis
from portal.services import claims_rows, imports
from portal.services.cases import InvoiceData, open_case
from portal.services.claims_files import UnreadableFile
from portal.services.notices import agency_today

FIELD_LABELS = {
    "debtor_name": _l("Debtor name"), "debtor_kind": _l("Person or business"),
    "email": _l("Email"), "phone": _l("Phone"), "address_line": _l("Address"),
    "postal_code": _l("Postal code"), "city": _l("City"), "country": _l("Country"),
    "language": _l("Language"), "invoice_number": _l("Invoice number"),
    "invoice_date": _l("Invoice date"), "due_date": _l("Due date"), "amount": _l("Amount"),
    "currency": _l("Currency"), "description": _l("Description"),
}
PROBLEM_TEXT = {
    "missing": _l("This is empty but needed."),
    "too_long": _l("This is too long."),
    "bad_email": _l("This is not an email address."),
    "bad_phone": _l("This is not a phone number we can call (check the country)."),
    "bad_amount": _l("This is not an amount (write it like 1234,56)."),
    "not_positive": _l("The amount must be more than zero."),
    "bad_date": _l("This is not a date (write it like 31-12-2026 or 2026-12-31)."),
    "due_before_invoice": _l("The due date is before the invoice date."),
    "bad_country": _l("This is not a country code (write it like NL or BE)."),
    "bad_language": _l("We write in Dutch (nl) or English (en) only."),
    "bad_kind": _l("Write person or business (particulier or bedrijf)."),
    "bad_currency": _l("We collect in euros (EUR) only."),
    "duplicate_in_file": _l("This invoice number is in the file twice."),
    "not_mapped": _l("No column of the file is chosen for this."),
    "already_there": _l("You handed over this invoice before: it is not imported again."),
}
PREVIEW_ROWS = 50


class UploadForm(FlaskForm):
    file = FileField(_l("File (CSV or Excel .xlsx)"), validators=[FileRequired()])


class ClaimForm(FlaskForm):
    debtor_name = StringField(_l("Debtor name"))
    debtor_kind = SelectField(_l("Person or business"),
                              choices=[SelectChoice("person", _l("Person")),
                                       SelectChoice("business", _l("Business"))])
    email = StringField(_l("Email"), validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional()])
    address_line = StringField(_l("Address"))
    postal_code = StringField(_l("Postal code"))
    city = StringField(_l("City"))
    country = StringField(_l("Country"), default="NL")
    language = SelectField(_l("Language"), choices=[SelectChoice("nl", _l("Dutch")),
                                                     SelectChoice("en", _l("English"))])
    invoice_number = StringField(_l("Invoice number"))
    invoice_date = DateField(_l("Invoice date"), validators=[Optional()])
    due_date = DateField(_l("Due date"), validators=[Optional()])
    amount = StringField(_l("Amount (EUR)"))
    description = StringField(_l("Description"))


def _batch_or_404(batch_id: int) -> ImportBatch:
    batch = db.session.scalar(select(ImportBatch).where(
        ImportBatch.id == batch_id, ImportBatch.client_id == current_user.client_id))
    if batch is None:
        abort(404)
    return batch


def _batches():
    return (select(ImportBatch).where(ImportBatch.client_id == current_user.client_id)
            .order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc()))


@bp.route("/imports", methods=["GET", "POST"])
def imports_index():
    form = UploadForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        client = db.session.get(Client, current_user.client_id)
        try:
            batch = imports.preview(client, current_user, upload.filename or "claims.csv",
                                    upload.read())
        except UnreadableFile:
            db.session.rollback()
            form.file.errors.append(_l("We cannot read this file. Upload a CSV or an Excel "
                                       "(.xlsx) file with a header row."))
        else:
            db.session.commit()
            return redirect(url_for("client.import_batch", batch_id=batch.id))
    if form.errors:
        status = 422
    page = db.paginate(_batches(), per_page=20, error_out=False)
    return render_template("client/imports/index.html", form=form, page=page), status


@bp.route("/imports/<int:batch_id>", methods=["GET", "POST"])
def import_batch(batch_id: int):
    batch = _batch_or_404(batch_id)
    if request.method == "POST":
        return _act(batch)
    return _show(batch)


def _act(batch: ImportBatch):
    if not FlaskForm().validate_on_submit():
        abort(400)
    if request.form.get("action") == "remap":
        mapping = {f: request.form.get(f"map-{f}", "") for f in claims_rows.FIELDS}
        imports.remap(batch, {f: c for f, c in mapping.items() if c})
        db.session.commit()
        return redirect(url_for("client.import_batch", batch_id=batch.id))
    try:
        imports.confirm(batch, current_user, today=agency_today())
    except imports.ImportRefused:
        db.session.rollback()
        flash(_l("This file cannot be imported: fix the problems and upload it again."), "error")
        return _show(_batch_or_404(batch.id), status=422)
    db.session.commit()
    if batch.status == ImportStatus.DONE:
        flash(_l("The claims are handed over."), "success")
    return redirect(url_for("client.import_batch", batch_id=batch.id))


def _show(batch: ImportBatch, status: int = 200):
    headers, sample = [], []
    if batch.status == ImportStatus.PREVIEWED:
        headers, rows = imports.file_rows(batch)
        mapping = imports.indices(batch.mapping, headers)
        sample = [(n, claims_rows.apply_mapping(mapping, cells))
                  for n, cells in enumerate(islice(rows, PREVIEW_ROWS), start=2)]
    problems_by_row: dict[int, list] = {}
    for row, field, code in imports.blocking_problems(batch):
        problems_by_row.setdefault(row, []).append((field, code))
    return render_template(
        "client/imports/show.html", batch=batch, headers=headers, sample=sample,
        fields=claims_rows.FIELDS, required=claims_rows.REQUIRED, labels=FIELD_LABELS,
        problem_text=PROBLEM_TEXT, blocking=imports.blocking_problems(batch),
        problems_by_row=problems_by_row, already=imports.already_there(batch),
        progress=_progress(batch), statuses=ImportStatus,
    ), status


@bp.get("/imports/<int:batch_id>/progress")
def import_progress(batch_id: int):
    """The progress bar alone, polled by htmx while the import runs."""
    batch = _batch_or_404(batch_id)
    return render_template("client/imports/_progress.html", batch=batch,
                           progress=_progress(batch), statuses=ImportStatus)


def _progress(batch: ImportBatch) -> int:
    """Rows done: the running job's own count (its rows are not committed yet)."""
    if batch.status != ImportStatus.RUNNING:
        return batch.rows_done
    try:
        job = Job.fetch(f"import-{batch.id}", connection=get_redis())
        return int(job.get_meta(refresh=True).get("rows_done", 0))
    except (NoSuchJobError, OSError, ValueError):
        return 0
    except Exception:  # Redis unreachable: the bar simply waits
        current_app.logger.warning("no progress for import %s", batch.id, exc_info=True)
        return 0


@bp.route("/claims/new", methods=["GET", "POST"])
def new_claim():
    form = ClaimForm()
    if not form.is_submitted():
        return render_template("client/imports/claim.html", form=form)
    if form.validate():
        case = _open_claim(form)
        if case is not None:
            db.session.commit()
            flash(_l("The claim is handed over as case %(ref)s.", ref=case.reference), "success")
            return redirect(url_for("client.case", case_id=case.id))
    return render_template("client/imports/claim.html", form=form), 422


def _open_claim(form: ClaimForm):
    raw = {name: (form[name].raw_data or [""])[0] for name in claims_rows.FIELDS
           if name in form}
    row, problems = claims_rows.check_row(raw)
    if row is not None and row.invoice_number in imports.existing_numbers(
            current_user.client_id):
        problems = [("invoice_number", "already_there")]
    for field, code in problems:
        form[field].errors = [*form[field].errors, PROBLEM_TEXT[code]]
    if problems:
        return None
    debtor = Debtor(kind=DebtorKind(row.debtor_kind), name=row.debtor_name, email=row.email,
                    phone=row.phone, address_line=row.address_line,
                    postal_code=row.postal_code, city=row.city, country=row.country,
                    language=row.language)
    db.session.add(debtor)
    invoice = InvoiceData(number=row.invoice_number, invoice_date=row.invoice_date,
                          due_date=row.due_date, amount_cents=row.amount_cents,
                          description=row.description, currency=row.currency)
    client = db.session.get(Client, current_user.client_id)
    case, _code = open_case(client, debtor, [invoice], opened_on=agency_today(),
                            user=current_user)
    return case
