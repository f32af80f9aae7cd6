-- 0001_audit_log.sql - the auditor's correction log: corrections, invoice headers, the sink's
-- input offsets; who may do what; append-only triggers (docs/audit.md).
--
-- A migration is schemas/sql/NNNN_name.sql, NNNN its version (1, 2, 3... without gaps). It is
-- embedded in the binary at build time and applied once by `ajuste audit migrate`, in a
-- transaction of its own (so it must not BEGIN or COMMIT) as ajuste_owner, which therefore owns
-- everything it creates. It is never edited once released: the database keeps its SHA-256 and
-- migrate refuses a migration whose text changed. A change is a new migration.
--
-- Money is bigint micro-units (1 = 0.000001 of the row's currency), exactly aj_money
-- (common/aj_money.h) and the Avro schemas' longs: stored as computed, never rounded or
-- converted. ajuste_amount(x) shows one as an exact numeric with 6 decimals.
--
-- Tamper evidence (filled by the sink, checked by `ajuste audit verify`, both to come): the rows
-- of a table form one hash chain per input partition of the sink ("chain", "<topic>:<partition>"),
-- numbered 1, 2, 3... by chain_seq in the order the sink read them. row_hash is the SHA-256 of
-- prev_hash followed by the row's canonical content; prev_hash is the row_hash of the row before
-- it in its chain, 32 zero bytes for the first.

-- Amount in micro-units -> exact decimal amount (display only; never an intermediate of a sum).
CREATE FUNCTION ajuste_amount(micro bigint) RETURNS numeric
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT micro * 0.000001 $$;
COMMENT ON FUNCTION ajuste_amount(bigint) IS 'Micro-units as an exact numeric with 6 decimals.';

-- ---------------------------------------------------------------------------- corrections

CREATE TABLE corrections (
    correction_id      text     PRIMARY KEY,
    account            text     NOT NULL,
    cycle_id           text     NOT NULL,
    record_id          text     NOT NULL,
    record_kind        text     NOT NULL CHECK (record_kind IN ('USAGE', 'RECURRING', 'TAX', 'ONE_TIME')),
    service            text     NOT NULL,
    reason             text     NOT NULL CHECK (reason ~ '^[A-Z][A-Z0-9_]*$'),
    hypothesis         text     NOT NULL,
    legacy_amount      bigint   NOT NULL,
    corrected_amount   bigint   NOT NULL,
    delta              bigint   NOT NULL,
    currency           text     NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    contract_id        text     NOT NULL,
    contract_version   integer  NOT NULL,
    legacy_tariff_code text     NOT NULL,
    rule_trace         jsonb    NOT NULL CHECK (jsonb_typeof(rule_trace) = 'object'),
    disposition        text     NOT NULL CHECK (disposition IN ('APPLY', 'FLAG', 'HOLD')),
    invoice_id         text     NOT NULL,
    invoice_line       text     NOT NULL,
    late               boolean  NOT NULL,
    source_origin      text     NOT NULL,
    source_partition   integer  NOT NULL CHECK (source_partition >= -1),
    source_offset      bigint   NOT NULL CHECK (source_offset >= 0),
    pipeline_version   text     NOT NULL,
    chain              text     NOT NULL,
    chain_seq          bigint   NOT NULL CHECK (chain_seq >= 1),
    prev_hash          bytea    NOT NULL CHECK (octet_length(prev_hash) = 32),
    row_hash           bytea    NOT NULL CHECK (octet_length(row_hash) = 32),
    CONSTRAINT corrections_delta_check CHECK (delta = corrected_amount - legacy_amount),
    CONSTRAINT corrections_chain_start_check
        CHECK (chain_seq > 1 OR prev_hash = '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea),
    CONSTRAINT corrections_chain_key UNIQUE (chain, chain_seq)
);
COMMENT ON TABLE corrections IS
    'One row per correction (schemas/correction.v3.avsc), append-only, hash-chained per input partition (docs/audit.md).';
COMMENT ON COLUMN corrections.correction_id IS 'Deterministic id (COR-<record_id>...): the sink inserts ON CONFLICT DO NOTHING.';
COMMENT ON COLUMN corrections.legacy_amount IS 'What the legacy chain charged, micro-units (ajuste_amount() to show).';
COMMENT ON COLUMN corrections.corrected_amount IS 'What the contract says, micro-units.';
COMMENT ON COLUMN corrections.delta IS 'corrected_amount - legacy_amount, micro-units: negative removes an overcharge.';
COMMENT ON COLUMN corrections.rule_trace IS 'The rules that produced corrected_amount (RuleTrace of the Avro schema, field for field).';
COMMENT ON COLUMN corrections.source_origin IS 'Topic (or file) of the corrected input record; with source_partition and source_offset, where it came from.';
COMMENT ON COLUMN corrections.pipeline_version IS 'Version of ajuste that wrote the row.';
COMMENT ON COLUMN corrections.chain IS 'The hash chain: "<topic>:<partition>" of the sink''s input.';
COMMENT ON COLUMN corrections.chain_seq IS 'Position in the chain, 1, 2, 3... in the order the sink read the rows.';
COMMENT ON COLUMN corrections.prev_hash IS 'row_hash of chain_seq - 1 in the same chain; 32 zero bytes for chain_seq 1.';
COMMENT ON COLUMN corrections.row_hash IS 'SHA-256 of prev_hash followed by the row''s canonical content.';

-- The auditors' questions: an account's cycle, a cycle by reason, a legacy tariff code's damage,
-- the corrections behind an invoice.
CREATE INDEX corrections_account_cycle_idx ON corrections (account, cycle_id);
CREATE INDEX corrections_cycle_reason_idx ON corrections (cycle_id, reason);
CREATE INDEX corrections_tariff_idx ON corrections (legacy_tariff_code, cycle_id);
CREATE INDEX corrections_invoice_idx ON corrections (invoice_id);

-- ------------------------------------------------------------------------ invoice headers

-- The header of every invoice the pipeline emitted (schemas/invoice.v2.avsc without its lines):
-- ISSUED and RELEASED from the invoice output, HELD from the review output. A held invoice
-- released as it is keeps its id, so the key is the id and the status.
CREATE TABLE invoice_headers (
    invoice_id          text      NOT NULL,
    status              text      NOT NULL CHECK (status IN ('ISSUED', 'HELD', 'RELEASED')),
    account             text      NOT NULL,
    cycle_id            text      NOT NULL,
    revision            integer   NOT NULL CHECK (revision >= 1),
    status_reason       text      NOT NULL,
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL,
    issue_date          date      NOT NULL,
    due_date            date      NOT NULL,
    currency            text      NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    currency_decimals   smallint  NOT NULL CHECK (currency_decimals BETWEEN 0 AND 6),
    contract_id         text      NOT NULL,
    contract_versions   integer[] NOT NULL,
    line_count          integer   NOT NULL CHECK (line_count >= 0),
    correction_count    bigint    NOT NULL CHECK (correction_count >= 0),
    legacy_total        bigint    NOT NULL,
    corrected_total     bigint    NOT NULL,
    adjustment_total    bigint    NOT NULL,
    overcharge_removed  bigint    NOT NULL,
    undercharge_added   bigint    NOT NULL,
    flagged_overcharge  bigint    NOT NULL,
    flagged_undercharge bigint    NOT NULL,
    tax_total           bigint    NOT NULL,
    credit_total        bigint    NOT NULL,
    amount_due          bigint    NOT NULL,
    pipeline_version    text      NOT NULL,
    chain               text      NOT NULL,
    chain_seq           bigint    NOT NULL CHECK (chain_seq >= 1),
    prev_hash           bytea     NOT NULL CHECK (octet_length(prev_hash) = 32),
    row_hash            bytea     NOT NULL CHECK (octet_length(row_hash) = 32),
    PRIMARY KEY (invoice_id, status),
    CONSTRAINT invoice_headers_adjustment_check CHECK (adjustment_total = corrected_total - legacy_total),
    CONSTRAINT invoice_headers_period_check CHECK (period_end > period_start),
    CONSTRAINT invoice_headers_chain_start_check
        CHECK (chain_seq > 1 OR prev_hash = '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea),
    CONSTRAINT invoice_headers_chain_key UNIQUE (chain, chain_seq)
);
COMMENT ON TABLE invoice_headers IS
    'One row per emitted invoice and status (schemas/invoice.v2.avsc, lines left out), append-only, hash-chained (docs/audit.md).';
COMMENT ON COLUMN invoice_headers.amount_due IS 'What the customer owes, micro-units (the corrected total).';

CREATE INDEX invoice_headers_account_cycle_idx ON invoice_headers (account, cycle_id);
CREATE INDEX invoice_headers_cycle_status_idx ON invoice_headers (cycle_id, status);

-- ---------------------------------------------------------------------------- sink offsets

-- The sink's input positions, append-only like the log: each transaction of the sink inserts,
-- with its rows, one row per input partition it read: the batch [from_offset, next_offset) and
-- the partition's chain head after it. The position to resume from is the next_offset of the
-- row with the greatest from_offset. Two sinks that read the same position (a zombie after a
-- rebalance) both try to insert the same from_offset: the primary key lets one commit and
-- aborts the other's whole transaction, rows included. The writer never needs UPDATE.
CREATE TABLE sink_offsets (
    input_topic     text     NOT NULL,
    input_partition integer  NOT NULL CHECK (input_partition >= 0),
    from_offset     bigint   NOT NULL CHECK (from_offset >= 0),
    next_offset     bigint   NOT NULL,
    chain_seq       bigint   NOT NULL CHECK (chain_seq >= 0),
    chain_head      bytea    NOT NULL CHECK (octet_length(chain_head) = 32),
    rows_inserted   bigint   NOT NULL CHECK (rows_inserted >= 0),
    committed_at    timestamptz NOT NULL DEFAULT now(),
    committed_by    text     NOT NULL DEFAULT session_user,
    PRIMARY KEY (input_topic, input_partition, from_offset),
    CONSTRAINT sink_offsets_batch_check CHECK (next_offset > from_offset)
);
COMMENT ON TABLE sink_offsets IS
    'The sink''s committed input batches, one row per partition per transaction, append-only (docs/audit.md).';
COMMENT ON COLUMN sink_offsets.next_offset IS 'The offset to resume from after this batch.';
COMMENT ON COLUMN sink_offsets.chain_seq IS 'chain_seq of the last row of the partition''s chain after this batch (0: none yet).';
COMMENT ON COLUMN sink_offsets.chain_head IS 'row_hash of that row (32 zero bytes: none yet): where the sink resumes the chain.';

-- ------------------------------------------------------------------------ append-only guard

-- Refuses UPDATE, DELETE and TRUNCATE to everyone but the table's owner (current_user, so a
-- member of ajuste_owner must SET ROLE ajuste_owner first; a superuser too). Privileges already
-- refuse them to the writer and the auditor (SQLSTATE 42501); this is the second layer, for a
-- role granted too much by mistake and for superusers. SQLSTATE AJ001 (class AJ: ajuste).
CREATE FUNCTION ajuste_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    tbl_owner name := (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = TG_RELID);
BEGIN
    IF current_user = tbl_owner THEN
        IF TG_LEVEL = 'STATEMENT' THEN
            RETURN NULL;
        ELSIF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% on % refused: the audit log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'AJ001',
              DETAIL = format('Role %s is not the owner of %s.', current_user, TG_TABLE_NAME),
              HINT = format('Only %s may change or remove rows, after SET ROLE %s (docs/audit.md).',
                            tbl_owner, tbl_owner);
END
$fn$;
COMMENT ON FUNCTION ajuste_refuse_change() IS
    'Trigger: UPDATE, DELETE and TRUNCATE only by the table owner (SQLSTATE AJ001 otherwise).';

-- Statement level: refused before any row is touched, even an attempt that matches none.
-- Row level: the layer the issue asks for; it costs nothing, since rows are never updated.
CREATE TRIGGER corrections_refuse_statement BEFORE UPDATE OR DELETE OR TRUNCATE ON corrections
    FOR EACH STATEMENT EXECUTE FUNCTION ajuste_refuse_change();
CREATE TRIGGER corrections_refuse_row BEFORE UPDATE OR DELETE ON corrections
    FOR EACH ROW EXECUTE FUNCTION ajuste_refuse_change();
CREATE TRIGGER invoice_headers_refuse_statement BEFORE UPDATE OR DELETE OR TRUNCATE ON invoice_headers
    FOR EACH STATEMENT EXECUTE FUNCTION ajuste_refuse_change();
CREATE TRIGGER invoice_headers_refuse_row BEFORE UPDATE OR DELETE ON invoice_headers
    FOR EACH ROW EXECUTE FUNCTION ajuste_refuse_change();
CREATE TRIGGER sink_offsets_refuse_statement BEFORE UPDATE OR DELETE OR TRUNCATE ON sink_offsets
    FOR EACH STATEMENT EXECUTE FUNCTION ajuste_refuse_change();
CREATE TRIGGER sink_offsets_refuse_row BEFORE UPDATE OR DELETE ON sink_offsets
    FOR EACH ROW EXECUTE FUNCTION ajuste_refuse_change();

-- ------------------------------------------------------------------------------ privileges

REVOKE ALL ON corrections, invoice_headers, sink_offsets FROM PUBLIC;
-- The sink: INSERT (also INSERT ... ON CONFLICT DO NOTHING and COPY), no SELECT on the log;
-- it reads back only its offsets, which hold the chain heads it resumes from.
GRANT INSERT ON corrections, invoice_headers TO ajuste_writer;
GRANT INSERT, SELECT ON sink_offsets TO ajuste_writer;
GRANT SELECT ON corrections, invoice_headers, sink_offsets TO ajuste_auditor;
