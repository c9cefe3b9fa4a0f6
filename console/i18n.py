"""The console's languages: gettext catalogues (console/locale/<lang>/LC_MESSAGES/
messages.po), Chinese by default, English on request, remembered in a cookie.

Message ids are English. The .po files are the only source: each is compiled in memory
when the process starts (Babel's read_po and write_mo), so there is no .mo to build,
commit or let go stale. tests/console/test_catalogues.py fails on any string of the
templates or the code that a catalogue lacks.

Names the ledger gives as codes travel with a context: `pgettext("rule", "depth-limit")`
(every rule code and alert of domain.errors.Rule), `pgettext("tier", "partner")` (the
policy's tiers); console/formats.py has their filters.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"zh_CN": "中文", "en": "English"}  # catalogue -> its own name for itself
DEFAULT = "zh_CN"
COOKIE = "wl_lang"
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def N_(message: str) -> str:
    """Marks a message for the catalogues where it is defined; translated where shown."""
    return message


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> Translations:
    with po_path(language).open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def language_of(request: Request) -> str:
    """The chosen language (its cookie), else the default: Chinese."""
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT
