-- The console's Events page filtered by kind alone (eventstore/reads.py events_where):
-- without an index by name, a rare kind (PeriodClosed, CheckpointSigned) was found by
-- walking the whole log by position, 0.5-0.9 s on a brand of a million events.
--
-- On lower(name), not name: a plain (tenant, name, position) index was also a plan for
-- the projections' reads of the log (`name = ANY($n)` in position order), and PostgreSQL
-- took it with stale statistics and sorted hundreds of thousands of rows per batch. An
-- expression index serves only a query written on the same expression, so only the
-- console's `lower(name) = lower($n)` can use it; every other read plans as before.
CREATE INDEX events_by_kind ON events (tenant, lower(name), position);
