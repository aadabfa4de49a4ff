"""Documents: PDFs from HTML (Helvetica-safe text, merging) and files on disk with their SHA-256."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from portal.documents import storage
from portal.documents.pdf import PdfRenderError, html_to_pdf, merge_pdfs, page_count, printable
from portal.documents.storage import DocumentCorrupted, read_document, safe_filename, save_document
from portal.models import Document, DocumentKind, utcnow

PAGE_BREAK = '<div style="page-break-before: always;"></div>'


@pytest.fixture
def root(app, tmp_path) -> Path:
    """Documents go to a folder of the test's own, never the repository's instance folder."""
    folder = tmp_path / "documents"
    app.config["DOCUMENTS_PATH"] = str(folder)
    return folder


def _pdf(pages: int) -> bytes:
    body = PAGE_BREAK.join(f"<p>page {n}</p>" for n in range(1, pages + 1))
    return html_to_pdf(f"<html><body>{body}</body></html>")


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


# -- Storage ----------------------------------------------------------------------------------


def test_save_and_read_round_trip(make, root):
    case, _ = make.case()
    data = b"%PDF-1.4 a letter"
    document = save_document(DocumentKind.LETTER, "aanmaning.pdf", "application/pdf", data,
                             case_id=case.id)
    assert document.id is not None
    assert (document.sha256, document.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert (document.case_id, document.filename) == (case.id, "aanmaning.pdf")
    now = utcnow()
    year, month, shard, name = document.storage_path.split("/")
    assert (year, month, shard) == (f"{now:%Y}", f"{now:%m}", document.sha256[:2])
    assert name.endswith("-aanmaning.pdf")
    assert (root / document.storage_path).read_bytes() == data
    assert read_document(document) == data


def test_the_same_bytes_twice_are_two_files(root):
    first = save_document(DocumentKind.REPORT, "r.pdf", "application/pdf", b"x", case_id=None)
    second = save_document(DocumentKind.REPORT, "r.pdf", "application/pdf", b"x", case_id=None)
    assert first.storage_path != second.storage_path


def test_no_temporary_files_are_left_behind(root):
    document = save_document(DocumentKind.LETTER, "a.pdf", "application/pdf", b"abc", case_id=None)
    folder = (root / document.storage_path).parent
    assert [path.name for path in folder.iterdir()] == [Path(document.storage_path).name]


def test_the_default_folder_is_under_the_instance(app):
    app.config.pop("DOCUMENTS_PATH", None)
    assert storage.documents_root() == Path(app.instance_path) / "documents"


def test_changed_bytes_are_detected(root):
    document = save_document(DocumentKind.LETTER, "a.pdf", "application/pdf", b"original",
                             case_id=None)
    (root / document.storage_path).write_bytes(b"tampered")
    with pytest.raises(DocumentCorrupted, match="SHA-256"):
        read_document(document)


def test_a_missing_file_is_reported(root):
    document = save_document(DocumentKind.LETTER, "a.pdf", "application/pdf", b"x", case_id=None)
    (root / document.storage_path).unlink()
    with pytest.raises(DocumentCorrupted, match="missing"):
        read_document(document)


def test_a_stored_path_leading_outside_the_folder_is_refused(root, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not a document")
    document = Document(kind=DocumentKind.LETTER, filename="x", content_type="text/plain",
                        storage_path="../secret.txt", sha256=hashlib.sha256(b"not a document")
                        .hexdigest(), size=14)
    with pytest.raises(DocumentCorrupted, match="leaves"):
        read_document(document)


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/passwd", "etc_passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "windows_system32_cmd.exe"),
        ("/var/lib/letter.pdf", "var_lib_letter.pdf"),
        (".htaccess", "htaccess"),
        ("Aanmaning één.pdf", "Aanmaning_een.pdf"),
        ("letter\x00.pdf", "letter.pdf"),
        ("", "document"),
        ("...", "document"),
    ],
)
def test_filenames_are_made_safe(given, safe):
    assert safe_filename(given) == safe


def test_long_filenames_keep_their_extension():
    safe = safe_filename("a" * 300 + ".pdf")
    assert len(safe) == storage.MAX_FILENAME
    assert safe.endswith("a.pdf")


def test_a_traversal_name_is_saved_inside_the_folder(root):
    document = save_document(DocumentKind.LETTER, "../../../escape.pdf", "application/pdf",
                             b"x", case_id=None)
    path = (root / document.storage_path).resolve()
    assert path.is_relative_to(root.resolve())
    assert document.filename == "escape.pdf"


# -- PDF ----------------------------------------------------------------------------------------


def test_html_becomes_a_pdf():
    pdf = html_to_pdf("<html><body><p>Hallo wereld</p></body></html>")
    assert pdf.startswith(b"%PDF")
    assert "Hallo wereld" in _text(pdf)


def test_euro_and_dutch_letters_survive_in_helvetica():
    pdf = html_to_pdf("<p>Te betalen: € 1.234,56 voor ë, é en ĳs uit IJmuiden (Ĳssel)</p>")
    text = _text(pdf)
    assert "€ 1.234,56" in text
    assert "ë, é en ijs" in text
    assert "(IJssel)" in text


@pytest.mark.parametrize(
    ("given", "printed"),
    [
        ("ĳs", "ijs"),
        ("Ĳmuiden", "IJmuiden"),
        ("€ ë é ü ç ø ß „x” – …", "€ ë é ü ç ø ß „x” – …"),  # all in Helvetica already
        ("Łódź", "Lódz"),  # ó is in Helvetica and stays
        ("Dvořák", "Dvorák"),
        ("\u22125,00", "-5,00"),
        ("Жук", "Жук"),  # no Latin stand-in: left for xhtml2pdf to report
    ],
)
def test_characters_helvetica_lacks_get_a_latin_stand_in(given, printed):
    assert printable(given) == printed


def test_a_failing_render_raises_a_clear_error():
    with pytest.raises(PdfRenderError, match="xhtml2pdf failed"):
        html_to_pdf('<html><body><pdf:nexttemplate name="nowhere"/><p>x</p></body></html>')


def test_merging_adds_up_the_pages():
    one, two = _pdf(1), _pdf(2)
    assert (page_count(one), page_count(two)) == (1, 2)
    merged = merge_pdfs([one, two])
    assert page_count(merged) == 3
    assert [page.extract_text().strip() for page in PdfReader(io.BytesIO(merged)).pages] == [
        "page 1", "page 1", "page 2"
    ]


def test_merging_nothing_is_refused():
    with pytest.raises(ValueError, match="nothing"):
        merge_pdfs([])
