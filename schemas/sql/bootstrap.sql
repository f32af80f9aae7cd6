-- bootstrap.sql - what the migrations stand on (docs/audit.md, "Migrations"). `ajuste audit
-- migrate` runs it every time, in one transaction with roles.sql, as the connecting user (a
-- superuser, or the database's owner who is a member of ajuste_owner). Idempotent: it grants
-- only what is missing, so a database a DBA prepared by hand needs no privilege here.

-- The tables live in the database's public schema (give the audit log a database of its own).
-- Since PostgreSQL 15 only the database owner may create there: the owner role is given that
-- right, and the other two the USAGE PostgreSQL grants everyone by default, in case a DBA
-- revoked it.
DO $grants$
BEGIN
    IF NOT has_schema_privilege('ajuste_owner', 'public', 'CREATE') THEN
        GRANT USAGE, CREATE ON SCHEMA public TO ajuste_owner;
    END IF;
    IF NOT has_schema_privilege('ajuste_writer', 'public', 'USAGE') THEN
        GRANT USAGE ON SCHEMA public TO ajuste_writer;
    END IF;
    IF NOT has_schema_privilege('ajuste_auditor', 'public', 'USAGE') THEN
        GRANT USAGE ON SCHEMA public TO ajuste_auditor;
    END IF;
END
$grants$;

-- From here on every object is created by, hence owned by, ajuste_owner (until the end of the
-- transaction). The migrations run the same way.
SET LOCAL ROLE ajuste_owner;

-- The migrations applied, one row each, in the transaction that applied it. checksum is the
-- SHA-256 of the migration's text as the binary embeds it: a migration edited after it was
-- applied is refused rather than silently differing from the database.
CREATE TABLE IF NOT EXISTS ajuste_schema_migrations (
    version        integer     PRIMARY KEY CHECK (version > 0),
    name           text        NOT NULL,
    checksum       bytea       NOT NULL CHECK (octet_length(checksum) = 32),
    applied_at     timestamptz NOT NULL DEFAULT now(),
    applied_by     text        NOT NULL DEFAULT session_user,
    ajuste_version text        NOT NULL
);
COMMENT ON TABLE ajuste_schema_migrations IS
    'Migrations of schemas/sql applied by ajuste audit migrate (docs/audit.md).';
REVOKE ALL ON ajuste_schema_migrations FROM PUBLIC;
-- The sink checks the schema version before it writes; auditors may see it.
GRANT SELECT ON ajuste_schema_migrations TO ajuste_writer, ajuste_auditor;
