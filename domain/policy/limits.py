"""Hard limits: what no policy version may say, whatever HQ wants.

They are the marks of pyramid selling (禁止传销条例 Art. 7) and the direct-selling
ceilings (直销管理条例 Art. 24: own sales only, at most 30%), plus the depth ceiling.
rules.hard_limit refuses a policy beyond them; settlement's plan checks them again.
"""

from __future__ import annotations

from decimal import Decimal

MAX_COMMISSION_SHARE = Decimal("0.30")
MAX_OVERRIDE_LEVELS = 1
MAX_DEPTH = 5
