"""Document bytes on disk, outside static/, each recorded as a Document row with its SHA-256.

Layout: `<root>/<yyyy>/<mm>/<sha256[:2]>/<uuid>-<safe filename>`, where the root is the
DOCUMENTS_PATH setting (default `<instance>/documents`). The row keeps the path relative to
the root, so the folder can move. Files are written atomically (a temporary file in the same
folder, then os.replace): a reader never sees half a letter. A file whose transaction is then
rolled back stays on disk without a row; that wastes space but never loses a sent letter.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from flask import current_app
from werkzeug.utils import secure_filename

from portal.extensions import db
from portal.models import Document, DocumentKind, utcnow

MAX_FILENAME = 100  # the stored path must fit Document.storage_path (300)


class DocumentCorrupted(RuntimeError):
    """The bytes on disk are missing or no longer match the SHA-256 recorded for them."""


def documents_root() -> Path:
    """The folder documents are kept in (setting DOCUMENTS_PATH, default <instance>/documents)."""
    configured = current_app.config.get("DOCUMENTS_PATH")
    return Path(configured or Path(current_app.instance_path) / "documents")


def safe_filename(filename: str) -> str:
    """A name that stays inside its folder: no path parts, no leading dots, ASCII letters,
    digits, '-', '_' and '.', at most MAX_FILENAME characters with its extension kept."""
    # Accents become plain letters (Aanmaning-één.pdf -> Aanmaning-een.pdf) instead of vanishing.
    plain = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    safe = secure_filename(plain.replace("\\", "/")).lstrip("._") or "document"
    stem, dot, extension = safe.rpartition(".")
    if not dot or len(extension) > 10:
        stem, dot, extension = safe, "", ""
    return stem[: MAX_FILENAME - len(dot + extension)] + dot + extension


@dataclass(frozen=True)
class StoredFile:
    """Bytes written under the documents root, not yet recorded as a Document row."""

    COLUMNS: ClassVar = ("kind", "filename", "content_type", "storage_path", "sha256", "size",
                         "case_id", "created_at")  # of Document, in row()

    filename: str
    storage_path: str  # relative to the root
    sha256: str
    size: int

    def row(self, kind: DocumentKind, content_type: str, case_id: int | None) -> dict:
        """The Document columns for this file, for a set-based insert."""
        return {"kind": kind, "filename": self.filename, "content_type": content_type,
                "storage_path": self.storage_path, "sha256": self.sha256, "size": self.size,
                "case_id": case_id, "created_at": utcnow()}


def save_document(
    kind: DocumentKind, filename: str, content_type: str, data: bytes, *, case_id: int | None
) -> Document:
    """Write `data` to disk atomically and add its Document row (flushed, not committed)."""
    stored = store_file(filename, data)
    document = Document(**stored.row(kind, content_type, case_id))
    db.session.add(document)
    db.session.flush()
    return document


def store_file(filename: str, data: bytes, *, sync: bool = True) -> StoredFile:
    """Write `data` under a new name, atomically: a reader never sees half of it.

    `sync=False` leaves the flush to disk to sync_files(), which a batch calls once for all
    its files before it records any of them: the row must never reach the database before
    its bytes reach the disk.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    name = safe_filename(filename)
    today = utcnow()
    relative = f"{today:%Y}/{today:%m}/{sha256[:2]}/{uuid.uuid4().hex}-{name}"
    _write_atomically(documents_root() / relative, data, sync=sync)
    return StoredFile(filename=name, storage_path=relative, sha256=sha256, size=len(data))


def sync_files(files: Iterable[StoredFile]) -> None:
    """Flush files written with sync=False to the disk (fsync each)."""
    root = documents_root()
    for stored in files:
        fd = os.open(root / stored.storage_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_atomically(path: Path, data: bytes, *, sync: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            if sync:
                os.fsync(tmp.fileno())  # on disk before it has its name: a crash leaves no stub
        os.chmod(tmp_name, 0o640)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def document_path(document: Document) -> Path:
    """Where the document's bytes are; refuses a stored path that leads outside the root."""
    root = documents_root().resolve()
    path = (root / document.storage_path).resolve()
    if not path.is_relative_to(root):
        raise DocumentCorrupted(f"document {document.id}: its path leaves the documents folder")
    return path


def read_document(document: Document) -> bytes:
    """The document's bytes, checked against the SHA-256 recorded when it was saved."""
    try:
        data = document_path(document).read_bytes()
    except FileNotFoundError as exc:
        raise DocumentCorrupted(f"document {document.id}: the file is missing") from exc
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise DocumentCorrupted(f"document {document.id}: the file does not match its SHA-256")
    return data
