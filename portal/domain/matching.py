"""Which case an incoming bank credit pays: by the reference in its description, by its RF
creditor reference, or by amount and name among open cases. Pure rules, no database."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from portal.domain.references import case_reference, is_valid_rf_reference

# A case reference with the noise people type: "k2026 000123", "K 2026-123", "K.2026.000123".
# The K must not be the tail of a word ("BANK 2026 ..."); the number must end at a non-digit.
_CASE_REF = re.compile(r"(?<![A-Z0-9])K[\s\-.:/]{0,3}(\d{4})[\s\-.:/]{0,3}(\d{1,9})(?!\d)")
_RF_START = re.compile(r"(?<![A-Z0-9])RF\s?\d{2}")
_STOPWORDS = {"de", "der", "den", "van", "het", "ten", "ter", "te", "in", "t", "la", "le", "di",
              "da", "von", "dhr", "hr", "mevr", "mw", "mevrouw", "heer", "mr", "mrs", "ms", "en",
              "eo", "bv", "nv", "vof", "cv", "and"}


@dataclass(frozen=True)
class Candidate:
    case_id: int
    reference: str  # "K-2026-000123"
    rf_reference: str | None
    debtor_name: str
    balance_cents: int  # what is still open on the case


@dataclass(frozen=True)
class Match:
    case_id: int | None
    rule: str | None  # "reference" | "rf" | "amount_name" | None
    ambiguous: bool = False
    case_ids: tuple[int, ...] = ()  # the cases in question when ambiguous


NO_MATCH = Match(None, None)


def references_in(text: str | None) -> list[str]:
    """Case references ("K-2026-000123") and valid RF references ("RF18K2026000123") in text,
    normalised, in the order they appear, without repeats."""
    upper = (text or "").upper()
    found: list[str] = []
    for hit in _CASE_REF.finditer(upper):
        year, number = int(hit[1]), int(hit[2])
        if year >= 1000 and number >= 1:
            found.append(case_reference(year, number))
    for hit in _RF_START.finditer(upper):
        rf = _rf_at(upper, hit.start())
        if rf:
            found.append(rf)
    return list(dict.fromkeys(found))


def _rf_at(text: str, start: int) -> str | None:
    """The valid RF reference starting at `start`: written solid, or in groups of four."""
    tail = text[start:start + 40]
    solid = re.match(r"RF\s?\d{2}[A-Z0-9]{1,21}", tail)
    grouped = re.match(r"RF\d{2}(?: [A-Z0-9]{4})*(?: [A-Z0-9]{1,4})?", tail)
    for form in (grouped, solid):
        compact = "".join(form[0].split()) if form else ""
        if is_valid_rf_reference(compact):
            return compact
    return None


def match(entry_amount_cents: int, entry_name: str | None, entry_text: str | None,
          candidates: list[Candidate]) -> Match:
    """The case a credit pays, by the first rule that decides it.

    1. a case reference in the description; 2. an RF reference; 3. exactly one open case whose
    balance equals the amount and whose debtor's name resembles the payer's. Several cases
    for one rule make the match ambiguous (an admin decides); no case at all, no match.
    """
    if entry_amount_cents <= 0:
        return NO_MATCH
    found = set(references_in(entry_text))
    for rule, key in (("reference", lambda c: c.reference), ("rf", lambda c: c.rf_reference)):
        hits = [c for c in candidates if key(c) and key(c).upper() in found]
        if hits:
            return _decide(rule, hits)
    hits = [c for c in candidates
            if c.balance_cents == entry_amount_cents and names_resemble(c.debtor_name, entry_name)]
    return _decide("amount_name", hits) if hits else NO_MATCH


def _decide(rule: str, hits: list[Candidate]) -> Match:
    ids = tuple(dict.fromkeys(c.case_id for c in hits))
    if len(ids) == 1:
        return Match(ids[0], rule, case_ids=ids)
    return Match(None, rule, ambiguous=True, case_ids=ids)


def name_tokens(name: str | None) -> set[str]:
    """The telling words of a name: no accents, case, punctuation, initials or particles."""
    plain = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    words = re.split(r"[^a-z0-9]+", plain)
    return {word for word in words if len(word) >= 3 and word not in _STOPWORDS}


def names_resemble(debtor_name: str | None, payer_name: str | None) -> bool:
    """Whether the payer could be the debtor: they share a telling word (most often the surname).

    "J. de Vries" and "DE VRIES J" resemble; "Jansen" and "Janssen" do not (a typo is a
    case for an admin, not a guess).
    """
    return bool(name_tokens(debtor_name) & name_tokens(payer_name))
