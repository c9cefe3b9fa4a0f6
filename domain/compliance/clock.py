"""The ledger's clock, in stream "clock": a `tick` records that business time passed.

The ledger has no wall clock: its time is the business time of the latest command.
Rules with a deadline (entry loading, days of cover, an overdue dispute) are judged by
the watchers as that time passes them, so a command that says only "time passes" must
leave an event they can see, or a replay would not judge the same deadlines.
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate

CLOCK_STREAM = "clock"


class Clock(Aggregate):
    TOPIC = "Clock"

    class Event(Aggregate.Event):
        pass

    class Started(Event, Aggregate.Created):
        TOPIC = "ClockStarted"

    class Ticked(Event):
        TOPIC = "ClockTicked"

    Created = Started  # the library looks for 'Created'; one class, one topic
