"""The Monitor's shortcuts answer what the long way answers: the cheap predicate of a
rule, the cached CST day and period, the remembered lines of the tree."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.compliance.facts import AgentFacts, Network
from domain.compliance.judging import Judging
from domain.compliance.monitor import _decode, _transcoder
from domain.compliance.rules import (
    days_of_cover,
)
from domain.compliance.rules.thresholds import Thresholds
from domain.periods import cst_date, cst_day_end, period_of
from domain.policy.model import DEFAULT_POLICY

T = Thresholds.of(DEFAULT_POLICY)
T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("on_hand", [-5, 0, 1, 89, 90, 91, 900, 2700, 2701])
@pytest.mark.parametrize("sold", [-3, 0, 1, 30, 31])
def test_cover_too_long_is_days_of_cover_without_its_numbers(on_hand: int, sold: int) -> None:
    lasts = days_of_cover.lasts(T, on_hand, sold)
    assert lasts is (days_of_cover.breach(T, on_hand, sold) is not None)


@pytest.mark.parametrize("day", [date(2026, 2, 28), date(2026, 3, 1), date(2026, 12, 31)])
def test_a_cst_day_ends_at_the_next_cst_midnight(day: date) -> None:
    end = cst_day_end(day)
    assert end.tzinfo is UTC
    assert cst_date(end) == day + timedelta(days=1)
    assert cst_date(end - timedelta(microseconds=1)) == day


def test_the_active_period_follows_times_back_and_forth_across_month_ends() -> None:
    judging = Judging()
    april = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)  # 1 April 00:00 CST
    times = [T0, april - timedelta(microseconds=1), april, T0, april + timedelta(days=40),
             april, T0 - timedelta(days=1)]  # fmt: skip
    for at in times:
        assert judging._period_active(at) == period_of(at)
    assert sorted(judging._periods) == ["2026-02", "2026-03", "2026-04", "2026-05"]


def test_a_line_is_asked_again_once_its_agent_joins() -> None:
    net = Network()
    net.join(AgentFacts("A", None, 1, T0, {}))
    assert net.line("B") == ("B",)  # a sale of an agent the watchers never saw join
    net.join(AgentFacts("B", "A", 2, T0, {}))
    net.join(AgentFacts("C", "B", 3, T0, {}))
    assert net.line("B") == ("B", "A")
    assert net.line("C") == ("C", "B", "A")


@pytest.mark.parametrize(
    "payload",
    [
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-03-02T04:00:00+00:00"},'
        b'"sale":"S1","lines":[{"sku":"TEA-01","qty":2,"unit_price":9900}]}',
        b'{"price":{"_type_":"decimal_str","_data_":"99.00"},"n":"\\u4ee3\\u7406"}',
        b' {"spaced": [1, 2]} ',
    ],
)
def test_a_payload_decodes_as_the_library_decodes_it(payload: bytes) -> None:
    assert _decode(payload) == _transcoder.decode(payload)


@pytest.mark.parametrize("payload", [b'{"a":1} trailing', b"[1]", b""])
def test_a_payload_that_is_no_json_object_fails_or_passes_as_with_the_library(
    payload: bytes,
) -> None:
    try:
        expected = _transcoder.decode(payload)
    except ValueError as error:
        with pytest.raises(type(error)):
            _decode(payload)
    else:
        assert _decode(payload) == expected
