#!/usr/bin/env bash
# test_audit_roles.sh - `ajuste audit migrate` against a real PostgreSQL (pg_lib.sh), and who may
# do what to the audit log: the privilege layer (SQLSTATE 42501) and, behind it, the append-only
# triggers (SQLSTATE AJ001) that refuse UPDATE, DELETE and TRUNCATE to everyone but the owner.
set -euo pipefail

: "${AJ_BIN:?AJ_BIN must point at the ajuste binary}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# shellcheck source=pg_lib.sh
. "$here/pg_lib.sh"
trap 'pg_stop; rm -rf "$work"' EXIT

# expect CODE PATTERN CMD...: runs CMD, checks its exit code and that stdout+stderr match PATTERN.
expect() {
  local want=$1 pattern=$2 rc
  shift 2
  set +e
  out=$("$@" 2>&1 </dev/null)
  rc=$?
  set -e
  [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, want $want; output: $out"
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" <<<"$out"; then
    fail "'$*' output does not match /$pattern/: $out"
  fi
}

# sql USER SQL [DB]: runs SQL (one or more statements, one transaction) logged in as USER; sets
# out (stdout and stderr, errors with their SQLSTATE) and rc.
sql() {
  set +e
  out=$(psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -U "$1" -d "${3:-$PGDATABASE}" -c "$2" </dev/null 2>&1)
  rc=$?
  set -e
}

# ok USER SQL [WANT [DB]]: SQL succeeds (and prints WANT).
ok() {
  sql "$1" "$2" "${4:-}"
  [ "$rc" -eq 0 ] || fail "as $1, '$2' failed: $out"
  if [ $# -ge 3 ] && [ "$out" != "$3" ]; then
    fail "as $1, '$2' printed '$out', want '$3'"
  fi
}

# refused USER SQLSTATE SQL: SQL fails with that SQLSTATE.
refused() {
  sql "$1" "$3"
  [ "$rc" -ne 0 ] || fail "as $1, '$3' succeeded, want SQLSTATE $2"
  grep -q "ERROR:  $2:" <<<"$out" || fail "as $1, '$3' failed otherwise than with SQLSTATE $2: $out"
}

zero="decode(repeat('00', 32), 'hex')"
# correction ID [SUFFIX]: an INSERT of one correction row with id ID.
correction() {
  echo "INSERT INTO corrections (correction_id, account, cycle_id, record_id, record_kind, service, reason,
          hypothesis, legacy_amount, corrected_amount, delta, currency, contract_id, contract_version,
          legacy_tariff_code, rule_trace, disposition, invoice_id, invoice_line, late, source_origin,
          source_partition, source_offset, pipeline_version, chain, chain_seq, prev_hash, row_hash)
        VALUES ('$1', 'ACC000001', '2026-10', 'U-$1', 'USAGE', 'VOICE', 'WRONG_ZONE',
          'the legacy chain rated LOCAL calls as NATIONAL', 1500000, 1200000, -300000, 'BRL', 'CT-1', 2,
          'T-NAT', '{\"zone\": \"LOCAL\", \"quantity\": 60, \"price\": 20000}', 'APPLY',
          'INV-ACC000001-2026-10-r1', 'USAGE/VOICE/LOCAL', false, 'cdr.usage', 3, 1234, '0.1.0',
          'corrections:0', ${3:-1}, ${4:-$zero}, sha256('$1')) ${2:-}"
}
header="INSERT INTO invoice_headers (invoice_id, status, account, cycle_id, revision, status_reason,
          period_start, period_end, issue_date, due_date, currency, currency_decimals, contract_id,
          contract_versions, line_count, correction_count, legacy_total, corrected_total, adjustment_total,
          overcharge_removed, undercharge_added, flagged_overcharge, flagged_undercharge, tax_total, credit_total,
          amount_due, pipeline_version, chain, chain_seq, prev_hash, row_hash)
        VALUES ('INV-ACC000001-2026-10-r1', 'ISSUED', 'ACC000001', '2026-10', 1, '', '2026-10-01 03:00Z',
          '2026-11-01 03:00Z', '2026-10-31', '2026-11-15', 'BRL', 2, 'CT-1', '{2}', 4, 1, 99900000, 99600000,
          -300000, 300000, 0, 0, 0, 0, 0, 99600000, '0.1.0', 'invoices.adjusted:0', 1, $zero, sha256('h1'))"
# An UPDATE of each table that reads no column (reading one would need SELECT, which the writer lacks).
declare -A update=([corrections]="UPDATE corrections SET late = true"
                   [invoice_headers]="UPDATE invoice_headers SET status_reason = 'x'"
                   [sink_offsets]="UPDATE sink_offsets SET rows_inserted = 0")
offsets="INSERT INTO sink_offsets (input_topic, input_partition, from_offset, next_offset, chain_seq, chain_head,
          rows_inserted) VALUES ('corrections', 0, 0, 1, 1, sha256('COR-1'), 1)"

echo "-- help and usage errors"
expect 0 "Usage: ajuste audit <command>" "$AJ_BIN" audit --help
expect 2 "Usage: ajuste audit <command>" "$AJ_BIN" audit
expect 2 "unknown command 'frobnicate'" "$AJ_BIN" audit frobnicate
expect 0 "Usage: ajuste audit migrate" "$AJ_BIN" audit migrate --help
expect 0 "audit" "$AJ_BIN" --help
expect 2 "Usage: ajuste audit migrate" "$AJ_BIN" audit migrate --no-such-flag
expect 2 "unexpected argument 'extra'" "$AJ_BIN" audit migrate extra
expect 2 "--wait expects a non-negative integer, got 'soon'" "$AJ_BIN" audit migrate --wait soon
expect 2 "--db: invalid connection string 'nonsense=1': invalid connection option \"nonsense\"" \
  "$AJ_BIN" audit migrate --db nonsense=1

pg_start

echo "-- no server there: the error names where it tried and what to set"
expect 1 "cannot connect to PostgreSQL \(database \"ajuste_test\" on host $PGHOST port 1 as user postgres\).*set PGHOST" \
  "$AJ_BIN" audit migrate --db "host=$PGHOST port=1"

echo "-- migrate: --no-create-roles names the missing roles; then 1 migration, then 0"
expect 1 "the roles ajuste_owner, ajuste_writer, ajuste_auditor do not exist" "$AJ_BIN" audit migrate --no-create-roles
ok postgres "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" 0   # nothing left behind
expect 0 "" "$AJ_BIN" audit migrate
for line in "created roles ajuste_owner, ajuste_writer, ajuste_auditor" "applied 0001_audit_log \(version 1\)" \
            "Applied 1 migration: the schema is at version 1\."; do
  grep -Eq "$line" <<<"$out" || fail "first migrate: no /$line/ in: $out"
done
expect 0 "Applied 0 migrations: the schema is at version 1, up to date\." "$AJ_BIN" audit migrate
grep -q "roles ajuste_owner, ajuste_writer and ajuste_auditor exist" <<<"$out" || fail "second migrate: $out"
grep -q "^applied" <<<"$out" && fail "second migrate applied something: $out"
ok postgres "SELECT version || ' ' || name || ' ' || applied_by || ' ' || octet_length(checksum) FROM ajuste_schema_migrations" \
  "1 0001_audit_log postgres 32"
ok postgres "SELECT string_agg(tablename || ':' || tableowner, ' ' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'" \
  "ajuste_schema_migrations:ajuste_owner corrections:ajuste_owner invoice_headers:ajuste_owner sink_offsets:ajuste_owner"
ok postgres "SELECT string_agg(rolname || ':' || rolcanlogin, ' ' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'ajuste%'" \
  "ajuste_auditor:false ajuste_owner:false ajuste_writer:false"

# Logins of people and services are members of the group roles (docs/audit.md, "Roles").
ok postgres "CREATE ROLE sink LOGIN IN ROLE ajuste_writer; CREATE ROLE alice LOGIN IN ROLE ajuste_auditor;
             CREATE ROLE admin LOGIN IN ROLE ajuste_owner"

echo "-- the writer inserts, idempotently, and nothing else"
ok sink "$(correction COR-1)"
ok sink "$(correction COR-1 'ON CONFLICT DO NOTHING')"     # the sink's replay: no error, no second row
refused sink 23505 "$(correction COR-1)"
ok postgres "SELECT count(*) FROM corrections" 1
ok sink "$header"
ok sink "$offsets"
ok sink "SELECT next_offset || ' ' || chain_seq FROM sink_offsets WHERE input_topic = 'corrections' AND input_partition = 0
         ORDER BY from_offset DESC LIMIT 1" "1 1"
refused sink 23505 "$offsets"                               # a second sink resuming from the same offset
ok sink "SELECT max(version) FROM ajuste_schema_migrations" 1
for t in corrections invoice_headers; do
  refused sink 42501 "SELECT count(*) FROM $t"
done
for t in corrections invoice_headers sink_offsets; do
  refused sink 42501 "${update[$t]}"
  refused sink 42501 "DELETE FROM $t"
  refused sink 42501 "TRUNCATE $t"
done
refused sink 42501 "INSERT INTO ajuste_schema_migrations VALUES (2, 'x', sha256('x'), now(), 'sink', 'x')"
refused sink 42501 "CREATE TABLE public.mine (x int)"

echo "-- the constraints keep rows well-formed"
refused sink 23514 "$(correction COR-3 '' 1 "sha256('not zero')")"   # the first link of a chain starts at zero
refused sink 23514 "$(correction COR-4 '' 2 "sha256('short')::bytea || '\\x00'::bytea")"   # 33 bytes
refused sink 23514 "$(correction COR-5 | sed 's/-300000/-300001/')"  # delta = corrected - legacy
refused sink 23514 "$(correction COR-6 | sed "s/'APPLY'/'MAYBE'/")"
refused sink 23505 "$(correction COR-7 '' 1)"                      # chain position taken: no fork
ok sink "$(correction COR-8 '' 2 "sha256('COR-1')")"

echo "-- the auditor reads, and nothing else"
ok alice "SELECT count(*) FROM corrections" 2
ok alice "SELECT ajuste_amount(delta) FROM corrections WHERE correction_id = 'COR-1'" "-0.300000"
ok alice "SELECT count(*) FROM invoice_headers" 1
ok alice "SELECT count(*) FROM sink_offsets" 1
ok alice "SELECT count(*) FROM ajuste_schema_migrations" 1
refused alice 42501 "$(correction COR-9 '' 3 "sha256('COR-8')")"
refused alice 42501 "$header"
refused alice 42501 "$offsets"
for t in corrections invoice_headers sink_offsets; do
  refused alice 42501 "${update[$t]}"
  refused alice 42501 "DELETE FROM $t"
  refused alice 42501 "TRUNCATE $t"
done

echo "-- behind the privileges, the triggers: a writer granted too much is still refused"
ok postgres "SET ROLE ajuste_owner; GRANT UPDATE, DELETE, TRUNCATE ON corrections, invoice_headers, sink_offsets TO ajuste_writer"
for t in corrections invoice_headers sink_offsets; do
  refused sink AJ001 "${update[$t]}"
  refused sink AJ001 "${update[$t]} WHERE false"   # statement level: even when no row matches
  refused sink AJ001 "DELETE FROM $t"
  refused sink AJ001 "TRUNCATE $t"
done
sql sink "DELETE FROM corrections"
grep -q "DELETE on corrections refused: the audit log is append-only" <<<"$out" || fail "trigger message: $out"
grep -q "HINT:  Only ajuste_owner may change or remove rows" <<<"$out" || fail "trigger hint: $out"
ok postgres "SET ROLE ajuste_owner; REVOKE UPDATE, DELETE, TRUNCATE ON corrections, invoice_headers, sink_offsets FROM ajuste_writer"
refused sink 42501 "DELETE FROM corrections"

echo "-- a superuser, and a member of ajuste_owner, must SET ROLE ajuste_owner first"
refused postgres AJ001 "DELETE FROM corrections"
refused postgres AJ001 "TRUNCATE corrections"
refused postgres AJ001 "UPDATE invoice_headers SET status_reason = 'x'"
refused admin AJ001 "UPDATE corrections SET hypothesis = 'rewritten'"     # owner's privileges, not the owner
ok postgres "SELECT count(*) || ' ' || min(hypothesis) FROM corrections" \
  "2 the legacy chain rated LOCAL calls as NATIONAL"

echo "-- the owner may (owner is exempt)"
ok admin "SET ROLE ajuste_owner; UPDATE corrections SET hypothesis = 'rewritten' WHERE correction_id = 'COR-8'"
ok postgres "SELECT hypothesis FROM corrections WHERE correction_id = 'COR-8'" "rewritten"
ok postgres "SET ROLE ajuste_owner; DELETE FROM corrections WHERE correction_id = 'COR-8'"
ok postgres "SET ROLE ajuste_owner; TRUNCATE invoice_headers"
ok postgres "SELECT (SELECT count(*) FROM corrections) || ' ' || (SELECT count(*) FROM invoice_headers)" "1 0"

echo "-- an applied migration edited (here: its recorded checksum) is refused"
ok postgres "SELECT encode(checksum, 'hex') FROM ajuste_schema_migrations WHERE version = 1"
sum=$out
ok postgres "SET ROLE ajuste_owner; UPDATE ajuste_schema_migrations SET checksum = sha256('edited') WHERE version = 1"
expect 1 "migration 1 \(0001_audit_log\) was applied with a text whose checksum differs" "$AJ_BIN" audit migrate
ok postgres "SET ROLE ajuste_owner; UPDATE ajuste_schema_migrations SET checksum = decode('$sum', 'hex') WHERE version = 1"
expect 0 "Applied 0 migrations" "$AJ_BIN" audit migrate
echo "-- a database newer than the binary is refused"
ok postgres "SET ROLE ajuste_owner; INSERT INTO ajuste_schema_migrations VALUES (2, '0002_future', sha256('f'), now(), 'x', '9.9')"
expect 1 "schema is at version 2, newer than this ajuste knows \(1\)" "$AJ_BIN" audit migrate
ok postgres "SET ROLE ajuste_owner; DELETE FROM ajuste_schema_migrations WHERE version = 2"

echo "-- another database of the cluster: the roles exist already and are kept"
ok postgres "CREATE DATABASE second"
expect 0 "roles ajuste_owner, ajuste_writer and ajuste_auditor exist" "$AJ_BIN" audit migrate --db dbname=second
grep -q "Applied 1 migration" <<<"$out" || fail "second database: $out"

echo "-- not a superuser: the database owner who is a member of ajuste_owner"
ok postgres "CREATE ROLE dba LOGIN"
ok postgres "CREATE DATABASE third OWNER dba"
ok postgres "CREATE DATABASE fourth"
expect 1 "user dba is neither a superuser nor a member of ajuste_owner.*GRANT ajuste_owner TO dba" \
  "$AJ_BIN" audit migrate --db "dbname=third user=dba"
ok postgres "GRANT ajuste_owner TO dba"
expect 0 "Applied 1 migration" "$AJ_BIN" audit migrate --no-create-roles --db "dbname=third user=dba"
ok dba "SELECT string_agg(tablename || ':' || tableowner, ' ' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'" \
  "ajuste_schema_migrations:ajuste_owner corrections:ajuste_owner invoice_headers:ajuste_owner sink_offsets:ajuste_owner" third
# A member of ajuste_owner who does not own the database cannot give ajuste_owner CREATE on public.
ok postgres "GRANT ajuste_owner TO sink"   # (any login; revoked below)
expect 1 "preparing the database .*permission denied for schema public \(SQLSTATE 42501\).*Who runs migrate" \
  "$AJ_BIN" audit migrate --db "dbname=fourth user=sink"
ok postgres "REVOKE ajuste_owner FROM sink"
ok postgres "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" 0 fourth

echo "-- two migrates of one database at once: one applies, the other waits and finds it done"
ok postgres "CREATE DATABASE fifth"
set +e
"$AJ_BIN" audit migrate --db dbname=fifth >"$work/m1.out" 2>&1 </dev/null &
p1=$!
"$AJ_BIN" audit migrate --db dbname=fifth >"$work/m2.out" 2>&1 </dev/null &
p2=$!
wait "$p1"; r1=$?
wait "$p2"; r2=$?
set -e
[ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] || fail "concurrent migrates exited $r1 and $r2: $(cat "$work/m1.out" "$work/m2.out")"
[ "$(cat "$work/m1.out" "$work/m2.out" | grep -c '^applied 0001_audit_log')" -eq 1 ] ||
  fail "concurrent migrates: want exactly one to apply 0001: $(cat "$work/m1.out" "$work/m2.out")"
ok postgres "SELECT count(*) FROM ajuste_schema_migrations" 1 fifth

pg_stop
echo "PASS: test_audit_roles"
