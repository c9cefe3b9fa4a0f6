"""Settlement (结算): the pure maths of monthly statements.

Facts in (`SaleFact`, `ReturnFact`), a `CommissionPlan` cut from the policy, and a
`Ledger` that closes periods in order and issues one `Statement` per agent with lines.
No I/O and no clock: the projection and the export verifier both drive it.
"""

from domain.settlement.facts import (
    AdjustmentFact,
    Line,
    LineKind,
    ReturnFact,
    SaleFact,
    Statement,
)
from domain.settlement.ledger import Ledger, Payment, PlanFor, SettlementError, settle
from domain.settlement.plan import (
    DEFAULT_PLAN,
    CommissionPlan,
    PolicyNumbers,
    plan_from_policy,
)

__all__ = [
    "DEFAULT_PLAN",
    "AdjustmentFact",
    "CommissionPlan",
    "Ledger",
    "Line",
    "LineKind",
    "Payment",
    "PlanFor",
    "PolicyNumbers",
    "ReturnFact",
    "SaleFact",
    "SettlementError",
    "Statement",
    "plan_from_policy",
    "settle",
]
