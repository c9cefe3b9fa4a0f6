-- The append, fast path first (measured in bench/append.py).
--
-- The per-request function of 001 checks each request with lookups whose plans
-- PL/pgSQL caches per connection: planned against a fresh, never-analysed events table
-- they stay sequential scans, and every append slows as the table grows. Here the whole
-- batch is hashed, then inserted in one statement; the unique indexes do the checking.
-- Its arrays are read in one pass (FOREACH, unnest): an element of an array of
-- variable-length values has no fixed offset, so subscripting them in a loop would be
-- quadratic, and a period close appends one statement per agent in one batch.
-- Any unique violation (a version conflict, a known idempotency key) and any tracking
-- send the batch to the careful per-request function, which judges each request on its
-- own exactly as before and is now re-planned at every call.
--
-- Followers are woken once per batch by a NOTIFY that PostgreSQL delivers at commit.

ALTER FUNCTION wl_append(text, int[], text[], bigint[], text[], bytea[], text[],
    timestamptz[], bytea[], text[], text[], bigint[]) RENAME TO wl_append_each;
ALTER FUNCTION wl_append_each(text, int[], text[], bigint[], text[], bytea[], text[],
    timestamptz[], bytea[], text[], text[], bigint[]) SET plan_cache_mode = force_custom_plan;

CREATE FUNCTION wl_append(
    p_tenant text, p_request int[], p_stream text[], p_version bigint[], p_name text[],
    p_payload bytea[], p_metadata text[], p_business_time timestamptz[], p_digest bytea[],
    p_key text[], p_track_app text[], p_track_id bigint[]
) RETURNS TABLE (request int, outcome text, first_position bigint, last_position bigint,
                 detail text)
LANGUAGE plpgsql AS $$
DECLARE
    n_events   int := coalesce(cardinality(p_stream), 0);
    n_req      int := coalesce(cardinality(p_key), 0);
    first_pos  bigint;
    head_pos   bigint;
    head_hash  bytea;
    rec_at     timestamptz;
    rec_micros bigint;
    digest     bytea;
    e_prev     bytea[] := '{}';
    e_hash     bytea[] := '{}';
BEGIN
    IF coalesce(cardinality(array_remove(p_track_app, NULL)), 0) > 0 THEN
        RETURN QUERY SELECT * FROM wl_append_each(p_tenant, p_request, p_stream, p_version,
            p_name, p_payload, p_metadata, p_business_time, p_digest, p_key, p_track_app,
            p_track_id);
        PERFORM pg_notify('weiledger_events', p_tenant || chr(10) || h.position)
           FROM chain_heads h WHERE h.tenant = p_tenant;
        RETURN;
    END IF;
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
    first_pos := head_pos + 1;
    IF n_events > 0 THEN
        FOREACH digest IN ARRAY p_digest LOOP
            e_prev := e_prev || head_hash;
            head_pos := head_pos + 1;
            head_hash := sha256(head_hash || int8send(head_pos) || int8send(rec_micros)
                                || digest);
            e_hash := e_hash || head_hash;
        END LOOP;
    END IF;
    BEGIN
        INSERT INTO events (tenant, position, stream, version, name, payload, metadata,
                            business_time, recorded_at, prev_hash, hash)
        SELECT p_tenant, first_pos + u.n - 1, u.stream, u.version, u.name, u.payload,
               u.metadata::jsonb, u.business_time, rec_at, u.prev, u.hash
          FROM unnest(p_stream, p_version, p_name, p_payload, p_metadata, p_business_time,
                      e_prev, e_hash)
               WITH ORDINALITY AS u(stream, version, name, payload, metadata, business_time,
                                    prev, hash, n);
        IF coalesce(cardinality(array_remove(p_key, NULL)), 0) > 0 THEN
            INSERT INTO idempotency_keys
            SELECT p_tenant, k.key, first_pos + min(e.n) - 1, first_pos + max(e.n) - 1, rec_at
              FROM unnest(p_key) WITH ORDINALITY AS k(key, r)
              LEFT JOIN unnest(p_request) WITH ORDINALITY AS e(r, n) ON e.r = k.r
             WHERE k.key IS NOT NULL
             GROUP BY k.key, k.r;
        END IF;
    EXCEPTION WHEN unique_violation THEN
        -- Nothing of the block stands; judge request by request.
        RETURN QUERY SELECT * FROM wl_append_each(p_tenant, p_request, p_stream, p_version,
            p_name, p_payload, p_metadata, p_business_time, p_digest, p_key, p_track_app,
            p_track_id);
        PERFORM pg_notify('weiledger_events', p_tenant || chr(10) || h.position)
           FROM chain_heads h WHERE h.tenant = p_tenant;
        RETURN;
    END;
    IF n_events > 0 THEN
        UPDATE chain_heads SET position = head_pos, hash = head_hash WHERE tenant = p_tenant;
        PERFORM pg_notify('weiledger_events', p_tenant || chr(10) || head_pos);
    END IF;
    RETURN QUERY
    SELECT k.r::int, 'ok'::text, first_pos + min(e.n) - 1, first_pos + max(e.n) - 1,
           NULL::text
      FROM generate_series(1, n_req) AS k(r)
      LEFT JOIN unnest(p_request) WITH ORDINALITY AS e(r, n) ON e.r = k.r
     GROUP BY k.r ORDER BY k.r;
END $$;

REVOKE ALL ON FUNCTION wl_append(text, int[], text[], bigint[], text[], bytea[], text[],
    timestamptz[], bytea[], text[], text[], bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wl_append(text, int[], text[], bigint[], text[], bytea[], text[],
    timestamptz[], bytea[], text[], text[], bigint[]) TO weiledger_app;
