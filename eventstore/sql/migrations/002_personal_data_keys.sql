-- Per-subject data keys for personal data (name, 身份证 number, phone).
-- Events hold only ciphertext; the key lives here, outside the append-only chain, so
-- deleting a row (forget) erases the person while every event and hash stays intact.
CREATE TABLE personal_data_keys (
    tenant     text        NOT NULL,
    subject    text        NOT NULL,  -- e.g. 'agent:A1'
    key        bytea       NOT NULL CHECK (octet_length(key) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, subject)
);

REVOKE ALL ON personal_data_keys FROM PUBLIC;
-- No UPDATE: a key is never replaced, only created or destroyed.
GRANT SELECT, INSERT, DELETE ON personal_data_keys TO weiledger_app;
