#!/usr/bin/env bash
# test_audit_sink.sh - `ajuste audit sink` against a real PostgreSQL (pg_lib.sh) and the mock
# Kafka broker (mb_lib.sh): corrections produced by `ajuste gen` + `ajuste run`, stored by the sink
# logged in as a member of ajuste_writer. Checks: the log holds exactly the topic's corrections
# (ids equal aj_outdump's); every row_hash recomputed in SQL from the documented canonical form;
# a re-run and a replay from scratch offsets add nothing; a sink killed -9 mid-run and restarted
# leaves the same rows, chains included, as the run without a fault.
set -euo pipefail

: "${AJ_BIN:?AJ_BIN must point at the ajuste binary}"
: "${AJ_MOCKBROKER:?AJ_MOCKBROKER must point at the aj_mockbroker binary}"
: "${AJ_OUTDUMP:?AJ_OUTDUMP must point at the aj_outdump binary}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
records=${AJ_SINK_RECORDS:-20000}
sink_pid=""

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# shellcheck source=pg_lib.sh
. "$here/pg_lib.sh"
# shellcheck source=mb_lib.sh
. "$here/mb_lib.sh"
# shellcheck source=run_lib.sh
. "$here/run_lib.sh"
cleanup() {
  if [ -n "$sink_pid" ]; then kill -9 "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
  kill_broker
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

# q DB SQL: one value (or rows) as the owner-capable superuser.
q() {
  psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" </dev/null
}

# sink DB [FLAGS...]: the sink into DB as the login role sink (a member of ajuste_writer).
sink() {
  local db=$1
  shift
  timeout 300 "$AJ_BIN" audit sink --bootstrap-servers "$boot" --topic sink.corrections \
    --db "dbname=$db user=sink" "$@" {mb_in}>&- {mb_out}<&-
}

# ------------------------------------------------------------------------ the database
pg_start
for db in ajuste_test replay crash; do
  [ "$db" = ajuste_test ] || q ajuste_test "CREATE DATABASE $db" >/dev/null
  "$AJ_BIN" audit migrate --db "dbname=$db" >/dev/null </dev/null || fail "migrate $db failed"
done
q ajuste_test "CREATE ROLE sink LOGIN IN ROLE ajuste_writer" >/dev/null

# ------------------------------------------------------------------------ the corrections
start_broker
run_pipeline sink 7 "$records"
timeout 300 "$AJ_OUTDUMP" --bootstrap-servers "$boot" --topic correction=sink.corrections --out "$work/dump.txt" \
  --summary "$work/dump.sum" 2>"$work/dump.err" {mb_in}>&- {mb_out}<&- || fail "aj_outdump failed: $(cat "$work/dump.err")"
cut -d' ' -f2 "$work/dump.txt" | LC_ALL=C sort >"$work/topic.ids"
n=$(wc -l <"$work/topic.ids")
[ "$n" -ge 100 ] || fail "only $n corrections on the topic; want at least 100 (more --records)"
echo "-- $n corrections on sink.corrections ($(head -1 "$work/dump.sum"))"

# ------------------------------------------------------------------------ a: the sink
sink ajuste_test --until-end --batch-rows 500 >"$work/a.out" 2>&1 || fail "sink exited $?: $(cat "$work/a.out")"
echo "   $(tail -1 "$work/a.out")"
q ajuste_test "SELECT correction_id FROM corrections" | LC_ALL=C sort >"$work/a.ids"
diff -q "$work/topic.ids" "$work/a.ids" >/dev/null || fail "the log's ids differ from the topic's: $(diff "$work/topic.ids" "$work/a.ids" | head -5)"
[ "$(q ajuste_test "SELECT count(*) FROM corrections")" -eq "$n" ] || fail "row count differs from $n"
[ "$(q ajuste_test "SELECT count(DISTINCT chain) FROM corrections")" -eq 4 ] || fail "want 4 chains"
# Each chain numbered 1..count without a gap, linked by prev_hash, and the position consistent.
bad=$(q ajuste_test "SELECT count(*) FROM (SELECT chain, chain_seq, prev_hash,
                 lag(row_hash) OVER (PARTITION BY chain ORDER BY chain_seq) AS lh,
                 row_number() OVER (PARTITION BY chain ORDER BY chain_seq) AS rn FROM corrections) x
               WHERE chain_seq <> rn OR prev_hash IS DISTINCT FROM coalesce(lh, decode(repeat('00', 32), 'hex'))")
[ "$bad" -eq 0 ] || fail "$bad rows out of their chain"
bad=$(q ajuste_test "SELECT count(*) FROM (SELECT DISTINCT ON (input_partition) input_partition, chain_seq, chain_head
                 FROM sink_offsets ORDER BY input_partition, from_offset DESC) o
               JOIN (SELECT chain, max(chain_seq) AS s FROM corrections GROUP BY chain) c
                 ON c.chain = 'sink.corrections:' || o.input_partition
               WHERE o.chain_seq <> c.s OR o.chain_head <> (SELECT row_hash FROM corrections r
                 WHERE r.chain = c.chain AND r.chain_seq = c.s)")
[ "$bad" -eq 0 ] || fail "sink_offsets' chain heads differ from the chains' last rows"

# The canonical form recomputed in SQL, written out here from docs/audit.md, not from the code:
# field(s) = int4send(octet_length) || bytes; row_hash = sha256(prev_hash || canonical).
fields="'ajuste.corrections.v1', correction_id, account, cycle_id, record_id, record_kind, service, reason,
  hypothesis, legacy_amount::text, corrected_amount::text, delta::text, currency, contract_id,
  contract_version::text, legacy_tariff_code, (SELECT count(*) FROM jsonb_object_keys(rule_trace))::text,
  rule_trace->>'zone', rule_trace->>'matched_prefix', rule_trace->>'quantity', rule_trace->>'billed_quantity',
  rule_trace->>'first_increment', rule_trace->>'next_increment', rule_trace->>'price', rule_trace->>'rate_unit',
  rule_trace->>'connect_fee', rule_trace->>'band', rule_trace->>'bands', rule_trace->>'tier',
  rule_trace->>'free_units', rule_trace->>'allowance', rule_trace->>'promotion', rule_trace->>'promotion_amount',
  rule_trace->>'discount', rule_trace->>'discount_amount', rule_trace->>'clamp', rule_trace->>'decimals',
  rule_trace->>'rounding', disposition, invoice_id, invoice_line, late::text, source_origin,
  source_partition::text, source_offset::text, pipeline_version, chain, chain_seq::text"
recompute="CREATE FUNCTION pg_temp.f(t text) RETURNS bytea LANGUAGE sql IMMUTABLE
             AS \$\$ SELECT int4send(octet_length(convert_to(t, 'UTF8'))) || convert_to(t, 'UTF8') \$\$;
           SELECT count(*) FILTER (WHERE sha256(prev_hash || (SELECT string_agg(pg_temp.f(v), ''::bytea ORDER BY o)
                    FROM unnest(ARRAY[$fields]) WITH ORDINALITY AS u(v, o))) = row_hash), count(*) FROM corrections"
got=$(q ajuste_test "$recompute" | tail -1)
[ "$got" = "$n|$n" ] || fail "row_hash recomputed in SQL matches for $got rows (matching|all), want $n|$n"
echo "   $n rows, 4 chains; every row_hash recomputed in SQL from the documented canonical form"

# ------------------------------------------------------------------------ b: replays
sink ajuste_test --until-end >"$work/b.out" 2>&1 || fail "re-run exited $?: $(cat "$work/b.out")"
grep -q "inserted 0," "$work/b.out" || fail "a re-run inserted rows: $(cat "$work/b.out")"
sink replay --until-end --batch-rows 300 >"$work/b1.out" 2>&1 || fail "replay sink exited $?: $(cat "$work/b1.out")"
h1=$(q replay "SELECT md5(string_agg(encode(row_hash, 'hex'), '' ORDER BY chain, chain_seq)) FROM corrections")
# From scratch offsets: the owner empties sink_offsets; the sink re-reads the whole topic.
q replay "SET ROLE ajuste_owner; DELETE FROM sink_offsets" >/dev/null
sink replay --until-end --batch-rows 300 >"$work/b2.out" 2>&1 || fail "scratch replay exited $?: $(cat "$work/b2.out")"
grep -q "inserted 0, duplicates skipped $n," "$work/b2.out" || fail "scratch replay: $(cat "$work/b2.out")"
[ "$(q replay "SELECT count(*) FROM corrections")" -eq "$n" ] || fail "scratch replay changed the row count"
h2=$(q replay "SELECT md5(string_agg(encode(row_hash, 'hex'), '' ORDER BY chain, chain_seq)) FROM corrections")
[ "$h1" = "$h2" ] || fail "scratch replay changed the chains"
h0=$(q ajuste_test "SELECT md5(string_agg(encode(row_hash, 'hex'), '' ORDER BY chain, chain_seq)) FROM corrections")
[ "$h0" = "$h1" ] || fail "two sinks of the same topic (batch sizes 500 and 300) built different chains"
echo "   re-run and replay from scratch offsets: 0 rows added, the chains unchanged and independent of batch size"

# ------------------------------------------------------------------------ c: kill -9
"$AJ_BIN" audit sink --bootstrap-servers "$boot" --topic sink.corrections --db "dbname=crash user=sink" \
  --until-end --batch-rows 5 >"$work/c1.out" 2>&1 {mb_in}>&- {mb_out}<&- &
sink_pid=$!
for ((i = 0; i < 3000; i++)); do
  t=$(q crash "SELECT count(*) FROM sink_offsets")
  [ "$t" -ge 3 ] && break
  kill -0 "$sink_pid" 2>/dev/null || break
  sleep 0.01
done
kill -9 "$sink_pid" 2>/dev/null || fail "the sink finished before it could be killed (more --records)"
wait "$sink_pid" 2>/dev/null || true
sink_pid=""
k=$(q crash "SELECT count(*) FROM corrections")
[ "$k" -lt "$n" ] || fail "the killed sink had stored everything already"
sink crash --until-end --batch-rows 7 >"$work/c2.out" 2>&1 || fail "restart exited $?: $(cat "$work/c2.out")"
h3=$(q crash "SELECT md5(string_agg(correction_id || encode(row_hash, 'hex'), '' ORDER BY chain, chain_seq)) FROM corrections")
h0=$(q ajuste_test "SELECT md5(string_agg(correction_id || encode(row_hash, 'hex'), '' ORDER BY chain, chain_seq)) FROM corrections")
[ "$h3" = "$h0" ] || fail "after kill -9 and restart the log differs from the run without a fault"
echo "   killed -9 with $k of $n rows stored; restarted: the same $n rows and chains as without a fault"

# ------------------------------------------------------------------------ e: PostgreSQL down
q ajuste_test "CREATE DATABASE pgdown" >/dev/null
"$AJ_BIN" audit migrate --db "dbname=pgdown" >/dev/null </dev/null {mb_in}>&- {mb_out}<&- || fail "migrate pgdown failed"
"$AJ_BIN" audit sink --bootstrap-servers "$boot" --topic sink.corrections --db "dbname=pgdown user=sink" \
  --until-end --batch-rows 5 --retry-for 120 >"$work/e.out" 2>&1 {mb_in}>&- {mb_out}<&- &
sink_pid=$!
for ((i = 0; i < 3000; i++)); do
  t=$(q pgdown "SELECT count(*) FROM sink_offsets")
  [ "$t" -ge 3 ] && break
  kill -0 "$sink_pid" 2>/dev/null || break
  sleep 0.01
done
kill -0 "$sink_pid" 2>/dev/null || fail "the sink finished before PostgreSQL could be stopped (more --records)"
pg_server_stop immediate
sleep 2   # down for a while: the sink backs off and retries
pg_server_start
rc=0
wait "$sink_pid" || rc=$?
sink_pid=""
[ "$rc" -eq 0 ] || fail "the sink exited $rc after PostgreSQL came back: $(tail -5 "$work/e.out")"
grep -q "reconnecting in" "$work/e.out" || fail "the sink did not notice PostgreSQL going away: $(cat "$work/e.out")"
h4=$(q pgdown "SELECT md5(string_agg(correction_id || encode(row_hash, 'hex'), '' ORDER BY chain, chain_seq)) FROM corrections")
[ "$h4" = "$h0" ] || fail "after PostgreSQL stopped and restarted under the sink the log differs from the run without a fault"
echo "   PostgreSQL stopped (immediate) under the sink for 2 s and restarted: $(grep -c 'reconnecting in' "$work/e.out") retries, the same $n rows and chains"

# ------------------------------------------------------------------------ d: verify
q ajuste_test "CREATE ROLE ana LOGIN IN ROLE ajuste_auditor" >/dev/null
# verify_db DB WANT_RC PATTERN [FLAGS...]: ajuste audit verify as ana; exit code and output.
verify_db() {
  local db=$1 want=$2 pattern=$3 rc=0
  shift 3
  out=$(timeout 120 "$AJ_BIN" audit verify --db "dbname=$db user=ana" "$@" 2>&1 </dev/null {mb_in}>&- {mb_out}<&-) || rc=$?
  [ "$rc" -eq "$want" ] || fail "verify $db $*: exited $rc, want $want: $out"
  grep -Eq -- "$pattern" <<<"$out" || fail "verify $db $*: output does not match /$pattern/: $out"
}
verify_db ajuste_test 0 "Verified $n rows in 4 chains" --write-anchor "$work/anchor"
verify_db ajuste_test 0 "Verified $n rows in 4 chains, anchor met" --anchor "$work/anchor"
verify_db crash 0 "Verified $n rows in 4 chains" --anchor "$work/anchor"
echo "   verify: clean, $n rows in 4 chains, anchor written and met (also by the log rebuilt after kill -9)"

# tamper NAME SQL: a copy of the log, changed by its owner (after SET ROLE, as the triggers demand).
tamper() {
  q ajuste_test "CREATE DATABASE $1 TEMPLATE ajuste_test" >/dev/null
  q "$1" "SET ROLE ajuste_owner; $2" >/dev/null
}
id_at() { q ajuste_test "SELECT correction_id FROM corrections WHERE chain = 'sink.corrections:$1' AND chain_seq = $2"; }

tamper t_amount "UPDATE corrections SET corrected_amount = corrected_amount + 1, delta = delta + 1
                 WHERE chain = 'sink.corrections:1' AND chain_seq = 10"
verify_db t_amount 1 "^BAD chain sink.corrections:1 seq 10 \\(correction $(id_at 1 10)\\): row_hash does not match the row's content: expected [0-9a-f]{64}, stored [0-9a-f]{64}$"
tamper t_delete "DELETE FROM corrections WHERE chain = 'sink.corrections:2' AND chain_seq = 5"
verify_db t_delete 1 "^BAD chain sink.corrections:2: after seq 4 comes seq 6 \\(correction $(id_at 2 6)\\): rows are missing$"
tamper t_swap "UPDATE corrections SET chain_seq = 1000000 WHERE chain = 'sink.corrections:0' AND chain_seq = 3;
               UPDATE corrections SET chain_seq = 3 WHERE chain = 'sink.corrections:0' AND chain_seq = 7;
               UPDATE corrections SET chain_seq = 7 WHERE chain = 'sink.corrections:0' AND chain_seq = 1000000"
verify_db t_swap 1 "^BAD chain sink.corrections:0 seq 3 \\(correction $(id_at 0 7)\\): prev_hash does not link"
last=$(q ajuste_test "SELECT max(chain_seq) FROM corrections WHERE chain = 'sink.corrections:3'")
tamper t_tail "DELETE FROM corrections WHERE chain = 'sink.corrections:3' AND chain_seq > $last - 2"
verify_db t_tail 0 "Verified $((n - 2)) rows in 4 chains"
verify_db t_tail 1 "^BAD chain sink.corrections:3: ends at seq $((last - 2)), the anchor says it reached seq $last: rows were removed from its tail$" --anchor "$work/anchor"
echo "   tampered as owner: a changed amount, a deleted row, two rows swapped: each reported at its first bad row;"
echo "   the tail cut by 2 rows verifies without the anchor and is reported with it"
verify_db ajuste_test 2 "not an anchor file" --anchor "$work/a.out"

expect_ok "quit"
stop_broker
echo "PASS test_audit_sink"
