"""身份证 (resident identity card) numbers, GB 11643-1999, and the age they give
(the rules invalid-id-number and under-age are in rules.py).

18 characters: 6-digit region, 8-digit birth date (YYYYMMDD), 3-digit sequence, and a
check character: the weighted sum of the first 17 digits (weights 2^(17-i) mod 11)
mod 11 indexes "10X98765432".
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
ADULT_AGE = 18


def check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def birth_date(number: str) -> date | None:
    """The birth date in a well-formed number; None when the number is not valid."""
    number = number.upper()
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return None
    if check_character(number[:17]) != number[17]:
        return None
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def mask_id_number(number: str) -> str:
    """110101199003071233 -> 110101********1233 (region and last four only)."""
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    """13800000001 -> 138****0001."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str) -> str:
    """王芳 -> 王*."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


# One person, one agent per brand (duplicate-identity), judged without the number in the
# clear: the vault keeps, per number held, its keyed digest and the agent holding it.
# The key is the brand's own (in the vault under IDENTITY_SUBJECT), so a digest from one
# brand says nothing about another's, and nobody without the key can test a guessed number
# against the table (18 digits with a check character and a birth date are few enough to
# enumerate: a plain hash would give every number away).
IDENTITY_SUBJECT = "brand:identity"


def identity_digest(key: bytes, number: str) -> bytes:
    """HMAC-SHA256 of the number as written on the card (upper-case X)."""
    return hmac.new(key, number.strip().upper().encode(), hashlib.sha256).digest()


def same_number(a: str, b: str) -> bool:
    return a.strip().upper() == b.strip().upper()
