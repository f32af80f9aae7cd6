-- roles.sql - the three group roles of the audit log (docs/audit.md, "Roles"). Roles belong to
-- the cluster, not to a database: `ajuste audit migrate` runs this every time, before the
-- migrations and unless --no-create-roles, and it creates only the roles that are absent, so a
-- second database in the same cluster, or a role a DBA made beforehand, is left as it is.
--
--   ajuste_owner    owns every table; the only role that may UPDATE, DELETE or TRUNCATE them
--   ajuste_writer   the sink: INSERT on the log, INSERT and SELECT on its own offsets
--   ajuste_auditor  SELECT only
--
-- All three are NOLOGIN: people and services log in as roles of their own that are members
-- (CREATE ROLE sink LOGIN IN ROLE ajuste_writer). A member of ajuste_owner still has to
-- SET ROLE ajuste_owner before the triggers let it change a row: changing the log is a
-- deliberate act, never a side effect of a login's inherited rights.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ajuste_owner', 'ajuste_writer', 'ajuste_auditor'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                -- Created meanwhile by a migrate of another database of the cluster.
                NULL;
            END;
        END IF;
    END LOOP;
END
$roles$;
