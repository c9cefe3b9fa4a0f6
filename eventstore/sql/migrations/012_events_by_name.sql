-- The console's events page filters by kind (AlertRaised, PeriodClosed…) in log order;
-- without this a rare kind is found by reading the whole log.
CREATE INDEX events_by_name ON events (tenant, name, position);
