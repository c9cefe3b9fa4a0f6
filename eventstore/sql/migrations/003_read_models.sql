-- Read models live in schemas of their own, one per projection (rm_<name>), created and
-- swapped by the projection runner under the service's role. A rebuild fills
-- rm_<name>__next and then renames it into place, checkpoint included, in one transaction.
DO $$
BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO weiledger_app', current_database());
END $$;

-- Why a projection stopped: a failing projection never skips an event, it halts here.
CREATE TABLE projection_failures (
    projection text        NOT NULL,
    tenant     text        NOT NULL,
    position   bigint      NOT NULL,
    error      text        NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, tenant)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON projection_failures TO weiledger_app;
