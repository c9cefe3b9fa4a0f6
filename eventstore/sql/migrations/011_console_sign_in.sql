-- People signing in to the HQ console: a username and an argon2 hash of a password per
-- principal (HQ roles only: an agent or a regulator never signs in there), the misses
-- that lock it for a while, and server-side sessions. A session's cookie holds a random
-- secret stored only as its sha256, as a bearer token is (004_principals.sql).
CREATE TABLE console_logins (
    tenant        text        NOT NULL,
    principal     text        NOT NULL,
    username      text        NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    password_hash text        NOT NULL,  -- argon2id, PHC string (salt and parameters in it)
    misses        int         NOT NULL DEFAULT 0,  -- wrong passwords in a row
    locked_until  timestamptz,
    changed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, principal),
    UNIQUE (tenant, username),
    FOREIGN KEY (tenant, principal) REFERENCES principals (tenant, principal)
);

CREATE TABLE console_sessions (
    tenant       text        NOT NULL,
    session_hash bytea       NOT NULL CHECK (octet_length(session_hash) = 32),
    principal    text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    seen_at      timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,  -- the absolute end, whatever it does
    ended_at     timestamptz,           -- signed out, or its password was reset
    PRIMARY KEY (tenant, session_hash),
    FOREIGN KEY (tenant, principal) REFERENCES principals (tenant, principal)
);
CREATE INDEX console_sessions_by_principal ON console_sessions (tenant, principal);

REVOKE ALL ON console_logins, console_sessions FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON console_logins, console_sessions TO weiledger_app;
