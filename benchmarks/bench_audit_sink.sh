#!/usr/bin/env bash
# bench_audit_sink.sh - throughput of `ajuste audit sink` (rows/s into the corrections table)
# beside the ceiling: a plain COPY of the same rows into a table without constraints, indexes or
# triggers, measured in the same run against the same throwaway PostgreSQL (docs/performance.md,
# "The audit sink").
#
# The workload: `ajuste gen` + `ajuste run` on the mock broker put the corrections of
# BENCH_RECORDS usage records (BENCH_ERROR_RATE of them wrong) on a topic. Then, BENCH_RUNS
# times: the sink stores the whole topic into a fresh database (Kafka read and Avro decode,
# canonical form and SHA-256 chain, COPY into the batch table, INSERT ... ON CONFLICT DO NOTHING
# into the constrained and indexed table, sink_offsets, commit every BENCH_BATCH_ROWS rows), and
# the same rows, exported as COPY text, are COPY-ed by psql into an unconstrained table of the
# same columns (the ceiling the issue names: no key, no check, no index), and into a table with
# the corrections table's keys, checks and indexes but no trigger (LIKE corrections INCLUDING
# ALL: what the log's schema itself costs, with no hashing and no idempotency). psql's \timing
# measures the server's COPY and the transfer, not psql's start-up. And into a third table, the
# least any log meeting issue 6 can have ("minimal": the primary key the sink's ON CONFLICT DO
# NOTHING needs and one index for the auditors' queries, on (cycle_id, account); no check):
# psql's rate there bounds what any sink of such a log can reach on the machine. Prints each run, the
# median of each, and the ratios. The sink reads the topic with kafka.fetch.wait.max.ms = 10,
# as the tests do: the mock broker holds an empty fetch for the whole wait (500 ms by default).
# Since the machine is shared, each run also reports CPU seconds, which load moves far less than
# wall time: the sink's own (user + system, Kafka client threads included) and its server
# backend's, against the COPYs' backends' (read from /proc/PID/stat).
#
# Usage: benchmarks/bench_audit_sink.sh          (from a build: AJ_BIN, AJ_MOCKBROKER default to
#        BUILD=/tmp/build benchmarks/bench_audit_sink.sh     $BUILD/cmd/ajuste, $BUILD/tests/...)
# Settings: BUILD (default ./build), BENCH_RECORDS (400000), BENCH_ERROR_RATE (0.5),
# BENCH_BATCH_ROWS (5000), BENCH_RUNS (3), BENCH_FSYNC (off, as the tests' clusters; on: fsync
# and synchronous_commit on, full_page_writes on: a durable server), BENCH_BASE_BIN (another
# ajuste, e.g. a build of an older commit: its sink runs too in each run, into a database of its
# own, alternately before and after this one, for a before/after under the same load).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../build}
AJ_BIN=${AJ_BIN:-$build/cmd/ajuste}
AJ_MOCKBROKER=${AJ_MOCKBROKER:-$build/tests/aj_mockbroker}
records=${BENCH_RECORDS:-400000}
error_rate=${BENCH_ERROR_RATE:-0.5}
batch=${BENCH_BATCH_ROWS:-5000}
runs=${BENCH_RUNS:-3}
fsync=${BENCH_FSYNC:-off}
base_bin=${BENCH_BASE_BIN:-}
[ -x "$AJ_BIN" ] || { echo "bench_audit_sink: no ajuste at $AJ_BIN (set BUILD or AJ_BIN)" >&2; exit 2; }
[ -x "$AJ_MOCKBROKER" ] || { echo "bench_audit_sink: no aj_mockbroker at $AJ_MOCKBROKER" >&2; exit 2; }
work=$(mktemp -d)
chmod 755 "$work"   # the COPY file is read by psql, as us; nothing else needs it

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# shellcheck source=../tests/integration/pg_lib.sh
. "$here/../tests/integration/pg_lib.sh"
# shellcheck source=../tests/integration/mb_lib.sh
. "$here/../tests/integration/mb_lib.sh"
trap 'kill_broker; pg_stop; rm -rf "$work"' EXIT

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2" </dev/null; }

PG_SERVER_OPTS="-c shared_buffers=256MB -c max_wal_size=2GB -c checkpoint_timeout=30min ${PG_SERVER_OPTS:-}"
if [ "$fsync" = on ]; then
  PG_SERVER_OPTS="$PG_SERVER_OPTS -c fsync=on -c synchronous_commit=on -c full_page_writes=on"
fi
export PG_SERVER_OPTS
MB_TIMEOUT=3600
pg_start

# ------------------------------------------------------------------------ the workload
start_broker
for t in cdr.usage:16 contract.events:1 ajuste.checkpoints:16 b.invoices:16 b.review:16 b.corrections:32 \
  b.dead-letter:16; do
  expect_ok "topic ${t%:*} ${t#*:}"
done
echo "workload: ajuste gen --records $records --error-rate $error_rate, ajuste run (mock broker)"
"$AJ_BIN" gen --bootstrap-servers "$boot" --out "$work/gen" --accounts 2000 --records "$records" \
  --error-rate "$error_rate" --seed 11 >"$work/gen.out" 2>&1 {mb_in}>&- {mb_out}<&- || fail "gen: $(cat "$work/gen.out")"
cat >"$work/run.conf" <<CONF
kafka.bootstrap.servers = $boot
run.exit_at_end = true
kafka.fetch.wait.max.ms = 10
input.credit_topic =
kafka.group.id = bench
output.invoice_topic = b.invoices
output.review_topic = b.review
output.correction_topic = b.corrections
output.dead_letter_topic = b.dead-letter
CONF
"$AJ_BIN" run --config "$work/run.conf" >"$work/run.out" 2>&1 {mb_in}>&- {mb_out}<&- || fail "run: $(tail -5 "$work/run.out")"

cols="correction_id text, account text, cycle_id text, record_id text, record_kind text, service text,
  reason text, hypothesis text, legacy_amount bigint, corrected_amount bigint, delta bigint, currency text,
  contract_id text, contract_version integer, legacy_tariff_code text, rule_trace jsonb, disposition text,
  invoice_id text, invoice_line text, late boolean, source_origin text, source_partition integer,
  source_offset bigint, pipeline_version text, chain text, chain_seq bigint, prev_hash bytea, row_hash bytea"

printf 'kafka.bootstrap.servers = %s\nkafka.fetch.wait.max.ms = 10\n' "$boot" >"$work/sink.conf"
tck=$(getconf CLK_TCK)
# copy_cpu DB TABLE FILE: psql COPYs FILE into TABLE; prints "WALL_MS BACKEND_CPU_MS".
copy_cpu() {
  psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" <<SQL
SELECT pg_backend_pid() AS pid \gset
\setenv BPID :pid
\! awk '{print "cpu0", \$14 + \$15}' /proc/\$BPID/stat
\timing on
\copy $2 FROM '$3'
\timing off
\! awk '{print "cpu1", \$14 + \$15}' /proc/\$BPID/stat
SQL
}
copy_run() {
  local out
  out=$(copy_cpu "$@" </dev/null) || fail "COPY into $2: $out"
  awk -v tck="$tck" '/^cpu0/ {c0 = $2} /^cpu1/ {c1 = $2} /^Time:/ {t = $2} END {printf "%d %d\n", t, (c1 - c0) * 1000 / tck}' <<<"$out"
}
median() { LC_ALL=C sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
: >"$work/sink.rate"
: >"$work/copy.rate"
: >"$work/full.rate"
: >"$work/min.rate"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server: $(q ajuste_test 'SHOW server_version'), fsync=$(q ajuste_test 'SHOW fsync'), synchronous_commit=$(q ajuste_test 'SHOW synchronous_commit'), shared_buffers=$(q ajuste_test 'SHOW shared_buffers'), unix socket"
# sink_run DB BIN: a fresh database DB, `BIN audit sink` into it; prints "ROWS MS CLIENT_CPU_MS BACKEND_CPU_MS DB_MS".
sink_run() {
  local db=$1 bin=$2 sink_pid bpid="" bcpu=0 line rows ms
  q ajuste_test "CREATE DATABASE $db" >/dev/null
  "$AJ_BIN" audit migrate --db "dbname=$db" >/dev/null </dev/null {mb_in}>&- {mb_out}<&- || fail "migrate $db"
  q "$db" "SELECT 1 FROM pg_roles WHERE rolname = 'sink'" | grep -q 1 || q "$db" "CREATE ROLE sink LOGIN IN ROLE ajuste_writer" >/dev/null
  /usr/bin/time -f '%U %S' -o "$work/$db.time" "$bin" audit sink --config "$work/sink.conf" --topic b.corrections \
    --invoice-topic "" --review-topic "" --db "dbname=$db user=sink application_name=bench_sink" --until-end \
    --batch-rows "$batch" >"$work/$db.out" 2>&1 {mb_in}>&- {mb_out}<&- &
  sink_pid=$!
  # Its backend's CPU, sampled until the backend exits (the last sample: within 20 ms of its end).
  while kill -0 "$sink_pid" 2>/dev/null; do
    [ -n "$bpid" ] || bpid=$(q "$db" "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench_sink'")
    [ -n "$bpid" ] && [ -r "/proc/$bpid/stat" ] && bcpu=$(awk '{print $14 + $15}' "/proc/$bpid/stat" 2>/dev/null || echo "$bcpu")
    sleep 0.02
  done
  wait "$sink_pid" || fail "sink: $(cat "$work/$db.out")"
  [ -n "$bpid" ] || fail "the sink's backend was never seen"
  line=$(grep '^audit sink: [0-9]* rows inserted' "$work/$db.out")
  rows=$(sed 's/^audit sink: \([0-9]*\) rows.*/\1/' <<<"$line")
  ms=$(sed 's/.* in \([0-9]*\) ms.*/\1/' <<<"$line")
  [ "$rows" -gt 0 ] || fail "the sink inserted nothing: $(cat "$work/$db.out")"
  echo "$rows $ms $(awk -v tck="$tck" -v b="$bcpu" '{printf "%d %d\n", ($1 + $2) * 1000, b * 1000 / tck}' "$work/$db.time") $(sed -n 's/.* \([0-9]*\) ms of it sending to PostgreSQL.*/\1/p' <<<"$line")"
}
: >"$work/base.rate"
for ((r = 1; r <= runs; r++)); do
  db=bench$r
  # With BENCH_BASE_BIN, that sink too, into a database of its own, alternately before and after this one.
  base_backend=""
  if [ -n "$base_bin" ] && [ $((r % 2)) = 1 ]; then read -r base_rows base_ms base_client base_backend _ < <(sink_run "${db}base" "$base_bin"); fi
  read -r rows ms client_ms backend_ms db_ms < <(sink_run "$db" "$AJ_BIN")
  [ -n "$db_ms" ] || fail "the sink's run into $db failed"
  if [ -n "$base_bin" ] && [ $((r % 2)) = 0 ]; then read -r base_rows base_ms base_client base_backend _ < <(sink_run "${db}base" "$base_bin"); fi
  if [ -n "$base_bin" ]; then
    [ -n "${base_backend:-}" ] || fail "the base sink's run failed"
    [ "$base_rows" = "$rows" ] || fail "the base sink inserted $base_rows rows, this one $rows"
    echo "$((base_rows * 1000 / base_ms))" >>"$work/base.rate"
    q ajuste_test "DROP DATABASE ${db}base" >/dev/null
  fi
  # The ceiling: the same rows (as the sink stored them) COPY-ed into a table without constraints.
  if [ "$r" = 1 ]; then
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "\\copy (SELECT * FROM corrections) TO '$work/rows.copy'" </dev/null
  fi
  q "$db" "CREATE TABLE plain ($cols)" >/dev/null
  read -r t plain_cpu < <(copy_run "$db" plain "$work/rows.copy")
  n_plain=$(q "$db" "SELECT count(*) FROM plain")
  [ "$n_plain" -eq "$rows" ] || fail "COPY loaded $n_plain rows, the sink $rows"
  q "$db" "CREATE TABLE constrained (LIKE corrections INCLUDING ALL)" >/dev/null
  read -r tf full_cpu < <(copy_run "$db" constrained "$work/rows.copy")
  q "$db" "CREATE TABLE minimal (LIKE corrections, PRIMARY KEY (correction_id));
    CREATE INDEX ON minimal (cycle_id, account)" >/dev/null
  read -r tm _ < <(copy_run "$db" minimal "$work/rows.copy")
  min_rate=$((rows * 1000 / tm))
  echo "$min_rate" >>"$work/min.rate"
  sink_rate=$((rows * 1000 / ms))
  copy_rate=$((rows * 1000 / t))
  echo "$((min_rate * 100 / copy_rate))" >>"$work/min.ratio"
  full_rate=$((rows * 1000 / tf))
  echo "$sink_rate" >>"$work/sink.rate"
  echo "$((sink_rate * 100 / copy_rate))" >>"$work/sink.ratio"
  echo "$copy_rate" >>"$work/copy.rate"
  echo "$full_rate" >>"$work/full.rate"
  echo "$(((client_ms + backend_ms) * 100 / plain_cpu)) $(((client_ms + backend_ms) * 100 / full_cpu)) $((backend_ms * 100 / full_cpu))" >>"$work/cpu.ratio"
  printf 'run %d: %d rows. wall: sink %d ms = %d rows/s (%s ms on PostgreSQL); plain COPY %d ms = %d rows/s;' "$r" \
    "$rows" "$ms" "$sink_rate" "$db_ms" "$t" "$copy_rate"
  printf ' constrained COPY %d ms = %d rows/s; sink/plain %d%%, sink/constrained %d%%\n' "$tf" "$full_rate" \
    $((sink_rate * 100 / copy_rate)) $((sink_rate * 100 / full_rate))
  printf '       CPU: sink %d ms + its backend %d ms; plain COPY backend %d ms; constrained COPY backend %d ms\n' \
    "$client_ms" "$backend_ms" "$plain_cpu" "$full_cpu"
  printf '       minimal COPY %d ms = %d rows/s = %d%% of the plain COPY\n' "$tm" "$min_rate" $((min_rate * 100 / copy_rate))
  if [ -n "$base_bin" ]; then
    printf '       base sink (%s): %d ms = %d rows/s, sink/plain %d%%; CPU: sink %d ms + its backend %d ms\n' \
      "$base_bin" "$base_ms" $((base_rows * 1000 / base_ms)) $((base_rows * 100000 / base_ms / copy_rate)) "$base_client" "$base_backend"
  fi
  q ajuste_test "DROP DATABASE $db" >/dev/null
done
s=$(median <"$work/sink.rate")
c=$(median <"$work/copy.rate")
f=$(median <"$work/full.rate")
echo "median of $runs: sink $s rows/s, plain COPY $c rows/s, constrained COPY $f rows/s: the sink at $((s * 100 / c))% of"
echo "the plain COPY (the issue's ceiling), at $((s * 100 / f))% of the constrained one (batch $batch rows, fsync $fsync)"
if [ -n "$base_bin" ]; then
  bs=$(median <"$work/base.rate")
  echo "base sink ($base_bin): median $bs rows/s, $((bs * 100 / c))% of the plain COPY"
fi
m=$(median <"$work/min.rate")
echo "psql into the minimal log (primary key and one index, no check; no Kafka, no hashing): median $m rows/s, $((m * 100 / c))% of"
echo "the plain COPY: no sink of a log meeting issue 6 gets above that here"
echo "medians of the ratios within each run (the load moves all of a run together): sink / plain COPY"
echo "$(median <"$work/sink.ratio")%, minimal COPY / plain COPY $(median <"$work/min.ratio")%"
a=$(cut -d' ' -f1 "$work/cpu.ratio" | median)
b=$(cut -d' ' -f2 "$work/cpu.ratio" | median)
c=$(cut -d' ' -f3 "$work/cpu.ratio" | median)
echo "CPU per row (medians): the sink and its backend together use $a% of the plain COPY's backend CPU, $b% of the"
echo "constrained COPY's; the sink's backend alone $c% of the constrained COPY's"
expect_ok "quit"
stop_broker
