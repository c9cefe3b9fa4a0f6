"""Compliance: the alerts that watch the network, disputes, and the ledger's clock.

rules.py judges one rule over plain numbers; facts.py and monitor.py keep, from the
event log, the numbers those rules need and say when a breach begins; alerts.py,
disputes.py and clock.py are the aggregates; service.py handles the people's commands.
"""
