-- One person, one agent per brand (duplicate-identity): for each 身份证 number an agent
-- holds, its keyed digest (HMAC-SHA256 under the brand's key, kept in personal_data_keys
-- as 'brand:identity') and the agent. Beside the keys, outside the append-only chain, so
-- forgetting the agent deletes its row and the number is free again.
CREATE TABLE identity_digests (
    tenant     text        NOT NULL,
    digest     bytea       NOT NULL CHECK (octet_length(digest) = 32),
    agent      text        NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, digest)
);
CREATE INDEX identity_digests_by_agent ON identity_digests (tenant, agent);

REVOKE ALL ON identity_digests FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON identity_digests TO weiledger_app;
