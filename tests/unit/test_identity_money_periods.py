"""身份证 check digits and age, fen and half-up rounding, CST periods."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.agents.identity import birth_date, check_character, mask_id_number
from domain.agents.rules import invalid_id_number, under_age
from domain.errors import Refused, first
from domain.money import format_cny, parse_cny, round_fen, share_of
from domain.periods import last_periods, period_end, period_of, period_start

# From the sample journals: valid ones (one ends in X) and the one with a wrong digit.
FEB_30 = "11010119930230123"  # right check digit, no such day
NEXT_YEAR = "11010120270101123"  # born after the business time
VALID = ["110101198001011005", "11010119960517116X", "11010119841123122X", "110101201003017894"]



def check_identity(number: str, at: datetime) -> Refused | None:
    return first([invalid_id_number(number, at), under_age(number, at)])


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers_give_their_birth_date(number: str) -> None:
    assert birth_date(number) == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


@pytest.mark.parametrize(
    "number",
    ["110101199003071234", "11010119960517116x1", "1101011996051711", "11010119960517116Y",
     FEB_30 + check_character(FEB_30)],
)  # fmt: skip
def test_invalid_numbers_are_refused(number: str) -> None:
    assert birth_date(number) is None
    refused = check_identity(number, datetime(2026, 1, 1, tzinfo=UTC))
    assert refused is not None and refused.rule == "invalid-id-number"


def test_a_birth_date_after_the_business_time_is_not_a_valid_number() -> None:
    refused = check_identity(
        NEXT_YEAR + check_character(NEXT_YEAR), datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert refused is not None and refused.rule == "invalid-id-number"


def test_age_is_judged_on_the_cst_calendar_day() -> None:
    base = "11010120080105"  # born 2008-01-05: 18 on 2026-01-05 in China
    number = base + "123" + check_character(base + "123")
    # 2026-01-04 17:00 UTC is already 2026-01-05 01:00 in Beijing
    assert check_identity(number, datetime(2026, 1, 4, 17, tzinfo=UTC)) is None
    too_young = check_identity(number, datetime(2026, 1, 4, 15, tzinfo=UTC))
    assert too_young is not None and too_young.numbers == {"age": 17, "minimum": 18}


def test_masking_keeps_region_and_last_four() -> None:
    assert mask_id_number("110101199003071233") == "110101********1233"


def test_money_is_integer_fen_parsed_from_decimal_strings() -> None:
    assert parse_cny("49.50") == 4950
    assert parse_cny("1000") == 100_000
    assert format_cny(4950) == "49.50" and format_cny(-5) == "-0.05"
    for bad in ["49.505", "abc", "NaN", 49.5]:
        with pytest.raises(ValueError):
            parse_cny(bad)


def test_rounding_is_half_up_to_the_fen() -> None:
    assert round_fen(Decimal("2.5")) == 3 and round_fen(Decimal("-2.5")) == -3
    assert share_of(9_900, Decimal("0.75")) == 7_425
    assert share_of(95_111, Decimal("0.03")) == 2_853  # 2853.33


def test_periods_are_cst_calendar_months() -> None:
    # 2026-01-31 16:00 UTC is 2026-02-01 00:00 in Beijing
    assert period_of(datetime(2026, 1, 31, 15, 59, tzinfo=UTC)) == "2026-01"
    assert period_of(datetime(2026, 1, 31, 16, 0, tzinfo=UTC)) == "2026-02"
    assert period_start("2026-02") == datetime(2026, 1, 31, 16, tzinfo=UTC)
    assert period_end("2026-12") == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert last_periods(datetime(2026, 2, 3, tzinfo=UTC), 3) == ["2025-11", "2025-12", "2026-01"]
