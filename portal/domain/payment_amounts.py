"""The amount a debtor types to pay, and whether it may be paid online."""

from __future__ import annotations

import re
from decimal import Decimal

# "12", "12,5", "12,50", "12.50", "1.234,56", "1,234.56", "1 234,56", with or without "€".
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_GROUPED = re.compile(r"\d{1,3}(?:[.,]\d{3})+")


def parse_euros(text: str) -> int:
    """An amount in euros as people type it, in cents; ValueError when it is not one.

    The last separator followed by one or two digits is the decimal mark ("12,50", "12.50");
    other separators only group thousands ("1.234,56", "1,234.56", "1.000"). Anything with
    more than two decimals, a sign or letters is refused rather than guessed at.
    """
    clean = re.sub(r"\s|\u00a0|€|(?i:eur)", "", text or "")
    if not _NUMBER.fullmatch(clean):
        raise ValueError(f"{text!r} is not an amount")
    whole, decimals = clean, ""
    tail = re.search(r"[.,](\d{1,2})$", clean)
    if tail:
        whole, decimals = clean[: tail.start()], tail.group(1)
    if re.search(r"[.,]", whole):
        marks = set(re.findall(r"[.,]", whole))
        mixed = len(marks) > 1 or (tail is not None and clean[tail.start()] in marks)
        if mixed or not _GROUPED.fullmatch(whole):
            raise ValueError(f"{text!r} is not an amount")
        whole = re.sub(r"[.,]", "", whole)
    return int(Decimal(whole) * 100 + Decimal(decimals.ljust(2, "0")))


def refusal(amount_cents: int, *, owed_cents: int, minimum_cents: int,
            instalment_left_cents: int | None = None) -> str | None:
    """Why `amount_cents` cannot be paid now, or None when it can.

    Reasons: "nothing_owed", "not_positive", "above_balance", "below_minimum". The client's
    minimum does not apply to paying everything that is owed or exactly what is left of an
    instalment (the last bit of a debt is often smaller than the minimum).
    """
    if owed_cents <= 0:
        return "nothing_owed"
    if amount_cents <= 0:
        return "not_positive"
    if amount_cents > owed_cents:
        return "above_balance"
    exact = {owed_cents} | ({instalment_left_cents} if instalment_left_cents else set())
    if amount_cents < minimum_cents and amount_cents not in exact:
        return "below_minimum"
    return None
