"""Evidence files are judged by their first bytes, every problem reported at once."""

from __future__ import annotations

import pytest

from portal.domain.evidence import Problem, Rejection, check, sniff

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"
ZIP = b"PK\x03\x04\x14\x00\x06\x00"  # a .docx is a zip


@pytest.mark.parametrize(("data", "expected"), [
    (PDF, "application/pdf"),
    (PNG, "image/png"),
    (JPEG, "image/jpeg"),
    (HEIC, "image/heic"),
    (ZIP, None),
    (b"<html><script>alert(1)</script>", None),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
    (b" %PDF-1.4", None),  # the signature must come first
    (b"\x00\x00\x00\x18ftypmp42", None),  # a video, not a photo
    (b"", None),
])
def test_sniff(data, expected):
    assert sniff(data) == expected


@pytest.mark.parametrize(("files", "max_files", "max_bytes", "rejections"), [
    ([("a.pdf", PDF), ("b.jpg", JPEG)], 5, 100, []),
    ([("scan.pdf", ZIP)], 5, 100, [Rejection("scan.pdf", Problem.WRONG_TYPE)]),
    ([("big.pdf", PDF + b"x" * 100)], 5, 100, [Rejection("big.pdf", Problem.TOO_LARGE)]),
    ([("exact.pdf", PDF.ljust(100, b"x"))], 5, 100, []),
    ([("nothing.pdf", b"")], 5, 100, [Rejection("nothing.pdf", Problem.EMPTY)]),
    ([("a.pdf", PDF)] * 3, 2, 100, [Rejection("", Problem.TOO_MANY)]),
    ([("ok.pdf", PDF), ("x.docx", ZIP), ("y.png", PNG * 20)], 5, 100,
     [Rejection("x.docx", Problem.WRONG_TYPE), Rejection("y.png", Problem.TOO_LARGE)]),
])
def test_check_reports_every_problem(files, max_files, max_bytes, rejections):
    types, found = check(files, max_files=max_files, max_bytes=max_bytes)
    assert found == rejections
    assert len(types) == len(files)
