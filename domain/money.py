"""Money is an integer number of fen (分). Decimal appears only at the edges.

Amounts arrive as decimal CNY strings ("49.50") and leave the same way; shares of an
amount (tier prices, floors) are computed in Decimal and rounded to the fen half up,
once, where the rule says so.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN_PER_YUAN = 100
# Plain digits, an optional sign and at most two decimals: no exponent ("1e30"), no
# spaces, no underscores, which Decimal() would take; at most 16 digits of yuan.
_CNY = re.compile(r"-?[0-9]{1,16}(\.[0-9]{1,2})?")


def parse_cny(text: object) -> int:
    """'49.50' -> 4950. Refuses floats, more than two decimals, and anything but plain
    decimal digits."""
    if not isinstance(text, str):
        raise ValueError(f"amount must be a decimal string, not {type(text).__name__}")
    if _CNY.fullmatch(text) is None:
        raise ValueError(f"amount {text[:40]!r} is not a decimal amount of CNY (e.g. 49.50)")
    fen = Decimal(text) * FEN_PER_YUAN
    return int(fen)


def format_cny(fen: int) -> str:
    """4950 -> '49.50'."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{cents:02d}"


def round_fen(value: Decimal) -> int:
    """A Decimal amount of fen rounded to a whole fen, half up (away from zero at .5)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def share_of(fen: int, share: Decimal) -> int:
    """`share` (e.g. Decimal('0.50')) of an amount, rounded to the fen half up."""
    return round_fen(Decimal(fen) * share)


def parse_share(text: object) -> Decimal:
    """'0.30' -> Decimal('0.30'); a share of an amount, 0..1 inclusive."""
    if not isinstance(text, str):
        raise ValueError(f"share must be a decimal string, not {type(text).__name__}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"share {text!r} is not a decimal number") from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"share {text!r} is not between 0 and 1")
    return value
