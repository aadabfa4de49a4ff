"""Handing over claims in a file: preview (check every row, save nothing but the upload and the
batch), then confirm (every row in one transaction, or none).

Invoice numbers are unique per client: a number already handed over is skipped and named
(problem code "already_there", a notice, not a refusal). Rows with the same debtor name and
email make one debtor and one case per import. The import itself is set-based (executemany
inserts in chunks), so a 100k-row file does not build 100k ORM objects at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.documents.storage import read_document, save_document
from portal.domain.dunning import CaseState, due_on
from portal.domain.references import case_reference
from portal.extensions import db
from portal.models import (
    ActorKind,
    Bucket,
    Case,
    CaseStatus,
    Client,
    Debtor,
    DebtorKind,
    Document,
    DocumentKind,
    EntryCause,
    Invoice,
    LedgerEntry,
    ReferenceCounter,
    User,
    Workflow,
    utcnow,
)
from portal.models.client_portal import ImportBatch, ImportStatus
from portal.queue import enqueue_after_commit
from portal.services import access_codes, audit, workflows
from portal.services.claims_files import read_table
from portal.services.claims_rows import FIELDS, REQUIRED, ClaimRow, apply_mapping, check_row
from portal.services.claims_rows import guess_mapping as guess_indices

NOTICE = "already_there"  # a problem code that does not stop the import
MAX_PROBLEMS = 1000  # kept on the batch; a file with more is refused all the same
CHUNK = 2000
CONTENT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

Progress = Callable[[int], None]


class ImportRefused(Exception):
    """The batch cannot be imported (problems, or not waiting for confirmation)."""


# -- preview ---------------------------------------------------------------------------------


def preview(client: Client, user: User | None, filename: str, data: bytes,
            mapping: dict[str, str] | None = None) -> ImportBatch:
    """Store the upload, map its columns (given, remembered for the client, or guessed) and
    check every row. Raises claims_files.UnreadableFile for a file that is no table."""
    headers, _rows = read_table(filename, data)
    extension = filename.rsplit(".", 1)[-1].lower()
    document = save_document(DocumentKind.IMPORT, filename,
                             CONTENT_TYPES.get(extension, "text/csv"), data, case_id=None)
    batch = ImportBatch(client_id=client.id, user_id=user.id if user else None,
                        filename=document.filename, document_id=document.id)
    batch.mapping = mapping or _remembered(client, headers) or _guessed(headers)
    db.session.add(batch)
    _check(batch, headers, _rows)
    audit.record("import.previewed", f"Claims file {batch.filename} checked", user=user,
                 client_id=client.id, rows=batch.rows_total, batch=batch.id)
    return batch


def remap(batch: ImportBatch, mapping: dict[str, str]) -> ImportBatch:
    """Check the batch's file again with another column mapping."""
    if batch.status != ImportStatus.PREVIEWED:
        raise ImportRefused("already imported")
    headers, rows = file_rows(batch)
    batch.mapping = {f: c for f, c in mapping.items() if f in FIELDS and c in headers}
    _check(batch, headers, rows)
    return batch


def file_rows(batch: ImportBatch) -> tuple[list[str], Iterator[list]]:
    """The header and the rows of the batch's stored upload."""
    document = db.session.get(Document, batch.document_id)
    return read_table(batch.filename, read_document(document))


def _remembered(client: Client, headers: list[str]) -> dict[str, str] | None:
    known = client.import_mapping or {}
    if known and all(column in headers for column in known.values()):
        return dict(known)
    return None


def _guessed(headers: list[str]) -> dict[str, str]:
    return {field: headers[index] for field, index in guess_indices(headers).items()}


def indices(mapping: dict[str, str], headers: list[str]) -> dict[str, int]:
    """Field -> column index for the mapping's column names that are in the file."""
    return {f: headers.index(c) for f, c in mapping.items() if c in headers and f in FIELDS}


def checked_rows(mapping: dict[str, int], rows: Iterator[list]
                 ) -> Iterator[tuple[int, ClaimRow | None, list[tuple[str, str]]]]:
    """(row number as a spreadsheet shows it, clean row or None, problems) per data row."""
    seen: dict[str, int] = {}
    for number, cells in enumerate(rows, start=2):
        row, problems = check_row(apply_mapping(mapping, cells))
        if row is not None:
            first = seen.setdefault(row.invoice_number, number)
            if first != number:
                row, problems = None, [("invoice_number", "duplicate_in_file")]
        yield number, row, problems


def _check(batch: ImportBatch, headers: list[str], rows: Iterator[list]) -> None:
    mapping = indices(batch.mapping, headers)
    problems: list[list[Any]] = [[1, field, "not_mapped"] for field in FIELDS
                                 if field in REQUIRED and field not in mapping]
    existing = existing_numbers(batch.client_id)
    total = already = blocking = 0
    for number, row, row_problems in checked_rows(mapping, rows) if not problems else ():
        total += 1
        if row is not None and row.invoice_number in existing:
            already += 1
            row_problems = [("invoice_number", NOTICE)]
        blocking += sum(1 for _f, code in row_problems if code != NOTICE)
        for field, code in row_problems:
            if len(problems) < MAX_PROBLEMS:
                problems.append([number, field, code])
    batch.rows_total, batch.invoices_existing = total, already
    batch.problems = problems
    batch.error = None if blocking <= _shown_blocking(problems) else "more_problems"
    db.session.flush()


def _shown_blocking(problems: list[list[Any]]) -> int:
    return sum(1 for _r, _f, code in problems if code != NOTICE)


def blocking_problems(batch: ImportBatch) -> list[list[Any]]:
    return [p for p in batch.problems or [] if p[2] != NOTICE]


def already_there(batch: ImportBatch) -> list[list[Any]]:
    return [p for p in batch.problems or [] if p[2] == NOTICE]


def existing_numbers(client_id: int) -> set[str]:
    return set(db.session.scalars(select(Invoice.number).where(Invoice.client_id == client_id)))


# -- confirm ---------------------------------------------------------------------------------


def confirm(batch: ImportBatch, user: User | None, *, today: date) -> ImportBatch:
    """Import the batch: at once for a small file, else queue it on `imports` (the job calls
    run()). Refuses a batch with problems or one that is not waiting for confirmation."""
    if batch.status != ImportStatus.PREVIEWED:
        raise ImportRefused("not waiting for confirmation")
    if blocking_problems(batch) or batch.error:
        raise ImportRefused("the file has problems")
    client = db.session.get(Client, batch.client_id)
    client.import_mapping = dict(batch.mapping)  # offered again for the next upload
    if batch.rows_total > current_app.config.get("IMPORT_SYNC_MAX_ROWS", 2000):
        batch.status = ImportStatus.QUEUED
        enqueue_after_commit("imports", "portal.jobs.imports.run_import", batch.id,
                             user.id if user else None, job_id=f"import-{batch.id}",
                             job_timeout=3600)
        db.session.flush()
        return batch
    return run(batch, user, today=today)


def run(batch: ImportBatch, user: User | None, *, today: date,
        progress: Progress | None = None) -> ImportBatch:
    """Import every row of the batch's file, or raise ImportRefused and import none (the
    caller rolls back). Invoice numbers handed over since the preview are skipped and named."""
    headers, rows = file_rows(batch)
    mapping = indices(batch.mapping, headers)
    client = db.session.get(Client, batch.client_id)
    writer = _Writer(client, user, batch, today)
    existing = existing_numbers(client.id)
    skipped: list[list[Any]] = []
    chunk: list[ClaimRow] = []
    for number, row, problems in checked_rows(mapping, rows):
        if row is None:
            raise ImportRefused(f"row {number}: {problems}")
        if row.invoice_number in existing:
            skipped.append([number, "invoice_number", NOTICE])
            continue
        chunk.append(row)
        if len(chunk) >= CHUNK:
            writer.write(chunk)
            chunk = []
            if progress:
                progress(number - 1)
    writer.write(chunk)
    writer.finish()
    batch.status, batch.finished_at = ImportStatus.DONE, utcnow()
    batch.rows_done = batch.rows_total
    batch.cases_created = writer.cases_created
    batch.invoices_existing, batch.problems = len(skipped), skipped[:MAX_PROBLEMS]
    audit.record("import.done", f"Claims file {batch.filename} imported", user=user,
                 client_id=client.id, batch=batch.id, cases=writer.cases_created,
                 skipped=len(skipped))
    db.session.flush()
    return batch


class _Writer:
    """Inserts debtors, cases, invoices and their CLAIM entries a chunk at a time."""

    def __init__(self, client: Client, user: User | None, batch: ImportBatch, today: date):
        self.client, self.user, self.batch, self.today = client, user, batch, today
        workflow = _workflow_for(client)
        self.steps, self.workflow_id = workflows.steps_of(workflow), workflow.id
        self.case_of: dict[tuple[str, str], int] = {}
        self.oldest: dict[int, date] = {}  # per case: its oldest due date
        self.first_oldest: dict[int, date] = {}  # the one next_step_on was computed from
        self.numbers: dict[int, list[str]] = {}
        self.cases_created = 0

    def write(self, rows: list[ClaimRow]) -> None:
        if not rows:
            return
        new = {}
        for row in rows:
            if row.debtor_key not in self.case_of:
                new.setdefault(row.debtor_key, row)
        for row in rows:  # the oldest due date of each new case within this chunk
            if row.debtor_key in new and row.due_date < new[row.debtor_key].due_date:
                new[row.debtor_key] = _with_due(new[row.debtor_key], row.due_date)
        self._open_cases(list(new.items()))
        self._add_invoices(rows)

    def _open_cases(self, new: list[tuple[tuple[str, str], ClaimRow]]) -> None:
        if not new:
            return
        debtor_ids = _insert_ids(Debtor, [_debtor_values(row) for _key, row in new])
        references = reserve_references(self.today.year, len(new))
        values = []
        for (_key, row), debtor_id, reference in zip(new, debtor_ids, references, strict=True):
            nonce, _code, code_hash = access_codes.issue(reference)
            values.append({
                "reference": reference, "client_id": self.client.id, "debtor_id": debtor_id,
                "status": CaseStatus.NEW, "opened_on": self.today,
                "access_code_nonce": nonce, "access_code_hash": code_hash,
                "failed_code_attempts": 0, "workflow_id": self.workflow_id,
                "workflow_position": 0, "next_step_on": self._next_step(row.due_date)})
        case_ids = _insert_ids(Case, values)
        for (key, row), case_id in zip(new, case_ids, strict=True):
            self.case_of[key] = case_id
            self.oldest[case_id] = self.first_oldest[case_id] = row.due_date
            self.numbers[case_id] = []
        self.cases_created += len(new)

    def _add_invoices(self, rows: list[ClaimRow]) -> None:
        values = []
        for row in rows:
            case_id = self.case_of[row.debtor_key]
            self.oldest[case_id] = min(self.oldest[case_id], row.due_date)
            self.numbers[case_id].append(row.invoice_number)
            values.append({
                "case_id": case_id, "client_id": self.client.id, "number": row.invoice_number,
                "invoice_date": row.invoice_date, "due_date": row.due_date,
                "amount_cents": row.amount_cents, "currency": row.currency,
                "description": row.description})
        invoice_ids = _insert_ids(Invoice, values)
        db.session.execute(insert(LedgerEntry), [
            {"case_id": v["case_id"], "invoice_id": invoice_id, "bucket": Bucket.PRINCIPAL,
             "amount_cents": v["amount_cents"], "cause": EntryCause.CLAIM,
             "cause_ref": f"invoice:{invoice_id}", "description": f"Invoice {v['number']}",
             "booked_on": self.today}
            for v, invoice_id in zip(values, invoice_ids, strict=True)])

    def finish(self) -> None:
        """A later row with an older due date moves its case's first step forward; then the
        audit trail, one event per case."""
        moved = [{"id": case_id, "next_step_on": self._next_step(oldest)}
                 for case_id, oldest in self.oldest.items()
                 if oldest != self.first_oldest[case_id]]
        if moved:
            db.session.execute(update(Case), moved)
        events = [{
            "action": "case.opened", "case_id": case_id, "client_id": self.client.id,
            "summary": f"Case opened with {len(numbers)} invoice(s)",
            "actor_kind": ActorKind.USER if self.user else ActorKind.SYSTEM,
            "actor_user_id": self.user.id if self.user else None,
            "detail": {"invoices": numbers, "import": self.batch.id}}
            for case_id, numbers in self.numbers.items()]
        for start in range(0, len(events), CHUNK):
            audit.record_many(events[start:start + CHUNK])

    def _next_step(self, oldest_due: date) -> date | None:
        return due_on(self.steps, CaseState(oldest_due_date=oldest_due))


def _with_due(row: ClaimRow, due: date) -> ClaimRow:
    from dataclasses import replace

    return replace(row, due_date=due)


def _workflow_for(client: Client) -> Workflow:
    """As workflows.workflow_for: the client's own workflow, else the agency's default."""
    own = db.session.scalar(select(Workflow).where(Workflow.client_id == client.id))
    return own if own is not None else workflows.ensure_default_workflow()


def _debtor_values(row: ClaimRow) -> dict[str, Any]:
    return {"kind": DebtorKind(row.debtor_kind), "name": row.debtor_name, "email": row.email,
            "phone": row.phone, "address_line": row.address_line,
            "postal_code": row.postal_code, "city": row.city, "country": row.country,
            "language": row.language, "timezone": "Europe/Amsterdam"}


def _insert_ids(model, rows: list[dict[str, Any]]) -> list[int]:
    """Insert many rows (one executemany) and return their ids in the rows' order."""
    result = db.session.execute(
        insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def reserve_references(year: int, count: int) -> list[str]:
    """Hand out `count` consecutive case references of the year in one update."""
    dialect = db.session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        upsert(ReferenceCounter).values(year=year, last_number=0).on_conflict_do_nothing())
    last = db.session.execute(
        update(ReferenceCounter).where(ReferenceCounter.year == year)
        .values(last_number=ReferenceCounter.last_number + count)
        .returning(ReferenceCounter.last_number)).scalar_one()
    return [case_reference(year, n) for n in range(last - count + 1, last + 1)]
