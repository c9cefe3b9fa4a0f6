-- wl_append takes a batch as two arrays of records, its requests (wl_append_request) and
-- their events (wl_new_event), instead of twelve parallel arrays, and its definition
-- moves to sql/functions/, one file per function, which the migration runner applies
-- after the migrations and again whenever a file changes (as Message DB installs its
-- functions). What 001 and 005 created under the old signatures is dropped here, so an
-- upgraded database ends with exactly the functions of a fresh one.
--
-- A type a function takes is schema, not function: change one in a new migration (drop
-- and create it, with CASCADE); the runner then re-applies every function file that no
-- longer has its function in the database.

DROP FUNCTION wl_append(text, int[], text[], bigint[], text[], bytea[], text[],
    timestamptz[], bytea[], text[], text[], bigint[]);
DROP FUNCTION wl_append_each(text, int[], text[], bigint[], text[], bytea[], text[],
    timestamptz[], bytea[], text[], text[], bigint[]);

-- One request of a batch: its idempotency key and its tracking (application, position),
-- each NULL when the request has none.
CREATE TYPE wl_append_request AS (
    key       text,
    track_app text,
    track_id  bigint
);

-- One event to append: the request it belongs to (1-based, ascending through the batch),
-- its row, and the digest of its canonical bytes, computed by the caller
-- (eventstore/chain.py).
CREATE TYPE wl_new_event AS (
    request       int,
    stream        text,
    version       bigint,
    name          text,
    payload       bytea,
    metadata      text,
    business_time timestamptz,
    digest        bytea
);

-- What wl_append answers for each request: 'ok' or 'replayed' with its positions (none
-- for a request without events), or 'conflict' / 'tracking' with the detail.
CREATE TYPE wl_append_outcome AS (
    request        int,
    outcome        text,
    first_position bigint,
    last_position  bigint,
    detail         text
);
