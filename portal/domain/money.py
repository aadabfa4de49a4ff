"""Money helpers: amounts are integer cents everywhere; Decimal only inside a calculation."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_WHOLE_CENT = Decimal(1)
_HUNDRED = Decimal(100)
# A plain amount as typed in a form or a CSV: optional minus, digits, optional '.' decimals.
# Thousands separators and decimal commas are refused rather than guessed at.
_PLAIN_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")


def round_half_up(cents: Decimal) -> int:
    """Round an amount in (fractional) cents half up to a whole cent.

    Half up means away from zero on an exact half, so -0.5 cent becomes -1 cent, which keeps
    a credit and its charge symmetrical.
    """
    if not cents.is_finite():
        raise ValueError(f"cannot round {cents!r} to cents")
    return int(cents.quantize(_WHOLE_CENT, rounding=ROUND_HALF_UP))


def cents_to_decimal(cents: int) -> Decimal:
    """Turn integer cents into a Decimal amount in euros with two decimals (1234 -> 12.34)."""
    return Decimal(cents).scaleb(-2)


def to_cents(value: str | Decimal) -> int:
    """Parse an amount in euros ("1234.56" or Decimal("1234.56")) into integer cents.

    Strings must use a '.' decimal point and no thousands separators. More than two
    decimals raises ValueError unless the extra digits are zeros ("1.230" is 123 cents):
    silently rounding a typed amount would change what the user meant.
    """
    amount = _parse(value)
    cents = amount * _HUNDRED
    if cents != cents.to_integral_value():
        raise ValueError(f"{value!r} has more than two decimals")
    return int(cents)


def _parse(value: str | Decimal) -> Decimal:
    # bool and float are refused on purpose: a float has already lost the exact amount.
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip()
        if not _PLAIN_AMOUNT.fullmatch(text):
            raise ValueError(f"{value!r} is not an amount like 1234.56")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the pattern already guards this
            raise ValueError(f"{value!r} is not an amount") from exc
    else:
        raise TypeError(f"expected str or Decimal, got {type(value).__name__}")
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    return amount


def split_pro_rata(total: int, weights: dict[int, int]) -> dict[int, int]:
    """`total` cents split in proportion to `weights` (rounded down); the cents left over go
    to the largest weight (the lowest key on a tie). The shares add up to `total` exactly."""
    whole = sum(weights.values())
    if whole <= 0:
        raise ValueError("nothing to split over")
    shares = {key: total * weight // whole for key, weight in weights.items()}
    largest = min(weights, key=lambda key: (-weights[key], key))
    shares[largest] += total - sum(shares.values())
    return shares
