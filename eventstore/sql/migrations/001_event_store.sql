-- The event store: one append-only events table per database, keyed by tenant (brand),
-- with a hash chain whose head row doubles as the tenant's append lock.

DO $$
BEGIN
    CREATE ROLE weiledger_app NOLOGIN;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE TABLE events (
    tenant        text        NOT NULL,
    position      bigint      NOT NULL,
    stream        text        NOT NULL,
    version       bigint      NOT NULL,
    name          text        NOT NULL,
    payload       bytea       NOT NULL,
    metadata      jsonb       NOT NULL,
    business_time timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL,
    prev_hash     bytea       NOT NULL,
    hash          bytea       NOT NULL,
    PRIMARY KEY (tenant, position),
    UNIQUE (tenant, stream, version)
);
CREATE INDEX events_by_business_time ON events (tenant, business_time, position);

-- One row per tenant: the last position and hash. Appends lock it FOR UPDATE, which
-- serialises appenders per tenant and so makes positions gapless and in commit order.
CREATE TABLE chain_heads (
    tenant   text   PRIMARY KEY,
    position bigint NOT NULL,
    hash     bytea  NOT NULL
);

CREATE TABLE idempotency_keys (
    tenant         text        NOT NULL,
    key            text        NOT NULL,
    first_position bigint,
    last_position  bigint,
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant, key)
);

CREATE TABLE tracking (
    tenant           text   NOT NULL,
    application_name text   NOT NULL,
    notification_id  bigint NOT NULL,
    PRIMARY KEY (tenant, application_name, notification_id)
);

-- Append-only in the database itself, whoever connects; the hash chain catches what a
-- superuser does anyway (by disabling this trigger).
CREATE FUNCTION wl_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION wl_refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION wl_refuse_change();

-- Append a batch of requests (group commit) for one tenant in one round trip.
-- Events arrive as parallel arrays, p_request[i] naming the request (1-based, ascending)
-- that event i belongs to; p_key / p_track_* are per request. Each request is judged on
-- its own: a replayed idempotency key or a version / tracking conflict rejects that
-- request only. Checks run under the chain-head lock, so no concurrent appender can slip
-- between a check and the insert; the unique constraints stay as the backstop.
-- hash = sha256(prev_hash || int8(position) || int8(recorded_at µs) || digest), where the
-- digest of the event's canonical bytes is computed by the caller (eventstore/chain.py).
CREATE FUNCTION wl_append(
    p_tenant        text,
    p_request       int[],
    p_stream        text[],
    p_version       bigint[],
    p_name          text[],
    p_payload       bytea[],
    p_metadata      text[],
    p_business_time timestamptz[],
    p_digest        bytea[],
    p_key           text[],
    p_track_app     text[],
    p_track_id      bigint[]
) RETURNS TABLE (request int, outcome text, first_position bigint, last_position bigint,
                 detail text)
LANGUAGE plpgsql AS $$
DECLARE
    n_events   int := coalesce(cardinality(p_stream), 0);
    head_pos   bigint;
    head_hash  bytea;
    rec_at     timestamptz;
    rec_micros bigint;
    r          int;
    i          int := 1;
    j          int;
    lo         int;
    hi         int;
    first_pos  bigint;
    last_pos   bigint;
    clash      text;
    last_track bigint;
    req_prev   bytea[];
    req_hash   bytea[];
BEGIN
    SELECT h.position, h.hash INTO head_pos, head_hash
      FROM chain_heads h WHERE h.tenant = p_tenant FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO chain_heads VALUES (p_tenant, 0, decode(repeat('00', 32), 'hex'))
            ON CONFLICT DO NOTHING;
        SELECT h.position, h.hash INTO head_pos, head_hash
          FROM chain_heads h WHERE h.tenant = p_tenant FOR UPDATE;
    END IF;
    -- Taken after the lock, so recorded times rise with positions.
    rec_at := clock_timestamp();
    rec_micros := (extract(epoch FROM rec_at) * 1000000)::bigint;

    FOR r IN 1 .. coalesce(cardinality(p_key), 0) LOOP
        lo := i;
        WHILE i <= n_events AND p_request[i] = r LOOP
            i := i + 1;
        END LOOP;
        hi := i - 1;

        IF p_key[r] IS NOT NULL THEN
            SELECT k.first_position, k.last_position INTO first_pos, last_pos
              FROM idempotency_keys k WHERE k.tenant = p_tenant AND k.key = p_key[r];
            IF FOUND THEN
                RETURN QUERY SELECT r, 'replayed', first_pos, last_pos, NULL::text;
                CONTINUE;
            END IF;
        END IF;

        clash := NULL;
        IF hi >= lo THEN
            SELECT n.s || '@' || n.v INTO clash
              FROM unnest(p_stream[lo:hi], p_version[lo:hi]) AS n(s, v)
             WHERE EXISTS (SELECT 1 FROM events e
                            WHERE e.tenant = p_tenant AND e.stream = n.s AND e.version = n.v)
             LIMIT 1;
            IF clash IS NULL THEN
                SELECT n.s || '@' || n.v INTO clash
                  FROM unnest(p_stream[lo:hi], p_version[lo:hi]) AS n(s, v)
                 GROUP BY n.s, n.v HAVING count(*) > 1 LIMIT 1;
            END IF;
        END IF;
        IF clash IS NOT NULL THEN
            RETURN QUERY SELECT r, 'conflict', NULL::bigint, NULL::bigint, clash;
            CONTINUE;
        END IF;

        IF p_track_app[r] IS NOT NULL THEN
            SELECT max(t.notification_id) INTO last_track FROM tracking t
             WHERE t.tenant = p_tenant AND t.application_name = p_track_app[r];
            IF last_track >= p_track_id[r] THEN
                RETURN QUERY SELECT r, 'tracking', NULL::bigint, NULL::bigint,
                    p_track_app[r] || ' already at ' || last_track;
                CONTINUE;
            END IF;
            INSERT INTO tracking VALUES (p_tenant, p_track_app[r], p_track_id[r]);
        END IF;

        first_pos := CASE WHEN hi >= lo THEN head_pos + 1 END;
        IF hi >= lo THEN
            req_prev := '{}';
            req_hash := '{}';
            FOR j IN lo .. hi LOOP
                req_prev := req_prev || head_hash;
                head_pos := head_pos + 1;
                head_hash := sha256(head_hash || int8send(head_pos) || int8send(rec_micros)
                                    || p_digest[j]);
                req_hash := req_hash || head_hash;
            END LOOP;
            -- Inserted per request, so the next request's conflict check sees these rows.
            INSERT INTO events (tenant, position, stream, version, name, payload, metadata,
                                business_time, recorded_at, prev_hash, hash)
            SELECT p_tenant, first_pos + a.n - 1, p_stream[lo + a.n - 1],
                   p_version[lo + a.n - 1], p_name[lo + a.n - 1], p_payload[lo + a.n - 1],
                   p_metadata[lo + a.n - 1]::jsonb, p_business_time[lo + a.n - 1], rec_at,
                   a.prev, a.h
              FROM unnest(req_prev, req_hash) WITH ORDINALITY AS a(prev, h, n);
        END IF;
        IF p_key[r] IS NOT NULL THEN
            INSERT INTO idempotency_keys VALUES (
                p_tenant, p_key[r], first_pos, CASE WHEN hi >= lo THEN head_pos END, rec_at);
        END IF;
        RETURN QUERY SELECT r, 'ok', first_pos, CASE WHEN hi >= lo THEN head_pos END,
            NULL::text;
    END LOOP;

    UPDATE chain_heads SET position = head_pos, hash = head_hash
     WHERE tenant = p_tenant AND position <> head_pos;
END $$;

REVOKE ALL ON events, chain_heads, idempotency_keys, tracking FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO weiledger_app;
GRANT SELECT, INSERT ON events, idempotency_keys, tracking TO weiledger_app;
GRANT SELECT, INSERT, UPDATE ON chain_heads TO weiledger_app;
GRANT SELECT ON schema_migrations TO weiledger_app;
GRANT EXECUTE ON FUNCTION wl_append(text, int[], text[], bigint[], text[], bytea[], text[],
    timestamptz[], bytea[], text[], text[], bigint[]) TO weiledger_app;
