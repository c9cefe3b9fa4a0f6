-- Record events at the head of the tenant's hash chain and move the head past them:
--     hash = sha256(prev_hash || int8(position) || int8(recorded_at µs) || digest)
-- (eventstore/chain.py recomputes the same sum). The caller holds the chain-head lock
-- (wl_append) and passes the head it read. The events are read in one pass (FOREACH,
-- unnest): an element of an array of variable-length values has no fixed offset, so
-- subscripting them in a loop would be quadratic, and a period close appends one
-- statement per agent in one batch. A unique violation (a version already taken) is
-- left to the caller.
CREATE OR REPLACE FUNCTION wl_extend_chain(
    p_tenant      text,
    p_head_pos    bigint,
    p_head_hash   bytea,
    p_recorded_at timestamptz,
    p_events      wl_new_event[],
    OUT head_pos  bigint,
    OUT head_hash bytea
)
LANGUAGE plpgsql
-- Its statements write through unique indexes and read nothing: see wl_append.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    rec_micros bigint := (extract(epoch FROM p_recorded_at) * 1000000)::bigint;
    event      wl_new_event;
    e_prev     bytea[] := '{}';
    e_hash     bytea[] := '{}';
BEGIN
    head_pos := p_head_pos;
    head_hash := p_head_hash;
    IF coalesce(cardinality(p_events), 0) = 0 THEN
        RETURN;
    END IF;
    FOREACH event IN ARRAY p_events LOOP
        e_prev := e_prev || head_hash;
        head_pos := head_pos + 1;
        head_hash := sha256(head_hash || int8send(head_pos) || int8send(rec_micros)
                            || event.digest);
        e_hash := e_hash || head_hash;
    END LOOP;
    INSERT INTO events (tenant, position, stream, version, name, payload, metadata,
                        business_time, recorded_at, prev_hash, hash)
    SELECT p_tenant, p_head_pos + u.n, u.stream, u.version, u.name, u.payload,
           u.metadata::jsonb, u.business_time, p_recorded_at, u.prev, u.hash
      FROM ROWS FROM (unnest(p_events), unnest(e_prev, e_hash))
           WITH ORDINALITY AS u(request, stream, version, name, payload, metadata,
                                business_time, digest, prev, hash, n);
    UPDATE chain_heads h SET position = head_pos, hash = head_hash
     WHERE h.tenant = p_tenant;
END $$;

REVOKE ALL ON FUNCTION wl_extend_chain(text, bigint, bytea, timestamptz, wl_new_event[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION wl_extend_chain(text, bigint, bytea, timestamptz, wl_new_event[])
    TO weiledger_app;
