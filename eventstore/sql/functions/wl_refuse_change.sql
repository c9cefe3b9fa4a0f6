-- Append-only in the database itself, whoever connects: the triggers on events (001)
-- call this on UPDATE, DELETE and TRUNCATE. The hash chain catches what a superuser
-- does anyway (by disabling the triggers).
CREATE OR REPLACE FUNCTION wl_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
