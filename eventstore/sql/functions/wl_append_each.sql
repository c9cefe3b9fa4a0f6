-- wl_append's careful path: judge each request of the batch on its own, in order, under
-- the chain-head lock the caller holds (p_head_pos, p_head_hash: the head it read). A
-- replayed idempotency key answers with the positions it recorded; a version already
-- taken (in the store or twice in the request) or a tracking position not past the
-- application's last rejects that request only. Each request's events are recorded
-- before the next is judged, so its checks see them.
CREATE OR REPLACE FUNCTION wl_append_each(
    p_tenant      text,
    p_head_pos    bigint,
    p_head_hash   bytea,
    p_recorded_at timestamptz,
    p_requests    wl_append_request[],
    p_events      wl_new_event[]
) RETURNS SETOF wl_append_outcome
LANGUAGE plpgsql
-- It looks streams, keys and tracking up in growing tables: planned at every call, so a
-- plan made while they were small never outlives its fitness (005).
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    head_pos   bigint := p_head_pos;
    head_hash  bytea := p_head_hash;
    req        wl_append_request;
    r          int := 0;
    lows       int[];
    highs      int[];
    slice      wl_new_event[];
    first_pos  bigint;
    last_pos   bigint;
    clash      text;
    last_track bigint;
BEGIN
    -- Each request's range of events, found in one pass over them (see wl_extend_chain).
    SELECT array_agg(b.lo ORDER BY k.r), array_agg(b.hi ORDER BY k.r) INTO lows, highs
      FROM generate_series(1, coalesce(cardinality(p_requests), 0)) AS k(r)
      LEFT JOIN (SELECT e.request, min(e.n)::int AS lo, max(e.n)::int AS hi
                   FROM unnest(p_events) WITH ORDINALITY
                        AS e(request, stream, version, name, payload, metadata,
                             business_time, digest, n)
                  GROUP BY e.request) AS b ON b.request = k.r;

    FOREACH req IN ARRAY coalesce(p_requests, '{}') LOOP
        r := r + 1;
        slice := CASE WHEN lows[r] IS NOT NULL THEN p_events[lows[r]:highs[r]] END;

        IF req.key IS NOT NULL THEN
            SELECT k.first_position, k.last_position INTO first_pos, last_pos
              FROM idempotency_keys k WHERE k.tenant = p_tenant AND k.key = req.key;
            IF FOUND THEN
                RETURN QUERY SELECT r, 'replayed', first_pos, last_pos, NULL::text;
                CONTINUE;
            END IF;
        END IF;

        clash := NULL;
        IF slice IS NOT NULL THEN
            SELECT n.stream || '@' || n.version INTO clash
              FROM unnest(slice) AS n
             WHERE EXISTS (SELECT 1 FROM events e
                            WHERE e.tenant = p_tenant AND e.stream = n.stream
                              AND e.version = n.version)
             LIMIT 1;
            IF clash IS NULL THEN
                SELECT n.stream || '@' || n.version INTO clash
                  FROM unnest(slice) AS n
                 GROUP BY n.stream, n.version HAVING count(*) > 1 LIMIT 1;
            END IF;
        END IF;
        IF clash IS NOT NULL THEN
            RETURN QUERY SELECT r, 'conflict', NULL::bigint, NULL::bigint, clash;
            CONTINUE;
        END IF;

        IF req.track_app IS NOT NULL THEN
            SELECT max(t.notification_id) INTO last_track FROM tracking t
             WHERE t.tenant = p_tenant AND t.application_name = req.track_app;
            IF last_track >= req.track_id THEN
                RETURN QUERY SELECT r, 'tracking', NULL::bigint, NULL::bigint,
                    req.track_app || ' already at ' || last_track;
                CONTINUE;
            END IF;
            INSERT INTO tracking VALUES (p_tenant, req.track_app, req.track_id);
        END IF;

        first_pos := CASE WHEN slice IS NOT NULL THEN head_pos + 1 END;
        SELECT c.head_pos, c.head_hash INTO head_pos, head_hash
          FROM wl_extend_chain(p_tenant, head_pos, head_hash, p_recorded_at, slice) AS c;
        last_pos := CASE WHEN slice IS NOT NULL THEN head_pos END;
        IF req.key IS NOT NULL THEN
            INSERT INTO idempotency_keys
            VALUES (p_tenant, req.key, first_pos, last_pos, p_recorded_at);
        END IF;
        RETURN QUERY SELECT r, 'ok', first_pos, last_pos, NULL::text;
    END LOOP;
END $$;

REVOKE ALL ON FUNCTION wl_append_each(text, bigint, bytea, timestamptz, wl_append_request[],
    wl_new_event[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wl_append_each(text, bigint, bytea, timestamptz,
    wl_append_request[], wl_new_event[]) TO weiledger_app;
