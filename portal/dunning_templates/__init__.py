"""The editable texts of reminders and letters: the shipped defaults and the sandbox they
render in, plus the labels of the fixed layout around them.

One default file per template key, channel and language: `<key>.<channel>.<language>.txt`,
whose first line is `Subject: ...`, then a blank line, then the body. An admin's edited text
(a MessageTemplate row) replaces a file; portal.services.notices picks which one applies and
lists the variables a text may use.

A text is plain text with Jinja placeholders, rendered in a sandbox where a typo is an error
(TemplateProblem), never a silently empty value. For HTML the rendered text is escaped as a
whole and its blank-line paragraphs become <p>: stricter than autoescape, since an admin's
literal markup is escaped too, and one text serves the letter, the HTML and the plain text.

`labels.toml` holds the words of the layout (table headings, the payment box): part of the
letter's design, not of the editable text.
"""

from __future__ import annotations

import functools
import re
import tomllib
import traceback
from datetime import date, datetime
from pathlib import Path

from flask_babel import get_locale
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup, escape

from portal import templating

FOLDER = Path(__file__).parent
KEYS = (
    "invoice",
    "friendly_reminder",
    "reminder",
    "fourteen_day_letter",
    "final_demand",
    "legal_handover",
    "payment_plan_reminder",
)
LANGUAGES = ("nl", "en")
CHANNELS = ("email", "letter")
_NAME_PART = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SUBJECT = "Subject:"
_UNKNOWN_FIELD = re.compile(r"'[\w ]+ object' has no attribute '(\w+)'")
# A sentence ending in a name like "Bakkerij Vermeulen B.V." would end in "B.V.."; two dots
# (never three: an ellipsis stays) become one.
_DOUBLE_DOT = re.compile(r"(?<!\.)\.\.(?!\.)")
# Wording that voids a 14-day letter (Hoge Raad 25-11-2016): the term runs from the day after
# receipt, never from the letter's date.
VOID_TERM_WORDING = ("na dagtekening", "van dagtekening", "datum van deze brief",
                     "datum van deze e-mail", "date of this letter", "date of this email")


class TemplateProblem(Exception):
    """A text could not be rendered: where (template and part), what, and on which line."""

    def __init__(self, where: str, message: str, line: int | None = None) -> None:
        self.where, self.message, self.line = where, message, line
        at = f", line {line}" if line else ""
        super().__init__(f"{where}{at}: {message}")


def default_path(key: str, channel: str, language: str) -> Path:
    """The file of a default text; refuses names that are not plain words (no paths)."""
    for part in (key, channel, language):
        if not _NAME_PART.fullmatch(part):
            raise ValueError(f"not a template name part: {part!r}")
    return FOLDER / f"{key}.{channel}.{language}.txt"


@functools.lru_cache(maxsize=128)
def read_default(key: str, channel: str, language: str) -> tuple[str, str] | None:
    """(subject, body) of the shipped text, or None when there is none for this combination."""
    path = default_path(key, channel, language)
    if not path.is_file():
        return None
    return parse(path.read_text(encoding="utf-8"), where=path.name)


def parse(text: str, *, where: str = "template") -> tuple[str, str]:
    """Split a default file into (subject, body); its first line must be `Subject: ...`."""
    first, _, rest = text.partition("\n")
    if not first.startswith(_SUBJECT):
        raise ValueError(f"{where}: the first line must start with {_SUBJECT!r}")
    return first.removeprefix(_SUBJECT).strip(), rest.strip("\n") + "\n"


@functools.lru_cache(maxsize=8)
def labels(language: str) -> dict[str, str]:
    """The layout's words in `language` (KeyError for a language without labels)."""
    with (FOLDER / "labels.toml").open("rb") as file:
        return tomllib.load(file)[language]


def money(cents: int | None, currency: str = "EUR") -> str:
    """portal.templating.money, remembered per amount and locale: a batch writes the same
    amounts thousands of times, and Babel's formatting is the slowest part of an email."""
    return _money(cents, currency, str(get_locale()))


@functools.lru_cache(maxsize=8192)
def _money(cents: int | None, currency: str, locale: str) -> str:
    return templating.money(cents, currency)  # `locale` is the one in force: only a cache key


def long_day(value: date | datetime | None, style: str = "long") -> str:
    """A date as a letter writes it: 2 maart 2026, 2 March 2026 (in the forced locale)."""
    return templating.day(value, style)


@functools.lru_cache(maxsize=1)
def _sandbox() -> ImmutableSandboxedEnvironment:
    """No unsafe attributes, no changing lists or dicts, and an unknown name is an error."""
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.filters.update(money=money, day=long_day)
    return env


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    # Each text is compiled once per process: a batch renders the same few thousands of times.
    return _sandbox().from_string(source)


def render_text(source: str, context: dict, *, where: str) -> str:
    """Render an editable text in the sandbox; any failure becomes a TemplateProblem."""
    try:
        template = _compiled(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(where, exc.message or str(exc), exc.lineno) from exc
    try:
        return template.render(context)
    except Exception as exc:  # an admin's text may fail in any way: say where and why
        raise TemplateProblem(where, _describe(exc), _template_line(exc)) from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, UndefinedError):
        field = _UNKNOWN_FIELD.fullmatch(exc.message or "")
        return f"unknown field {field[1]!r}" if field else str(exc.message)
    if isinstance(exc, SecurityError):  # e.g. reaching for __class__: say so plainly
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _template_line(exc: Exception) -> int | None:
    """The line of the text where rendering failed (Jinja maps its frames to the source)."""
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename == "<template>"
    ]
    return lines[-1] if lines else None


def text_to_html(text: str) -> Markup:
    """Plain text as HTML: everything escaped, blank lines make paragraphs, newlines <br>."""
    paragraphs = [part for part in re.split(r"\n\s*\n", text.strip()) if part.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(escape(line) for line in part.split("\n")))
        for part in paragraphs
    )


def tidy(text: str) -> str:
    """A rendered text with "B.V.." (a name ending a sentence) written "B.V."."""
    return _DOUBLE_DOT.sub(".", text)


def check_fourteen_day_text(body: str, facts: dict, *, where: str) -> None:
    """Refuse a rendered 14-day text that lost what art. 6:96 lid 6 BW needs (`facts`: the
    context's `fourteen_day`). An edited text without the exact costs would make every later
    cost charge unlawful: better it never goes out. Run it in the letter's locale."""
    required = {money(facts["costs"]): "the exact collection costs",
                long_day(facts["last_day"]): "the last day of the term"}
    if facts["vat"]:
        required[money(facts["vat"])] = "the VAT on the collection costs"
    missing = [what for text, what in required.items() if text not in body]
    if missing:
        raise TemplateProblem(where, "a 14-day letter must state " + " and ".join(missing))
    void = [wording for wording in VOID_TERM_WORDING if wording in body.lower()]
    if void:
        raise TemplateProblem(where, f"the term runs from the day after receipt, not {void[0]!r}")
