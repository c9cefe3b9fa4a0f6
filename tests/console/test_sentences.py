"""Sentences that carry more than ids: a policy's version says from when it is in force
(in China time), a dispute's resolution names its outcome in the page's language."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from api.events import plain
from console.i18n import translations
from console.sentences import sentence


def said(language: str, name: str, stream: str, **fields: object) -> str:
    event = SimpleNamespace(name=name, stream=stream, fields=plain(fields))  # as fields_of
    return sentence(translations(language), event)


def test_a_policy_version_says_from_when_it_is_in_force() -> None:
    issued = {"version": 2, "effective_from": datetime(2026, 1, 31, 16, 0, tzinfo=UTC),
              "document": {}}
    assert said("zh_CN", "PolicyIssued", "policy-book", **issued) == \
        "政策第 2 版发布，自 2026-02-01 00:00 起生效"
    assert said("en", "PolicyIssued", "policy-book", **issued) == \
        "Policy version 2 issued, in force from 2026-02-01 00:00"


def test_a_resolved_dispute_names_its_outcome_in_the_language() -> None:
    resolved = {"agent": "A2", "dispute": "D1", "outcome": "partly-upheld",
                "adjustment_fen": 1250}
    zh = said("zh_CN", "DisputeResolved", "dispute-D1", **resolved)
    assert "部分支持" in zh and "partly-upheld" not in zh and "¥12.50" in zh
    assert "(partly upheld)" in said("en", "DisputeResolved", "dispute-D1", **resolved)
