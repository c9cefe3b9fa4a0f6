"""The settlement ledger: facts in, statements out at each period's close.

It carries what must survive from one close to the next: how far each agent's brackets
are filled for each period, which sales are paid and what their lines paid for, and
the returns not yet settled. Everything is judged by business time, never by when a
fact was fed or a close was run, so the statements are a function of the facts and the
list of closed periods: the projection and an export verifier get the same numbers.

- The close of period P happens at the first instant of the next month (CST).
- A sale is paid at the first close at which its return window has passed; until then
  it waits (rolls over), and then fills the brackets of its own period, after the sales
  of that period already paid.
- A return before its sale is paid shrinks the sale; a return after is clawed back on
  the statement of the close that follows it.
- A resolved dispute's adjustment goes on the agent's statement at the next close.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from domain.compliance.rules import tax_flag
from domain.periods import period_end, period_of, require_aware
from domain.settlement.commissions import clawback_lines, sale_lines
from domain.settlement.facts import AdjustmentFact, Line, ReturnFact, SaleFact, Statement
from domain.settlement.plan import DEFAULT_PLAN, CommissionPlan

PlanFor = Callable[[datetime], CommissionPlan]


class SettlementError(ValueError):
    """A fact the ledger cannot take; the message starts with a DOMAIN.md rule code."""


@dataclass(frozen=True, slots=True)
class Payment:
    """A paid sale: the units its lines paid for, the lines, and the units since returned."""

    sale: SaleFact
    units: int
    lines: tuple[Line, ...]
    returned: int = 0


@dataclass(slots=True)
class _Close:
    """What a close would change; `close` applies it, `preview` throws it away."""

    statements: tuple[Statement, ...] = ()
    fills: dict[tuple[str, str], int] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    settled: dict[str, list[ReturnFact]] = field(default_factory=dict)
    adjusted: list[AdjustmentFact] = field(default_factory=list)


class Ledger:
    """Feed it facts (in any order, as long as none falls in a closed period) and close
    periods in order; each close returns the statements it issues."""

    def __init__(self, plan: CommissionPlan | PlanFor = DEFAULT_PLAN) -> None:
        # The plan in force at a sale's business time pays it; the one in force at the
        # period's end (when DOMAIN.md closes it, whenever the close is recorded) decides
        # the tax flag, once: the tax-flag alert reads it from the statement.
        fixed = plan
        self._plan_for: PlanFor = (
            (lambda _at: fixed) if isinstance(fixed, CommissionPlan) else fixed
        )
        self._sales: dict[str, SaleFact] = {}
        self._pending: dict[str, SaleFact] = {}  # not yet paid
        self._returns: dict[str, list[ReturnFact]] = {}  # not yet settled, per sale
        self._returned: dict[str, tuple[int, int]] = {}  # all returns: units, fen
        self._paid: dict[str, Payment] = {}
        self._adjustments: list[AdjustmentFact] = []  # not yet on a statement
        self._fill: dict[tuple[str, str], int] = {}  # (agent, own period) -> fen filled
        self._closed: str | None = None

    @property
    def last_closed(self) -> str | None:
        return self._closed

    def payment(self, sale_id: str) -> Payment | None:
        return self._paid.get(sale_id)

    def filled_fen(self, agent: str, period: str) -> int:
        """How much of `agent`'s brackets for `period` paid sales have filled so far."""
        return self._fill.get((agent, period), 0)

    def _check_open(self, at: datetime, what: str) -> None:
        if self._closed is not None and at < period_end(self._closed):
            raise SettlementError(f"period-closed: {what} at {at.isoformat()} is in {self._closed}")

    def record_sale(self, sale: SaleFact) -> None:
        if sale.sale_id in self._sales:
            raise SettlementError(f"duplicate-sale: {sale.sale_id}")
        self._check_open(sale.business_time, f"sale {sale.sale_id}")
        self._sales[sale.sale_id] = sale
        self._pending[sale.sale_id] = sale

    def record_return(self, ret: ReturnFact) -> None:
        sale = self._sales.get(ret.sale_id)
        if sale is None:
            raise SettlementError(f"unknown-sale: {ret.sale_id}")
        self._check_open(ret.business_time, f"return of {ret.sale_id}")
        if ret.business_time < sale.business_time:
            raise SettlementError(f"return-window: return of {ret.sale_id} before the sale")
        units, fen = self._returned.get(ret.sale_id, (0, 0))
        units, fen = units + ret.units, fen + ret.amount_fen
        # All units back means all money back; otherwise a sale with no units left could
        # still carry an amount and pay commission on nothing.
        if (
            units > sale.units
            or fen > sale.amount_fen
            or (units == sale.units and fen != sale.amount_fen)
        ):
            raise SettlementError(
                f"return-exceeds-sale: {units} units / {fen} fen returned of sale "
                f"{ret.sale_id} ({sale.units} units / {sale.amount_fen} fen)"
            )
        self._returned[ret.sale_id] = (units, fen)
        self._returns.setdefault(ret.sale_id, []).append(ret)

    def record_adjustment(self, adjustment: AdjustmentFact) -> None:
        self._check_open(adjustment.business_time, f"adjustment of {adjustment.dispute_id}")
        self._adjustments.append(adjustment)

    def close(self, period: str) -> tuple[Statement, ...]:
        """Close `period` at its end: pay what is due, claw back what came back."""
        change = self._compute(period, period_end(period))
        self._fill.update(change.fills)
        for sale_id, payment in change.payments.items():
            self._paid[sale_id] = payment
            self._pending.pop(sale_id, None)
        for sale_id, done in change.settled.items():
            left = [r for r in self._returns[sale_id] if r not in done]
            if left:
                self._returns[sale_id] = left
            else:
                del self._returns[sale_id]
        self._adjustments = [a for a in self._adjustments if a not in change.adjusted]
        self._closed = period
        return change.statements

    def preview(self, period: str, at: datetime | None = None) -> tuple[Statement, ...]:
        """What closing `period` would issue, from the facts known before `at`, changing
        nothing. Freeze is still judged at the period's close, as the real close will:
        a sale whose window ends before then shows as paid, a later one as rolling over."""
        known = period_end(period) if at is None else require_aware(at)
        return self._compute(period, known).statements

    def _compute(self, period: str, known_before: datetime) -> _Close:
        if self._closed is not None and period <= self._closed:
            raise SettlementError(f"period-closed: {period} (closed up to {self._closed})")
        close_at = period_end(period)
        known = min(known_before, close_at)
        change = _Close()
        lines: dict[str, list[Line]] = defaultdict(list)

        # A sale is due once its return window has passed at the close (freeze); the
        # plan in force at the sale says how long the window is and pays it. A window
        # that ends at the very instant of the close has not passed: a no-reason return
        # is still accepted then (orders.rules.return_window: both ends are in it).
        due = sorted(
            (
                (sale, plan)
                for sale in self._pending.values()
                if sale.business_time < known
                for plan in (self._plan_for(sale.business_time),)
                if sale.business_time + timedelta(days=plan.return_days) < close_at
            ),
            key=lambda due: (due[0].business_time, due[0].sale_id),
        )
        for sale, plan in due:
            before = [r for r in self._returns.get(sale.sale_id, ()) if r.business_time < known]
            units = sale.units - sum(r.units for r in before)
            net = sale.amount_fen - sum(r.amount_fen for r in before)
            key = (sale.seller, sale.period)
            filled = change.fills.get(key, self._fill.get(key, 0))
            paid = sale_lines(sale, net, filled, plan)
            change.fills[key] = filled + net
            change.payments[sale.sale_id] = Payment(sale, units, paid)
            if before:
                change.settled[sale.sale_id] = before
            for line in paid:
                lines[line.agent].append(line)

        late = sorted(
            (
                r
                for sale_id, rets in self._returns.items()
                if sale_id in self._paid
                for r in rets
                if r.business_time < known
            ),
            key=lambda r: (r.business_time, r.source),
        )
        for ret in late:
            payment = change.payments.get(ret.sale_id, self._paid[ret.sale_id])
            for line in clawback_lines(payment.lines, payment.units, payment.returned, ret):
                lines[line.agent].append(line)
            change.payments[ret.sale_id] = replace(payment, returned=payment.returned + ret.units)
            change.settled.setdefault(ret.sale_id, []).append(ret)

        closing = self._plan_for(close_at)
        for adjustment in sorted(
            (a for a in self._adjustments if a.business_time < known),
            key=lambda a: (a.business_time, a.source),
        ):
            lines[adjustment.agent].append(
                Line(
                    kind="adjustment",
                    agent=adjustment.agent,
                    sale_id=adjustment.dispute_id,
                    sale_source=adjustment.source,
                    period=period_of(adjustment.business_time),
                    base_fen=adjustment.amount_fen,
                    rate=Decimal(1),
                    amount_fen=adjustment.amount_fen,
                    policy_version=closing.version,
                )
            )
            change.adjusted.append(adjustment)
        change.statements = tuple(
            Statement(
                agent=agent,
                period=period,
                lines=tuple(agent_lines),
                tax_flag=tax_flag.flagged(
                    sum(line.amount_fen for line in agent_lines), closing.tax_flag_fen
                ),
                policy_version=closing.version,
            )
            for agent, agent_lines in sorted(lines.items())
        )
        return change


def settle(
    plan: CommissionPlan | PlanFor,
    sales: Iterable[SaleFact],
    returns: Iterable[ReturnFact],
    periods: Iterable[str],
) -> Mapping[str, tuple[Statement, ...]]:
    """A whole history at once: every fact, then each period closed in order."""
    ledger = Ledger(plan)
    for sale in sales:
        ledger.record_sale(sale)
    for ret in returns:
        ledger.record_return(ret)
    return {period: ledger.close(period) for period in periods}
