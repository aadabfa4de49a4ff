"""Dutch and English: the Dutch catalogue covers every string in the source, and every page
speaks the language its reader chose, or else their own, or else their browser's.

The catalogue tests extract the messages from the source at test time, with the same mapping
file and keywords as the extraction command, so a string added without a translation fails
here with its name and place.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from markupsafe import escape

from portal import i18n
from portal.extensions import db
from portal.models import Role
from tests.pages import csrf_token

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "portal" / "translations"
DUTCH_PO = TRANSLATIONS / "nl" / "LC_MESSAGES" / "messages.po"
# Babel's default keywords plus these two: the `-k` options of the extraction command.
EXTRA_KEYWORDS = {"_l": None, "lazy_gettext": None}
KEYWORDS = {**DEFAULT_KEYWORDS, **EXTRA_KEYWORDS}
UPDATE_COMMANDS = (
    ".venv/bin/pybabel extract -F portal/translations/babel.cfg -k _l -k lazy_gettext "
    "--add-comments=TRANSLATORS: -o portal/translations/messages.pot .\n"
    ".venv/bin/pybabel update -i portal/translations/messages.pot -d portal/translations "
    "--ignore-obsolete\n"
    "then translate the new entries (and review any marked fuzzy) in "
    "portal/translations/nl/LC_MESSAGES/messages.po"
)
# A printf conversion: %(name)s, %s, %.2f, and the literal %%.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrs%]")


def read_catalogue(path: Path) -> Catalog:
    with path.open("rb") as po_file:
        return read_po(po_file)


@functools.cache
def dutch_catalogue() -> Catalog:
    return read_catalogue(DUTCH_PO)


@pytest.fixture(scope="module")
def source_messages() -> dict[str | tuple[str, ...], list[str]]:
    """Every message in the source, with where it occurs: `file:line`."""
    with (TRANSLATIONS / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        assert context is None, "message contexts are not in use; the checks below ignore them"
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture
def dutch() -> Catalog:
    return dutch_catalogue()


def key(msgid: str | tuple[str, ...]) -> str:
    """Catalogues file a plural message under its singular."""
    return msgid[0] if isinstance(msgid, tuple) else msgid


def is_translated(message: Message | None) -> bool:
    if message is None or message.fuzzy:
        return False
    forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return bool(forms) and all(forms)


# -- the catalogue ---------------------------------------------------------------------------

def test_the_source_has_messages_to_translate(source_messages):
    """Guards the tests below: an extraction that found nothing would make them pass."""
    assert len(source_messages) > 100
    places = {where.split(":")[0] for wheres in source_messages.values() for where in wheres}
    assert any(place.startswith("templates/") and place.endswith(".html") for place in places)
    assert any(place.startswith("templates/") and place.endswith(".txt") for place in places)
    assert any(place.startswith("portal/") for place in places)


def test_every_message_has_a_dutch_translation(source_messages, dutch):
    missing = [
        f"  {msgid!r}  ({', '.join(where)})"
        for msgid, where in source_messages.items()
        if not is_translated(dutch.get(key(msgid)))
    ]
    assert not missing, (
        f"{len(missing)} message(s) have no Dutch translation (or only a fuzzy one):\n"
        + "\n".join(missing)
        + "\nTo update the catalogues:\n" + UPDATE_COMMANDS
    )


def test_plural_messages_have_every_dutch_form(source_messages, dutch):
    plurals = [msgid for msgid in source_messages if isinstance(msgid, tuple)]
    assert plurals, "the source has plural messages (ngettext)"
    for msgid in plurals:
        message = dutch.get(key(msgid))
        assert message is not None and message.id == msgid, f"{msgid!r} is not a plural in nl"
        assert len(message.string) == dutch.num_plurals == 2


def test_the_catalogue_has_no_fuzzy_or_stale_entries(source_messages, dutch):
    """Fuzzy entries are left out of the compiled catalogue; stale ones mean the catalogue
    was not updated after strings changed."""
    fuzzy = [message.id for message in dutch if message.id and message.fuzzy]
    stale = {message.id for message in dutch if message.id} - set(source_messages)
    assert not fuzzy, f"fuzzy entries to review: {fuzzy}"
    assert not stale, f"entries no longer in the source: {sorted(map(str, stale))}\n" + (
        UPDATE_COMMANDS
    )


def test_the_committed_template_matches_the_source(source_messages):
    template = read_catalogue(TRANSLATIONS / "messages.pot")
    assert {message.id for message in template if message.id} == set(source_messages), (
        "messages.pot is out of date. To update the catalogues:\n" + UPDATE_COMMANDS
    )


def test_placeholders_in_each_translation_match_the_original(dutch):
    mismatched = [
        f"  {original!r} -> {translated!r}"
        for message in dutch
        if message.id and is_translated(message)
        for original, translated in pairs(message)
        if Counter(PLACEHOLDER.findall(original)) != Counter(PLACEHOLDER.findall(translated))
    ]
    assert not mismatched, "placeholders differ:\n" + "\n".join(mismatched)


def pairs(message: Message) -> list[tuple[str, str]]:
    """(original, translation) for each form; in Dutch form 0 is the singular, 1 the plural."""
    if not message.pluralizable:
        return [(message.id, message.string)]
    return list(zip(message.id, message.string, strict=True))


@pytest.mark.parametrize(("text", "placeholders"), [
    ("Page %(page)s of %(pages)s", ["%(page)s", "%(pages)s"]),
    ("%(rate).2f %% a year", ["%(rate).2f", "%%"]),
    ("Rate (% per year)", []),  # a bare % sign in a string that is never formatted
    ("%s of %d", ["%s", "%d"]),
])
def test_the_placeholder_pattern(text, placeholders):
    assert PLACEHOLDER.findall(text) == placeholders


def test_every_gettext_function_the_code_imports_is_extracted():
    """A gettext alias the extraction command does not know would leave its strings out of
    the catalogue without any test noticing."""
    unknown = []
    for path in (ROOT / "portal").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in ("flask_babel", "babel"):
                unknown += [
                    f"{path.relative_to(ROOT)}: {alias.name} as {alias.asname or alias.name}"
                    for alias in node.names
                    if "gettext" in alias.name and (alias.asname or alias.name) not in KEYWORDS
                ]
    assert not unknown, f"add a -k option to the extraction and to EXTRA_KEYWORDS: {unknown}"


def test_a_changed_catalogue_is_compiled_again(tmp_path):
    po_path = tmp_path / "nl" / "LC_MESSAGES" / "messages.po"
    po_path.parent.mkdir(parents=True)
    po_path.write_bytes(DUTCH_PO.read_bytes())
    i18n.compile_catalogues(tmp_path)
    mo_path = po_path.with_suffix(".mo")
    compiled = mo_path.stat().st_mtime_ns
    i18n.compile_catalogues(tmp_path)
    assert mo_path.stat().st_mtime_ns == compiled, "a fresh .mo is left alone"
    po_path.write_bytes(DUTCH_PO.read_bytes().replace(b"Nog te betalen", b"Resterend bedrag"))
    later = compiled + 10**9  # a second on: some file systems keep coarse times
    os.utime(po_path, ns=(later, later))
    i18n.compile_catalogues(tmp_path)
    assert b"Resterend bedrag" in mo_path.read_bytes()
    assert {path.name for path in po_path.parent.iterdir()} == {"messages.po", "messages.mo"}


# -- the pages -------------------------------------------------------------------------------

def in_language(msgid: str, language: str) -> str:
    """How a page shows `msgid` in `language`, HTML-escaped."""
    if language == "en":
        return str(escape(msgid))
    translated = dutch_catalogue()[msgid].string
    assert translated and translated != msgid, f"{msgid!r} reads the same in both languages"
    return str(escape(translated))


def assert_speaks(html: str, language: str, msgids: tuple[str, ...]) -> None:
    other = "en" if language == "nl" else "nl"
    assert f'<html lang="{language}">' in html
    for msgid in msgids:
        assert in_language(msgid, language) in html
        assert in_language(msgid, other) not in html


SIGN_IN_TEXTS = ("See what you owe, and settle it", "Case reference", "Continue")
OVERVIEW_TEXTS = ("Left to pay", "Paid so far", "See the invoices")


def test_the_debtor_sign_in_page_is_dutch_by_default(client):
    assert "HTTP_ACCEPT_LANGUAGE" not in client.environ_base
    assert_speaks(client.get("/pay/").text, "nl", SIGN_IN_TEXTS)


@pytest.mark.parametrize("path", ["/pay/", "/login"])
def test_the_public_pages_offer_the_language_switch(client, path):
    html = client.get(path).text
    switch = re.search(r'<div class="lang-switch">(.*?)</div>', html, re.S)
    assert switch, "the page has no language switch"
    actions = re.findall(r'action="(/language/\w+)"', switch.group(1))
    # An empty switch: the layout imported the macro without `with context`, so the
    # macro cannot see `languages` and `current_locale` from the context processor.
    assert actions == ["/language/nl", "/language/en"], "the language switch has no buttons"
    current = re.findall(r'lang="(\w+)"\s+aria-current="true"', switch.group(1))
    assert current == re.findall(r'<html lang="(\w+)">', html)


def test_the_language_switch_turns_the_debtor_pages_to_english(client):
    token = csrf_token(client.get("/pay/").text)
    response = client.post("/language/en", data={"csrf_token": token, "next": "/pay/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/pay/"
    assert_speaks(client.get("/pay/").text, "en", SIGN_IN_TEXTS)


@pytest.mark.parametrize(("record", "switch", "browser", "expected"), [
    ("en", None, None, "en"),
    ("nl", None, None, "nl"),
    ("nl", None, "en", "nl"),  # the debtor's own language beats the browser's
    ("en", "nl", None, "nl"),  # and the language switch beats both
])
def test_the_debtor_overview_speaks_the_debtors_language(client, make, record, switch, browser,
                                                         expected):
    case, _code = make.case(debtor=make.debtor(language=record))
    db.session.commit()
    with client.session_transaction() as session:
        session["debtor_id"] = case.debtor_id
        if switch:
            session["lang"] = switch
    headers = {"Accept-Language": browser} if browser else {}
    response = client.get("/pay/cases", headers=headers)
    assert response.status_code == 200
    assert_speaks(response.text, expected, OVERVIEW_TEXTS)


@pytest.mark.parametrize(("accept_language", "expected"), [
    ("en", "en"),
    ("nl", "nl"),
    ("en-GB,en;q=0.9", "en"),
    ("de-DE,de;q=0.9,en;q=0.5,nl;q=0.3", "en"),
    ("nl-BE,nl;q=0.9,en;q=0.8", "nl"),
    ("fr", "nl"),  # neither language: the agency's own
])
def test_the_login_page_follows_the_browser(client, accept_language, expected):
    response = client.get("/login", headers={"Accept-Language": accept_language})
    assert_speaks(response.text, expected, ("Sign in", "Forgot your password?"))


def test_a_language_chosen_in_the_session_beats_the_browser(client):
    with client.session_transaction() as session:
        session["lang"] = "nl"
    response = client.get("/login", headers={"Accept-Language": "en"})
    assert_speaks(response.text, "nl", ("Sign in",))


@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_client_user_reads_the_portal_in_their_own_language(client, make, login, language):
    user = make.user(Role.CLIENT, client=make.client(), language=language)
    db.session.commit()
    login(user)
    browser = "nl" if language == "en" else "en"  # the user's own language beats the browser's
    response = client.get("/client/", headers={"Accept-Language": browser})
    assert_speaks(response.text, language, ("Overview", "Your cases by status"))
