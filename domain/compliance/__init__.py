"""Compliance: the alerts that watch the network, disputes, and the ledger's clock.

rules/ holds each alert rule in a module of its own (what it watches, when it fires)
and the rules of the compliance commands; facts.py, monitor.py and judging.py keep,
from the event log, the numbers those rules need and say when a breach begins; alerts.py,
disputes.py and clock.py are the aggregates; service.py handles the people's commands.
"""
