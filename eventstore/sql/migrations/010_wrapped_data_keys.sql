-- Personal-data keys are kept wrapped by a key-encryption key (KEK) held outside the
-- database (eventstore/kek.py): `wrapped` is AES-GCM under the KEK whose id is `kek`.
-- `key` (the unwrapped form of 002) stays only until the first start with a KEK wraps
-- the rows that have it (eventstore/vault.py, wrap_legacy_keys); new rows never use it.
ALTER TABLE personal_data_keys
    ALTER COLUMN key DROP NOT NULL,
    ADD COLUMN wrapped bytea,
    ADD COLUMN kek text,
    ADD CONSTRAINT personal_data_keys_one_form
        CHECK ((key IS NULL) <> (wrapped IS NULL) AND (wrapped IS NULL) = (kek IS NULL));

-- The KEK that wraps every key now (its id, never the key): a new key is stored only
-- under it (the insert checks), so a process still holding the KEK of before a
-- rotation cannot add a key that the rotation's end would make unreadable.
CREATE TABLE personal_data_kek (
    only_one boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    kek      text    NOT NULL
);
REVOKE ALL ON personal_data_kek FROM PUBLIC;
-- The service records the first KEK of a fresh database; only a rotation (the owner)
-- changes it, as only a rotation re-wraps keys.
GRANT SELECT, INSERT ON personal_data_kek TO weiledger_app;
