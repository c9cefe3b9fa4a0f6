-- Refusals remembered under their idempotency key (a journal line's, an API client's), so
-- a repeated key answers the refusal it got the first time instead of being judged anew
-- against a ledger that has moved on; listable by compliance and exported. A refusal
-- records no event, so it lives beside the log, not in it. Never changed once kept.
CREATE TABLE refusals (
    tenant        text        NOT NULL,
    key           text        NOT NULL,
    id            bigint      GENERATED ALWAYS AS IDENTITY,  -- the order they were made in
    command       text        NOT NULL,  -- the journal command: 'sale', 'join'…
    rule          text        NOT NULL,
    numbers       jsonb       NOT NULL,
    actor         text        NOT NULL,
    agent         text,                  -- the agent the command was about, if it names one
    business_time timestamptz NOT NULL,
    request_id    text,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    head_position bigint      NOT NULL,  -- the log's last position when it was refused
    PRIMARY KEY (tenant, key)
);
CREATE INDEX refusals_in_order ON refusals (tenant, id);
CREATE INDEX refusals_by_agent ON refusals (tenant, agent, id);

REVOKE ALL ON refusals FROM PUBLIC;
GRANT SELECT, INSERT ON refusals TO weiledger_app;
