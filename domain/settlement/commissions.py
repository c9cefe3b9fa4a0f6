"""The commission maths of one sale: brackets, override, the 30% cap, clawbacks.

Pure functions of integers and Decimals, no state: the Ledger decides *when* a sale is
paid and with which bracket fill, these decide *how much*. Rounding is per line, to the
fen, half up (DOMAIN.md), done once where a line is made and never on a sum.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import ROUND_FLOOR, Decimal

from domain.money import round_fen
from domain.settlement.facts import Line, ReturnFact, SaleFact
from domain.settlement.plan import CommissionPlan


def div_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator to a whole number, half away from zero, exactly in integers."""
    if denominator <= 0:
        raise ValueError(f"denominator must be positive: {denominator}")
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return -magnitude if numerator < 0 else magnitude


def bracket_segments(
    filled_fen: int, amount_fen: int, brackets: tuple[tuple[int, Decimal], ...]
) -> Iterator[tuple[int, int, Decimal]]:
    """(bracket index, fen in it, rate) for `amount_fen` laid on top of `filled_fen`.

    Marginal like tax brackets: a sale that crosses a boundary yields two segments.
    """
    end = filled_fen + amount_fen
    for index, (start, rate) in enumerate(brackets):
        stop = brackets[index + 1][0] if index + 1 < len(brackets) else end
        low, high = max(filled_fen, start), min(end, stop)
        if high > low:
            yield index, high - low, rate


def bracket_lines(
    sale: SaleFact, net_fen: int, filled_fen: int, plan: CommissionPlan
) -> tuple[Line, ...]:
    """The personal retail bonus lines of a sale worth `net_fen` after earlier returns,
    filling its seller's brackets for the sale's own period from `filled_fen` on."""
    return tuple(
        Line(
            kind="bracket",
            agent=sale.seller,
            sale_id=sale.sale_id,
            sale_source=sale.source,
            period=sale.period,
            base_fen=base,
            rate=rate,
            amount_fen=round_fen(Decimal(base) * rate),
            policy_version=plan.version,
            bracket=index,
        )
        for index, base, rate in bracket_segments(filled_fen, net_fen, plan.brackets)
    )


def override_line(sale: SaleFact, net_fen: int, plan: CommissionPlan) -> Line | None:
    """The direct sponsor's override on the sale, if the plan switches overrides on.

    One level only (a hard limit the plan enforces): the sponsor's sponsor gets nothing.
    """
    if not plan.override_on or sale.sponsor is None or net_fen == 0:
        return None
    return Line(
        kind="override",
        agent=sale.sponsor,
        sale_id=sale.sale_id,
        sale_source=sale.source,
        period=sale.period,
        base_fen=net_fen,
        rate=plan.override_rate,
        amount_fen=round_fen(Decimal(net_fen) * plan.override_rate),
        policy_version=plan.version,
    )


def cap_fen(net_fen: int, plan: CommissionPlan) -> int:
    # Rounded down: "at most 30%" must hold after rounding, so the cap never rounds up.
    return int((Decimal(net_fen) * plan.cap).to_integral_value(rounding=ROUND_FLOOR))


def apply_cap(lines: tuple[Line, ...], net_fen: int, plan: CommissionPlan) -> tuple[Line, ...]:
    """Trim the lines of one sale so their sum is at most the cap on its net amount.

    The override is trimmed first (pay on a downline's sales is what the law frowns on),
    then the bracket lines from the highest bracket down; each trimmed line says by how
    much, so the statement explains itself.
    """
    excess = sum(line.amount_fen for line in lines) - cap_fen(net_fen, plan)
    if excess <= 0:
        return lines
    order = sorted(
        range(len(lines)),
        key=lambda i: (lines[i].kind != "override", -(lines[i].bracket or 0)),
    )
    trimmed = list(lines)
    for i in order:
        cut = min(excess, trimmed[i].amount_fen)
        if cut:
            line = trimmed[i]
            trimmed[i] = replace(line, amount_fen=line.amount_fen - cut, capped_fen=cut)
            excess -= cut
    return tuple(trimmed)


def sale_lines(
    sale: SaleFact, net_fen: int, filled_fen: int, plan: CommissionPlan
) -> tuple[Line, ...]:
    """Every line a sale pays when it is paid: its brackets, the override, capped."""
    lines = bracket_lines(sale, net_fen, filled_fen, plan)
    override = override_line(sale, net_fen, plan)
    if override is not None:
        lines = (*lines, override)
    return apply_cap(lines, net_fen, plan)


def clawback_lines(
    paid: tuple[Line, ...], paid_units: int, returned_before: int, ret: ReturnFact
) -> tuple[Line, ...]:
    """Negative lines reversing `ret.units` of the `paid_units` the lines `paid` for.

    Each line gives back its share at its own rate and version, never today's. The share
    is taken cumulatively (what `returned_before + units` of `paid_units` is worth, less
    what `returned_before` was worth), each rounded to the fen half up: for a single
    return this is exactly round(amount x units / paid_units), and however a sale comes
    back in pieces the clawbacks of a line add up to at most what it paid, to the fen.
    Lines that give back nothing (0% brackets) are left out.
    """
    returned_after = returned_before + ret.units
    if returned_after > paid_units:
        raise ValueError(
            f"return-exceeds-sale: {ret.units} more units of sale {ret.sale_id} returned, "
            f"{returned_before} of {paid_units} paid units already returned"
        )

    def share(fen: int, units: int) -> int:
        return div_half_up(fen * units, paid_units)

    out: list[Line] = []
    for line in paid:
        amount = share(line.amount_fen, returned_after) - share(line.amount_fen, returned_before)
        if amount == 0:
            continue
        base = share(line.base_fen, returned_after) - share(line.base_fen, returned_before)
        out.append(
            replace(
                line,
                kind="clawback",
                base_fen=-base,
                amount_fen=-amount,
                return_source=ret.source,
                capped_fen=0,
            )
        )
    return tuple(out)
