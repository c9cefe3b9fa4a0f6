"""What any command may say, whichever way it came in (HTTP, a journal line, the CLI).

domain.journal.parse_command applies these to every command's object, so the API and
the importer cannot disagree, and nothing a projection cannot store gets recorded:

- text: no control character (C0, DEL, C1: PostgreSQL refuses NUL in text, and none of
  them belongs in a name, an id or a reason) and no lone surrogate (not UTF-8 at all);
  ids at most MAX_ID characters, any other text at most MAX_TEXT.
- money and quantities: a unit at most MAX_UNIT_PRICE_FEN (a suggested or a paid price),
  at most MAX_QTY units in one command, a priced command (a sale; a purchase or buy-back
  that names its prices) at most MAX_AMOUNT_FEN, any amount at all at most MAX_MONEY_FEN.
  A purchase priced by the tier moves at most MAX_QTY x MAX_UNIT_PRICE_FEN = 10^12 fen.
  The read models keep sums per agent and period in bigint (9.2 x 10^18): one of them
  can then overflow only after 920 million maximal sales (or 9.2 million maximal
  purchases) by one agent in one month, where a few sales of 10^17 fen did before.
- time: business times from YEARS[0] to YEARS[1], with their offset.
- shape: at most MAX_LINES lines, documents nested at most MAX_DEPTH deep.
"""

from __future__ import annotations

import re

MAX_ID = 64
MAX_TEXT = 500
MAX_LINES = 50
MAX_DEPTH = 8
MAX_QTY = 100_000  # units in one command, all its lines together
MAX_UNIT_PRICE_FEN = 10_000_000  # 100,000.00 CNY a unit (a suggested or paid price)
MAX_AMOUNT_FEN = 10_000_000_000  # 100,000,000.00 CNY: one sale, purchase or buy-back
MAX_MONEY_FEN = 1_000_000_000_000  # 10,000,000,000.00 CNY: any amount a command names
YEARS = (2000, 2099)


# Unicode's Cc (C0, DEL, C1) and Cs (surrogates): one regex search, not a loop per char.
_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def bad_character(text: str) -> str | None:
    """The first character no text of the ledger may hold, as U+XXXX (None: clean)."""
    found = _BAD.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"
