#!/usr/bin/env bash
# test_audit_sink.sh - `ajuste audit sink` against a real PostgreSQL (pg_lib.sh) and the mock
# Kafka broker (mb_lib.sh): corrections produced by `ajuste gen` + `ajuste run`, stored by the sink
# logged in as a member of ajuste_writer. Checks: the log holds exactly the topic's corrections
# (ids equal aj_outdump's) and the headers of exactly the invoices of the invoice and review
# topics (ids and statuses equal `ajuste invoice show`'s: ISSUED, HELD by materiality, RELEASED by
# `ajuste release`); every row_hash of both tables recomputed in SQL from the documented
# canonical forms; a re-run and a replay from scratch offsets add nothing; a sink killed -9
# mid-run and restarted, or under a PostgreSQL stopped and restarted, leaves the same rows,
# chains included, as the run without a fault; verify catches a tampered correction and a
# tampered invoice header; a correction id twice on the topic is stored once; a sink whose
# sink_offsets were emptied under a log behind the topic stops instead of dropping rows.
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
    --invoice-topic sink.invoices --review-topic sink.review --db "dbname=$db user=sink" "$@" {mb_in}>&- {mb_out}<&-
}

# sink_bg DB OUT [FLAGS...]: the same in the background (sets sink_pid), in 1-row transactions.
sink_bg() {
  local db=$1 out=$2
  shift 2
  "$AJ_BIN" audit sink --bootstrap-servers "$boot" --topic sink.corrections --invoice-topic sink.invoices \
    --review-topic sink.review --db "dbname=$db user=sink" --until-end --batch-rows 1 "$@" >"$out" 2>&1 \
    {mb_in}>&- {mb_out}<&- &
  sink_pid=$!
}

# wait_batches DB N [WHERE]: until the running sink has committed N batches (sink_offsets rows,
# of WHERE), or has ended.
wait_batches() {
  local i t
  for ((i = 0; i < 6000; i++)); do
    t=$(q "$1" "SELECT count(*) FROM sink_offsets ${3:-}")
    [ "$t" -ge "$2" ] && return 0
    kill -0 "$sink_pid" 2>/dev/null || return 0
    sleep 0.01
  done
}

# kill_in_copy DB TABLE ROW OUT [FLAGS...]: kill -9 a sink in the middle of a COPY into TABLE.
# Another session holds ROW (COPY text) in TABLE, uncommitted; once it has it, the sink (output
# OUT, FLAGS after sink_bg's) starts, stores what comes before that key, and waits on its lock;
# it is killed there, and the holding session rolls back.
kill_in_copy() {
  local db=$1 table=$2 row=$3 out=$4 i w=0 hold hold_pid
  shift 4
  rm -f "$work/hold" "$work/hold.out"
  mkfifo "$work/hold"
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" <"$work/hold" >"$work/hold.out" 2>&1 {mb_in}>&- {mb_out}<&- &
  hold_pid=$!
  exec {hold}>"$work/hold"
  printf 'BEGIN;\nCOPY %s FROM STDIN;\n%s\n\\.\n\\echo held\n' "$table" "$row" >&"$hold"
  for ((i = 0; i < 3000; i++)); do   # the row in first: the sink must find it locked, not take it
    grep -q '^held$' "$work/hold.out" 2>/dev/null && break
    sleep 0.01
  done
  grep -q '^held$' "$work/hold.out" || fail "the session holding a row of $table never got it in: $(cat "$work/hold.out")"
  sink_bg "$db" "$out" "$@"
  for ((i = 0; i < 6000; i++)); do
    w=$(q "$db" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ajuste' AND wait_event_type = 'Lock'")
    [ "$w" -eq 1 ] && break
    kill -0 "$sink_pid" 2>/dev/null || break
    sleep 0.01
  done
  [ "$w" -eq 1 ] || fail "the sink never waited on the held row of $table: $(cat "$out" "$work/hold.out")"
  kill_sink "in a COPY into $table"
  printf 'ROLLBACK;\n' >&"$hold"
  exec {hold}>&-
  wait "$hold_pid" || fail "the session holding a row of $table failed: $(cat "$work/hold.out")"
}

# kill_sink WHEN: kill -9 the running sink; fails when it had finished already.
kill_sink() {
  kill -9 "$sink_pid" 2>/dev/null || fail "the sink finished before it could be killed $1 (more --records)"
  wait "$sink_pid" 2>/dev/null || true
  sink_pid=""
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
run_pipeline sink 7 "$records" "materiality.percent = 20"   # some invoices held for review
timeout 300 "$AJ_OUTDUMP" --bootstrap-servers "$boot" --topic correction=sink.corrections --out "$work/dump.txt" \
  --summary "$work/dump.sum" 2>"$work/dump.err" {mb_in}>&- {mb_out}<&- || fail "aj_outdump failed: $(cat "$work/dump.err")"
cut -d' ' -f2 "$work/dump.txt" | LC_ALL=C sort >"$work/topic.ids"
n=$(wc -l <"$work/topic.ids")
[ "$n" -ge 100 ] || fail "only $n corrections on the topic; want at least 100 (more --records)"
echo "-- $n corrections on sink.corrections ($(head -1 "$work/dump.sum"))"

# Held invoices (materiality 20%) on sink.review; two released, one as it is (same id, RELEASED),
# one with its corrections flagged (revision 2).
release() {
  timeout 120 "$AJ_BIN" release --config "$work/run.conf" "$@" </dev/null {mb_in}>&- {mb_out}<&-
}
release --list >"$work/held.txt" 2>&1 || fail "release --list failed: $(cat "$work/held.txt")"
mapfile -t held < <(awk '/^INV-.* waiting /{print $1}' "$work/held.txt")
[ "${#held[@]}" -ge 2 ] || fail "want at least 2 held invoices, got ${#held[@]}: $(cat "$work/held.txt")"
release --id "${held[0]}" --as-is --reviewer ana >"$work/rel1.out" 2>&1 || fail "release as-is: $(cat "$work/rel1.out")"
release --id "${held[1]}" --flag --reviewer ana >"$work/rel2.out" 2>&1 || fail "release flag: $(cat "$work/rel2.out")"
# The headers the log must hold: "ID STATUS" of every invoice on both topics.
for t in sink.invoices sink.review; do
  timeout 120 "$AJ_BIN" invoice show --topic "$t" --bootstrap-servers "$boot" --all </dev/null {mb_in}>&- {mb_out}<&- |
    awk '/^INVOICE /{id=$2} /^Status +(ISSUED|HELD|RELEASED)/{print id, $2}' || fail "invoice show $t failed"
done | LC_ALL=C sort -u >"$work/topic.headers"
nh=$(wc -l <"$work/topic.headers")
grep -qx "${held[0]} HELD" "$work/topic.headers" || fail "${held[0]} is not HELD on sink.review"
grep -qx "${held[0]} RELEASED" "$work/topic.headers" || fail "${held[0]} is not RELEASED on sink.invoices"
grep -qx "${held[1]%-r1}-r2 RELEASED" "$work/topic.headers" || fail "${held[1]%-r1}-r2 is not RELEASED on sink.invoices"
[ "$(grep -c ' ISSUED$' "$work/topic.headers")" -ge 100 ] || fail "fewer than 100 ISSUED invoices"
echo "-- $nh invoice headers on sink.invoices and sink.review ($(grep -c ' HELD$' "$work/topic.headers") HELD, 2 released)"

# ------------------------------------------------------------------------ a: the sink
sink ajuste_test --until-end --batch-rows 500 >"$work/a.out" 2>&1 || fail "sink exited $?: $(cat "$work/a.out")"
sed 's/^/   /' "$work/a.out"
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
                 FROM sink_offsets WHERE input_topic = 'sink.corrections' ORDER BY input_partition, from_offset DESC) o
               JOIN (SELECT chain, max(chain_seq) AS s FROM corrections GROUP BY chain) c
                 ON c.chain = 'sink.corrections:' || o.input_partition
               WHERE o.chain_seq <> c.s OR o.chain_head <> (SELECT row_hash FROM corrections r
                 WHERE r.chain = c.chain AND r.chain_seq = c.s)")
[ "$bad" -eq 0 ] || fail "sink_offsets' chain heads differ from the chains' last rows"

# The invoice headers: exactly the topics' (id, status), their chains per source partition.
q ajuste_test "SELECT invoice_id || ' ' || status FROM invoice_headers" | LC_ALL=C sort >"$work/a.headers"
diff -q "$work/topic.headers" "$work/a.headers" >/dev/null ||
  fail "the log's invoice headers differ from the topics': $(diff "$work/topic.headers" "$work/a.headers" | head -5)"
bad=$(q ajuste_test "SELECT count(*) FROM invoice_headers WHERE (status = 'HELD') <> (chain LIKE 'sink.review:%')")
[ "$bad" -eq 0 ] || fail "$bad invoice headers in the chain of the wrong topic"
bad=$(q ajuste_test "SELECT count(*) FROM (SELECT chain, chain_seq, prev_hash,
                 lag(row_hash) OVER (PARTITION BY chain ORDER BY chain_seq) AS lh,
                 row_number() OVER (PARTITION BY chain ORDER BY chain_seq) AS rn FROM invoice_headers) x
               WHERE chain_seq <> rn OR prev_hash IS DISTINCT FROM coalesce(lh, decode(repeat('00', 32), 'hex'))")
[ "$bad" -eq 0 ] || fail "$bad invoice headers out of their chain"
bad=$(q ajuste_test "SELECT count(*) FROM (SELECT DISTINCT ON (input_topic, input_partition) input_topic,
                 input_partition, chain_seq, chain_head FROM sink_offsets
                 WHERE input_topic IN ('sink.invoices', 'sink.review')
                 ORDER BY input_topic, input_partition, from_offset DESC) o
               LEFT JOIN (SELECT chain, max(chain_seq) AS s FROM invoice_headers GROUP BY chain) c
                 ON c.chain = o.input_topic || ':' || o.input_partition
               WHERE o.chain_seq <> coalesce(c.s, 0) OR o.chain_head <> coalesce((SELECT row_hash FROM invoice_headers r
                 WHERE r.chain = c.chain AND r.chain_seq = c.s), decode(repeat('00', 32), 'hex'))")
[ "$bad" -eq 0 ] || fail "sink_offsets' chain heads differ from the invoice chains' last rows"
hc=$(q ajuste_test "SELECT count(DISTINCT chain) FROM invoice_headers")
echo "   $nh invoice headers equal the topics' ids and statuses, in $hc chains"

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
# The same for invoice_headers, from its documented canonical form (ajuste.invoice_headers.v1).
# The session's time zone and date style must not matter.
hfields="'ajuste.invoice_headers.v1', invoice_id, status, account, cycle_id, revision::text, status_reason,
  to_char(period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
  to_char(period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
  to_char(issue_date, 'YYYY-MM-DD'), to_char(due_date, 'YYYY-MM-DD'), currency, currency_decimals::text,
  contract_id, contract_versions::text, line_count::text, correction_count::text, legacy_total::text,
  corrected_total::text, adjustment_total::text, overcharge_removed::text, undercharge_added::text,
  flagged_overcharge::text, flagged_undercharge::text, tax_total::text, credit_total::text, amount_due::text,
  pipeline_version, chain, chain_seq::text"
hrecompute="SET TimeZone = 'America/Sao_Paulo'; SET DateStyle = 'German, DMY';
           CREATE FUNCTION pg_temp.f(t text) RETURNS bytea LANGUAGE sql IMMUTABLE
             AS \$\$ SELECT int4send(octet_length(convert_to(t, 'UTF8'))) || convert_to(t, 'UTF8') \$\$;
           SELECT count(*) FILTER (WHERE sha256(prev_hash || (SELECT string_agg(pg_temp.f(v), ''::bytea ORDER BY o)
                    FROM unnest(ARRAY[$hfields]) WITH ORDINALITY AS u(v, o))) = row_hash), count(*) FROM invoice_headers"
got=$(q ajuste_test "$hrecompute" | tail -1)
[ "$got" = "$nh|$nh" ] || fail "invoice row_hash recomputed in SQL matches for $got rows (matching|all), want $nh|$nh"
echo "   $n rows, 4 chains; every row_hash of both tables recomputed in SQL from the documented canonical forms"

# ------------------------------------------------------------------------ b: replays
sink ajuste_test --until-end >"$work/b.out" 2>&1 || fail "re-run exited $?: $(cat "$work/b.out")"
grep -q "^audit sink: 0 rows inserted" "$work/b.out" || fail "a re-run inserted rows: $(cat "$work/b.out")"
sink replay --until-end --batch-rows 300 >"$work/b1.out" 2>&1 || fail "replay sink exited $?: $(cat "$work/b1.out")"
hsql="SELECT md5(string_agg(encode(row_hash, 'hex'), '' ORDER BY chain, chain_seq)) FROM corrections"
hsql="$hsql UNION ALL SELECT md5(string_agg(encode(row_hash, 'hex'), '' ORDER BY chain, chain_seq)) FROM invoice_headers"
h1=$(q replay "$hsql")
# From scratch offsets: the owner empties sink_offsets; the sink re-reads the whole topic.
q replay "SET ROLE ajuste_owner; DELETE FROM sink_offsets" >/dev/null
sink replay --until-end --batch-rows 300 >"$work/b2.out" 2>&1 || fail "scratch replay exited $?: $(cat "$work/b2.out")"
grep -q "into corrections: read $n, inserted 0, duplicates skipped $n," "$work/b2.out" || fail "scratch replay: $(cat "$work/b2.out")"
grep -q "^audit sink: 0 rows inserted" "$work/b2.out" || fail "scratch replay inserted rows: $(cat "$work/b2.out")"
[ "$(q replay "SELECT count(*) FROM corrections")" -eq "$n" ] || fail "scratch replay changed the row count"
[ "$(q replay "SELECT count(*) FROM invoice_headers")" -eq "$nh" ] || fail "scratch replay changed the header count"
h2=$(q replay "$hsql")
[ "$h1" = "$h2" ] || fail "scratch replay changed the chains"
h0=$(q ajuste_test "$hsql")
[ "$h0" = "$h1" ] || fail "two sinks of the same topic (batch sizes 500 and 300) built different chains"
echo "   re-run and replay from scratch offsets: 0 rows added, the chains unchanged and independent of batch size"

# ------------------------------------------------------------------------ c: kill -9
sink_bg crash "$work/c1.out"
wait_batches crash 3
kill_sink "among the corrections"
k=$(q crash "SELECT count(*) FROM corrections")
[ "$k" -lt "$n" ] || fail "the killed sink had stored everything already"
# Again, killed while it stores the invoice headers (after the corrections, in its order), in the
# middle of a COPY: another session holds, uncommitted, the key of the 20th header of
# sink.invoices:0, so the sink stores what comes before it and then waits on that row's lock.
hold_row=$(q ajuste_test "COPY (SELECT * FROM invoice_headers WHERE chain = 'sink.invoices:0' AND chain_seq = 20) TO STDOUT")
[ -n "$hold_row" ] || fail "no 20th header in sink.invoices:0"
kill_in_copy crash invoice_headers "$hold_row" "$work/c3.out"
kh=$(q crash "SELECT count(*) FROM invoice_headers")
[ "$kh" -gt 0 ] && [ "$kh" -lt "$nh" ] || fail "killed among the invoices with $kh of $nh headers stored"
sink crash --until-end --batch-rows 7 >"$work/c2.out" 2>&1 || fail "restart exited $?: $(cat "$work/c2.out")"
lsql="SELECT md5(string_agg(correction_id || encode(row_hash, 'hex'), '' ORDER BY chain, chain_seq)) FROM corrections"
lsql="$lsql UNION ALL SELECT md5(string_agg(invoice_id || status || encode(row_hash, 'hex'), '' ORDER BY chain, chain_seq))
      FROM invoice_headers"
h3=$(q crash "$lsql")
h0=$(q ajuste_test "$lsql")
[ "$h3" = "$h0" ] || fail "after kill -9 and restart the log differs from the run without a fault"
echo "   killed -9 with $k of $n corrections stored, restarted, killed -9 again with $kh of $nh invoice headers"
echo "   stored; restarted: the same $n corrections, $nh headers and chains as without a fault"
# And killed in the middle of a 500-row COPY of corrections: another session holds, uncommitted,
# the key of the 100th correction of sink.corrections:1, so the sink's COPY has sent the rows
# before it (of all partitions) and waits; kill -9, release, restart with other batches.
hold_row=$(q ajuste_test "COPY (SELECT * FROM corrections WHERE chain = 'sink.corrections:1' AND chain_seq = 100) TO STDOUT")
[ -n "$hold_row" ] || fail "no 100th correction in sink.corrections:1"
q ajuste_test "CREATE DATABASE crash2" >/dev/null
"$AJ_BIN" audit migrate --db "dbname=crash2" >/dev/null </dev/null || fail "migrate crash2 failed"
kill_in_copy crash2 corrections "$hold_row" "$work/c4.out" --batch-rows 500
k2=$(q crash2 "SELECT count(*) FROM corrections")
[ "$k2" -lt "$n" ] || fail "killed in a 500-row COPY with all $n corrections stored"
sink crash2 --until-end --batch-rows 300 >"$work/c5.out" 2>&1 || fail "restart exited $?: $(cat "$work/c5.out")"
[ "$(q crash2 "$lsql")" = "$h0" ] || fail "after kill -9 in a 500-row COPY and restart the log differs from the run without a fault"
echo "   killed -9 in the middle of a 500-row COPY of corrections ($k2 stored before it), restarted: the same log"

# ------------------------------------------------------------------------ e: PostgreSQL down
q ajuste_test "CREATE DATABASE pgdown" >/dev/null
"$AJ_BIN" audit migrate --db "dbname=pgdown" >/dev/null </dev/null {mb_in}>&- {mb_out}<&- || fail "migrate pgdown failed"
sink_bg pgdown "$work/e.out" --retry-for 120
wait_batches pgdown 3
kill -0 "$sink_pid" 2>/dev/null || fail "the sink finished before PostgreSQL could be stopped (more --records)"
pg_server_stop immediate
sleep 2   # down for a while: the sink backs off and retries
pg_server_start
rc=0
wait "$sink_pid" || rc=$?
sink_pid=""
[ "$rc" -eq 0 ] || fail "the sink exited $rc after PostgreSQL came back: $(tail -5 "$work/e.out")"
grep -q "reconnecting in" "$work/e.out" || fail "the sink did not notice PostgreSQL going away: $(cat "$work/e.out")"
h4=$(q pgdown "$lsql")
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
all="Verified $((n + nh)) rows in $((4 + hc)) chains \\(corrections: $n rows in 4 chains; invoice_headers: $nh rows in $hc chains\\)"
verify_db ajuste_test 0 "$all; anchor written" --write-anchor "$work/anchor"
[ "$(grep -c '^invoice_headers sink\.\(invoices\|review\):' "$work/anchor")" -eq "$hc" ] ||
  fail "the anchor does not hold the $hc invoice_headers chains: $(cat "$work/anchor")"
verify_db ajuste_test 0 "$all, anchor met" --anchor "$work/anchor"
verify_db crash 0 "$all, anchor met" --anchor "$work/anchor"
echo "   verify: clean, $n corrections in 4 chains and $nh invoice headers in $hc chains, anchor written and met"
echo "   (also by the log rebuilt after kill -9)"

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
verify_db t_tail 1 "^BAD chain sink.corrections:3 \\(corrections\\): ends at seq $((last - 2)) with head [0-9a-f]{64}, sink_offsets says the sink stored it up to seq $last with head [0-9a-f]{64}: rows were removed"
# The owner who also rewrites sink_offsets to match is stopped by the anchor alone.
q t_tail "SET ROLE ajuste_owner; UPDATE sink_offsets o SET chain_seq = c.chain_seq, chain_head = c.row_hash
          FROM corrections c WHERE c.chain = 'sink.corrections:3' AND c.chain_seq = $last - 2
          AND o.input_topic = 'sink.corrections' AND o.input_partition = 3
          AND o.from_offset = (SELECT max(from_offset) FROM sink_offsets WHERE input_topic = 'sink.corrections' AND input_partition = 3)" >/dev/null
verify_db t_tail 0 "Verified $((n + nh - 2)) rows in $((4 + hc)) chains"
verify_db t_tail 1 "^BAD chain sink.corrections:3: ends at seq $((last - 2)), the anchor says it reached seq $last: rows were removed from its tail$" --anchor "$work/anchor"
# A chain the sink never wrote (its sink_offsets rows gone), a whole chain removed.
tamper t_nooff "DELETE FROM sink_offsets WHERE input_topic = 'sink.corrections' AND input_partition = 2"
verify_db t_nooff 1 "^BAD chain sink.corrections:2 \\(corrections\\): no sink_offsets row names it: the sink did not write it$"
tamper t_gone "DELETE FROM corrections WHERE chain = 'sink.corrections:1'"
verify_db t_gone 1 "^BAD chain sink.corrections:1: not in the log, sink_offsets says the sink stored it up to seq [0-9]+: the chain was removed$"
# An invoice header: its amount due, then the tail of an invoice chain.
hat() { q ajuste_test "SELECT invoice_id || ' ' || status FROM invoice_headers WHERE chain = '$1' AND chain_seq = $2"; }
tamper t_header "UPDATE invoice_headers SET amount_due = amount_due - 1000000 WHERE chain = 'sink.invoices:2' AND chain_seq = 3"
verify_db t_header 1 "^BAD chain sink.invoices:2 seq 3 \\(invoice $(hat sink.invoices:2 3)\\): row_hash does not match the row's content"
tamper t_held "UPDATE invoice_headers SET status_reason = 'nothing to see' WHERE status = 'HELD' AND invoice_id = '${held[0]}'"
hchain=$(q ajuste_test "SELECT chain || ' seq ' || chain_seq FROM invoice_headers WHERE status = 'HELD' AND invoice_id = '${held[0]}'")
verify_db t_held 1 "^BAD chain $hchain \\(invoice ${held[0]} HELD\\): row_hash does not match"
hlast=$(q ajuste_test "SELECT max(chain_seq) FROM invoice_headers WHERE chain = 'sink.invoices:1'")
tamper t_htail "DELETE FROM invoice_headers WHERE chain = 'sink.invoices:1' AND chain_seq = $hlast"
verify_db t_htail 1 "^BAD chain sink.invoices:1 \\(invoice_headers\\): ends at seq $((hlast - 1)) with head [0-9a-f]{64}, sink_offsets says the sink stored it up to seq $hlast"
verify_db t_htail 1 "^BAD chain sink.invoices:1: ends at seq $((hlast - 1)), the anchor says it reached seq $hlast" --anchor "$work/anchor"
# What the canonical form's text cannot see: a number in rule_trace turned into a string, a key
# with an empty value renamed, a period moved by less than a millisecond.
tamper t_type "UPDATE corrections SET rule_trace = jsonb_set(rule_trace, '{price}', to_jsonb(rule_trace->>'price'))
               WHERE chain = 'sink.corrections:1' AND chain_seq = 12"
verify_db t_type 1 "^BAD chain sink.corrections:1 seq 12 \\(correction $(id_at 1 12)\\): rule_trace's keys or their JSON types are not those the sink writes$"
eseq=$(q ajuste_test "SELECT min(chain_seq) FROM corrections WHERE chain = 'sink.corrections:2' AND rule_trace->>'promotion' = ''")
[ -n "$eseq" ] || fail "no correction of chain sink.corrections:2 has an empty promotion"
tamper t_rename "UPDATE corrections SET rule_trace = (rule_trace - 'promotion') || '{\"promotionx\": \"\"}'
                 WHERE chain = 'sink.corrections:2' AND chain_seq = $eseq"
verify_db t_rename 1 "^BAD chain sink.corrections:2 seq $eseq \\(correction $(id_at 2 "$eseq")\\): rule_trace's keys"
tamper t_subms "UPDATE invoice_headers SET period_start = period_start + interval '999 microseconds'
                WHERE chain = 'sink.invoices:2' AND chain_seq = 4"
verify_db t_subms 1 "^BAD chain sink.invoices:2 seq 4 \\(invoice $(hat sink.invoices:2 4)\\): period_start or period_end has a fraction of a millisecond"
# Not UTF-8 on the client's side: the last header of a chain given a reason in Portuguese and its
# row_hash recomputed, sink_offsets' head with it (as the owner could, from the documented form); verify with
# PGCLIENTENCODING=LATIN1 must still hash the UTF-8 bytes and find it clean.
hl=$(q ajuste_test "SELECT max(chain_seq) FROM invoice_headers WHERE chain = 'sink.invoices:0'")
tamper t_utf8 "UPDATE invoice_headers SET status_reason = 'revisão à vista' WHERE chain = 'sink.invoices:0' AND chain_seq = $hl;
  CREATE FUNCTION pg_temp.f(t text) RETURNS bytea LANGUAGE sql IMMUTABLE
    AS \$\$ SELECT int4send(octet_length(convert_to(t, 'UTF8'))) || convert_to(t, 'UTF8') \$\$;
  UPDATE invoice_headers SET row_hash = sha256(prev_hash || (SELECT string_agg(pg_temp.f(v), ''::bytea ORDER BY o)
    FROM unnest(ARRAY[$hfields]) WITH ORDINALITY AS u(v, o))) WHERE chain = 'sink.invoices:0' AND chain_seq = $hl;
  UPDATE sink_offsets SET chain_head = (SELECT row_hash FROM invoice_headers WHERE chain = 'sink.invoices:0' AND chain_seq = $hl)
    WHERE input_topic = 'sink.invoices' AND input_partition = 0 AND from_offset =
      (SELECT max(from_offset) FROM sink_offsets WHERE input_topic = 'sink.invoices' AND input_partition = 0)"
PGCLIENTENCODING=LATIN1 verify_db t_utf8 0 "Verified $((n + nh)) rows"
echo "   tampered as owner: a changed amount, a deleted row, two rows swapped, an invoice's amount due, a held"
echo "   invoice's reason: each reported at its first bad row; a tail cut (corrections, invoices) is reported"
echo "   against sink_offsets, and with sink_offsets forged to match, by the anchor; a chain without"
echo "   sink_offsets rows, a chain removed whole: each reported; a rule_trace number made a string, a renamed empty key, a"
echo "   period moved by 999 µs: each reported; a log with non-ASCII text verifies under PGCLIENTENCODING=LATIN1"
verify_db ajuste_test 2 "not an anchor file" --anchor "$work/a.out"

# ------------------------------------------------------------------------ f: the same id twice
# The message at sink.corrections:0 offset 3 produced again at the partition's end (as a producer
# retrying without idempotence would): the topic then holds one correction id twice. A sink from
# scratch, in one batch, gets both in the same COPY (23505 inside the batch): it keeps the first
# (offset 3), skips the second, and the chain runs on without a gap; the sink of the full log
# then reads the copy alone and skips it as a key already stored.
command -v kcat >/dev/null || fail "kcat is not installed (apt-get install kcat)"
kc() { timeout 60 kcat -b "$boot" -X fetch.wait.max.ms=10 -q "$@" </dev/null {mb_in}>&- {mb_out}<&-; }
kc -C -t sink.corrections -p 0 -o 3 -c 1 -e -f '%s' >"$work/twin.value" || fail "kcat could not read offset 3"
kc -C -t sink.corrections -p 0 -o 3 -c 1 -e -f '%k' >"$work/twin.key" || fail "kcat could not read offset 3's key"
twin=$(q ajuste_test "SELECT correction_id FROM corrections WHERE chain = 'sink.corrections:0' AND chain_seq = 4")
end0=$(kc -C -t sink.corrections -p 0 -o -1 -c 1 -e -f '%o')
timeout 60 kcat -b "$boot" -q -P -t sink.corrections -p 0 -k "$(cat "$work/twin.key")" "$work/twin.value" </dev/null \
  {mb_in}>&- {mb_out}<&- || fail "kcat could not produce the copy"
[ "$(kc -C -t sink.corrections -p 0 -o $((end0 + 1)) -c 1 -e -f '%s' | cmp - "$work/twin.value" && echo same)" = same ] ||
  fail "the copy at offset $((end0 + 1)) is not the message of offset 3"
q ajuste_test "CREATE DATABASE twice" >/dev/null
"$AJ_BIN" audit migrate --db "dbname=twice" >/dev/null </dev/null || fail "migrate twice failed"
sink twice --until-end --batch-rows 100000 --invoice-topic "" --review-topic "" >"$work/f.out" 2>&1 ||
  fail "sink with the id twice exited $?: $(cat "$work/f.out")"
grep -q "into corrections: read $((n + 1)), inserted $n, duplicates skipped 1, 1 transactions" "$work/f.out" ||
  fail "the id twice in one batch: $(cat "$work/f.out")"
[ "$(q twice "SELECT string_agg(chain || ' ' || chain_seq, ',') FROM corrections WHERE correction_id = '$twin'")" = \
  "sink.corrections:0 4" ] || fail "the id twice: the stored row is not the first message's (offset 3, seq 4)"
[ "$(q twice "$hsql" | head -1)" = "$(q ajuste_test "$hsql" | head -1)" ] ||
  fail "the id twice in one batch: the chains differ from the log's without the copy"
[ "$(q twice "SELECT next_offset FROM sink_offsets WHERE input_partition = 0")" = "$((end0 + 2))" ] ||
  fail "the id twice: sink_offsets does not cover the copy"
sink ajuste_test --until-end --invoice-topic "" --review-topic "" >"$work/f2.out" 2>&1 || fail "sink exited $?: $(cat "$work/f2.out")"
grep -q "into corrections: read 1, inserted 0, duplicates skipped 1," "$work/f2.out" || fail "the copy after the log: $(cat "$work/f2.out")"
verify_db twice 0 "corrections: $n rows in 4 chains"
echo "   the same correction twice on the topic: one batch keeps the first (offset 3) and skips the copy,"
echo "   the chains equal the log's; a sink already past offset 3 skips the copy as stored; verify clean"

# ------------------------------------------------------------------------ g: sink_offsets behind
# The owner empties sink_offsets of a log that is behind the topic (a sink killed -9 part way):
# the rows already stored come back as duplicates, the first new one finds its chain position
# taken. The sink must stop and say so, not count it as a duplicate and drop it (and every row
# after it in its chain). With sink_offsets restored it goes on, and the log equals the others.
q ajuste_test "CREATE DATABASE behind" >/dev/null
"$AJ_BIN" audit migrate --db "dbname=behind" >/dev/null </dev/null || fail "migrate behind failed"
sink_bg behind "$work/g1.out"
wait_batches behind 40
kill_sink "with rows left to store (g)"
k=$(q behind "SELECT count(*) FROM corrections")
[ "$k" -gt 0 ] && [ "$k" -lt "$n" ] || fail "g: the killed sink stored $k of $n corrections"
q behind "SET ROLE ajuste_owner; CREATE TABLE offsets_copy AS SELECT * FROM sink_offsets; DELETE FROM sink_offsets" >/dev/null
rc=0
sink behind --until-end >"$work/g2.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "g: the sink with sink_offsets emptied exited $rc, want 1: $(cat "$work/g2.out")"
grep -q "the log already holds a row at seq [0-9]* of chain sink.corrections:[0-3] (unique key corrections_chain_key).*sink_offsets is behind the log" \
  "$work/g2.out" || fail "g: the sink did not say that sink_offsets is behind the log: $(cat "$work/g2.out")"
[ "$(q behind "SELECT count(*) FROM corrections")" -eq "$k" ] || fail "g: the refused run changed the log"
q behind "SET ROLE ajuste_owner; INSERT INTO sink_offsets SELECT * FROM offsets_copy; DROP TABLE offsets_copy" >/dev/null
sink behind --until-end >"$work/g3.out" 2>&1 || fail "g: the sink with sink_offsets restored exited $?: $(cat "$work/g3.out")"
[ "$(q behind "$hsql")" = "$(q ajuste_test "$hsql")" ] || fail "g: after the restore the log differs from the run without a fault"
verify_db behind 0 "corrections: $n rows in 4 chains; invoice_headers: $nh rows in $hc chains"
echo "   sink_offsets emptied under a log behind the topic ($k of $n rows): the sink stops (exit 1) naming the"
echo "   chain position taken, the log unchanged; sink_offsets restored, it completes the same log; verify clean"

expect_ok "quit"
stop_broker
echo "PASS test_audit_sink"
