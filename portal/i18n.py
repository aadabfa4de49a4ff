"""Languages: Dutch and English, chosen per audience; catalogues compiled when stale.

The source strings are English; `portal/translations/nl/LC_MESSAGES/messages.po` holds the
Dutch. The compiled `.mo` files are not committed: each start compiles those older than their
`.po`. How to update the catalogues after adding strings: README, "Translations".
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, request, session


def compile_catalogues(directory: Path) -> None:
    """Compile each .po into its .mo when the .mo is missing or older than the .po."""
    for po_path in directory.glob("*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        _compile(po_path, mo_path)


def _compile(po_path: Path, mo_path: Path) -> None:
    """Write the .mo beside the .po, atomically: several workers may start at the same moment,
    and none of them may load a half-written catalogue. Fuzzy entries are left out."""
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file)
    fd, tmp_name = tempfile.mkstemp(dir=mo_path.parent, prefix=mo_path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as mo_file:
            write_mo(mo_file, catalog)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it private; a catalogue is not
        os.replace(tmp_name, mo_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def select_locale() -> str:
    """The language asked for in this session, else the user's own, else the browser's."""
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    preferred = getattr(g, "preferred_language", None)
    if preferred in languages:
        return preferred
    return request.accept_languages.best_match(languages) or current_app.config[
        "BABEL_DEFAULT_LOCALE"
    ]


def init_app(app: Flask) -> None:
    """Make sure the compiled catalogues match the committed .po files before serving."""
    compile_catalogues(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
