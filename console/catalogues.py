"""What the catalogues must hold: every message of the templates and the code (Babel's
extraction: `_()`, `gettext()`, `pgettext()`, `N_()`), and the name of every code the
ledger shows (rules and alerts, the policy's tiers, the roles) under its context.

    .venv/bin/python -m console.catalogues

adds each missing message to both .po files with an empty translation, and lists what
still lacks one; tests/console/test_catalogues.py fails while anything does.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from console.i18n import LANGUAGES, po_path
from domain.errors import Rule
from domain.policy.model import DEFAULT_POLICY
from eventstore.principals import Role

HERE = Path(__file__).parent
Key = tuple[str | None, str]  # (context, message id)


def code_names() -> list[Key]:
    names: list[Key] = [("rule", rule.value) for rule in Rule]
    names += [("tier", tier) for tier, _ in DEFAULT_POLICY.tiers]
    names += [("role", role.value) for role in Role]
    return names


def wanted() -> list[Key]:
    """Every message the console may ask a catalogue for, in a stable order."""
    found: dict[Key, None] = {}
    extracted = extract_from_dir(
        HERE,
        method_map=[("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract")],
        options_map={"templates/**.html": {"trimmed": "true"}},
    )
    for _file, _line, message, _comments, context in extracted:
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found[(context, msgid)] = None
    for key in code_names():
        found[key] = None
    return list(found)


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as source:
        return read_po(source, locale=language)


# Header lines Babel writes anew each time (dates, placeholders): left out, so that
# adding a message changes only that message's lines.
_CHURN = re.compile(rb'^"(Report-Msgid-Bugs-To|POT-Creation-Date|PO-Revision-Date|'
                    rb'Last-Translator|Language-Team): .*\\n"\n', re.MULTILINE)


def write(language: str, catalog: Catalog) -> None:
    out = io.BytesIO()
    write_po(out, catalog, width=100)
    po_path(language).write_bytes(_CHURN.sub(b"", out.getvalue()))


def untranslated(language: str) -> list[Key]:
    """What the console asks for and `language`'s catalogue lacks (or holds unfinished:
    empty or fuzzy)."""
    catalog = read(language)
    lacking = []
    for context, msgid in wanted():
        message = catalog.get(msgid, context=context)
        if message is None or not message.string or message.fuzzy:
            lacking.append((context, msgid))
    return lacking


def update() -> dict[str, list[Key]]:
    """Add what is missing to each catalogue (empty: to translate); what lacks a
    translation, per language."""
    for language in LANGUAGES:
        catalog = read(language)
        new = [key for key in wanted() if catalog.get(key[1], context=key[0]) is None]
        for context, msgid in new:
            catalog.add(msgid, "", context=context)
        if new:  # else the file stays as it is, byte for byte
            write(language, catalog)
    return {language: untranslated(language) for language in LANGUAGES}


if __name__ == "__main__":
    for language, lacking in update().items():
        print(f"{language}: {len(lacking)} message(s) without a translation")
        for context, msgid in lacking:
            print(f"  {context + ': ' if context else ''}{msgid}")
