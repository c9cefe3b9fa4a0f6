"""Both catalogues hold every message the console asks for: the templates' and the
code's (Babel's extraction), every rule and alert code, the policy's tiers and the
roles; and the formatters show China time and yuan."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from console.catalogues import code_names, untranslated, wanted
from console.formats import china_date, china_time, money, tier_name
from console.i18n import LANGUAGES, translations


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_no_message_lacks_a_translation(language: str) -> None:
    assert untranslated(language) == []


def test_extraction_finds_the_templates_and_the_code_and_the_codes() -> None:
    found = set(wanted())
    assert (None, "Sign in") in found  # a template's
    assert (None, "Wrong username or password.") in found  # the code's
    assert (None, "Genealogy") in found  # marked with N_ (the navigation)
    assert ("rule", "hoarding-70") in found and ("tier", "vip") in found
    assert set(code_names()) <= found


def test_tiers_and_rules_read_in_each_language() -> None:
    zh, en = translations("zh_CN"), translations("en")
    assert [tier_name(zh, t) for t in ("partner", "general", "first", "vip")] == [
        "联创", "总代", "一级", "特约"]
    assert tier_name(en, "partner") == "Partner"
    assert zh.pgettext("rule", "pyramid-risk") == "传销风险"
    assert tier_name(zh, "diamond") == "diamond"  # a tier a later policy adds: as it is


def test_times_dates_and_money_as_people_in_china_read_them() -> None:
    close = datetime(2026, 1, 31, 16, 3, 52, tzinfo=UTC)
    assert china_time(close) == "2026-02-01 00:03"
    assert china_time(close, seconds=True) == "2026-02-01 00:03:52"
    assert china_date(close) == "2026-02-01"
    assert china_date(date(2026, 3, 15)) == "2026-03-15"
    assert money(123456) == "¥1,234.56"
    assert money(-5) == "-¥0.05"
    assert money(0) == "¥0.00"


def test_the_check_sees_a_message_a_catalogue_lacks(tmp_path, monkeypatch) -> None:
    """The check itself: the English catalogue less one message and one tier name, and
    with one translation emptied, is found lacking exactly those."""
    from babel.messages.catalog import Catalog

    from console import catalogues

    english = catalogues.read("en")
    shorter = Catalog(locale="en")
    for message in english:
        if message.id and message.id not in ("Sign in", "vip"):
            text = "" if message.id == "Username" else message.string
            shorter.add(message.id, text, context=message.context)
    monkeypatch.setattr(catalogues, "read", lambda language: shorter)
    assert sorted(untranslated("en"), key=str) == sorted(
        [(None, "Sign in"), (None, "Username"), ("tier", "vip")], key=str)
