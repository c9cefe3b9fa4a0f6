-- Who may call the API: principals (a person, a system, or one agent's self-service
-- login) and their bearer tokens. A token is stored only as sha256 of its random
-- secret (high entropy, so a plain hash suffices); the secret is shown once, when issued.
-- Every table carries the tenant, so the schema distributes by tenant unchanged.
CREATE TABLE principals (
    tenant     text        NOT NULL,
    principal  text        NOT NULL,  -- e.g. 'p-3f9a…'
    name       text        NOT NULL,
    role       text        NOT NULL CHECK (role IN
                   ('admin', 'operations', 'compliance', 'auditor', 'regulator', 'agent')),
    agent      text,                  -- the agent an agent principal is; NULL otherwise
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, principal),
    CHECK ((role = 'agent') = (agent IS NOT NULL))
);
CREATE UNIQUE INDEX principals_one_per_agent ON principals (tenant, agent) WHERE agent IS NOT NULL;

CREATE TABLE api_tokens (
    tenant     text        NOT NULL,
    token_hash bytea       NOT NULL CHECK (octet_length(token_hash) = 32),
    principal  text        NOT NULL,
    label      text        NOT NULL,  -- the first characters of the token, to name it safely
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (tenant, token_hash),
    FOREIGN KEY (tenant, principal) REFERENCES principals (tenant, principal)
);
CREATE INDEX api_tokens_by_principal ON api_tokens (tenant, principal);

REVOKE ALL ON principals, api_tokens FROM PUBLIC;
-- No DELETE: a principal or a token is revoked, never erased (an audit trail of access).
GRANT SELECT, INSERT ON principals TO weiledger_app;
GRANT SELECT, INSERT, UPDATE ON api_tokens TO weiledger_app;
