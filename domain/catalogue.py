"""Every aggregate the ledger stores events of.

Importing this module defines their event classes, which registers each stable name
(TOPIC) with the library, so any process can decode any stored event, even one that
never imported the module that records it (a CLI check, an export verifier).
"""

from domain.agents.model import Agent
from domain.compliance.alerts import Alert
from domain.compliance.clock import Clock
from domain.compliance.disputes import Dispute
from domain.orders.products import Product
from domain.orders.sales import Sale
from domain.orders.stock import Stock
from domain.policy.book import PolicyBook
from domain.settlement.model import IssuedStatement, SettlementPeriod

AGGREGATES = (
    Agent,
    Alert,
    Clock,
    Dispute,
    IssuedStatement,
    PolicyBook,
    Product,
    Sale,
    SettlementPeriod,
    Stock,
)
