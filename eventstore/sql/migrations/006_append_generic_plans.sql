-- wl_append's statements read no table but chain_heads (one row per tenant, by its key)
-- and write through unique indexes: none of their plans depends on the data. PostgreSQL
-- planned them afresh at every call all the same (custom plans), about 90 µs of the
-- 320 µs of CPU a one-event append costs its backend, measured sequentially on the
-- machine's PostgreSQL 15. wl_append_each, which looks streams and keys up in growing
-- tables, keeps its custom plans (005).
ALTER FUNCTION wl_append(text, int[], text[], bigint[], text[], bytea[], text[],
    timestamptz[], bytea[], text[], text[], bigint[]) SET plan_cache_mode = force_generic_plan;
