#!/usr/bin/env bash
# test_faults.sh - `ajuste run` under broker faults injected through aj_mockbroker (request
# errors on Produce, Fetch, OffsetCommit, InitProducerId, EndTxn; a broker down and up; the
# group coordinator moved) and a fatal producer error (fenced): every run that fails exits
# non-zero with the reason, a restart recovers, and the outputs deduplicated by id are
# byte-identical to a no-fault run (issue 5, tests 3 and 4).
set -euo pipefail

: "${AJ_BIN:?AJ_BIN must point at the ajuste binary}"
: "${AJ_MOCKBROKER:?AJ_MOCKBROKER must point at the aj_mockbroker binary}"
: "${AJ_OUTDUMP:?AJ_OUTDUMP must point at the aj_outdump binary}"

RECORDS=${AJ_FAULTS_RECORDS:-60000}
work=$(mktemp -d)
run_pid=""
cleanup() {
  if [ -n "$run_pid" ]; then kill -9 "$run_pid" 2>/dev/null || true; fi
  kill_broker
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# shellcheck source=mb_lib.sh
. "$(dirname "$0")/mb_lib.sh"

P=4   # partitions of the usage and output topics
start_broker --brokers 3 --topic cdr.usage:$P --topic contract.events:1 --topic ajuste.checkpoints:$P
"$AJ_BIN" gen --out "$work/gen" --accounts 200 --records "$RECORDS" --seed 11 --bootstrap-servers "$boot" \
  >"$work/gen.log" 2>&1 || fail "gen: $(cat "$work/gen.log")"

cat >"$work/run.conf" <<EOF
kafka.bootstrap.servers = $boot
run.exit_at_end = true
kafka.fetch.wait.max.ms = 10
kafka.session.timeout.ms = 3000
kafka.heartbeat.interval.ms = 500
commit.interval.records = 2000
commit.interval.ms = 100
checkpoint.interval.records = 6000
checkpoint.interval.ms = 300
input.credit_topic =
EOF

# topics_for NAME: creates NAME's output topics; run_args NAME [--set ...]: its command line.
topics_for() {
  local t
  for t in inv cor dl rev; do expect_ok "topic $1.$t $P"; done
}
run_args() {
  local g=$1
  shift
  echo run --config "$work/run.conf" --set "kafka.group.id=$g" --set "output.invoice_topic=$g.inv" \
    --set "output.correction_topic=$g.cor" --set "output.dead_letter_topic=$g.dl" \
    --set "output.review_topic=$g.rev" "$@"
}

# dump NAME: the deduplicated outputs of NAME's topics into $work/NAME.dump (+ .sum).
dump() {
  "$AJ_OUTDUMP" --bootstrap-servers "$boot" --topic "invoice=$1.inv" --topic "correction=$1.cor" \
    --topic "dead-letter=$1.dl" --topic "review=$1.rev" --out "$work/$1.dump" --summary "$work/$1.sum" \
    2>"$work/$1.dump.err" || fail "aj_outdump of $1: $(cat "$work/$1.dump.err")"
  grep -q ' evicted=0 ' "$work/$1.sum" || fail "$1: the mock broker evicted outputs: $(head -4 "$work/$1.sum")"
}

# same_as_ref NAME: byte-identical to the reference, no conflicting ids.
same_as_ref() {
  dump "$1"
  if grep -q ' conflicts=[1-9]' "$work/$1.sum"; then fail "$1: an id with two different contents: $(cat "$work/$1.sum")"; fi
  if ! cmp -s "$work/ref.dump" "$work/$1.dump"; then
    diff <(cut -c1-120 "$work/ref.dump") <(cut -c1-120 "$work/$1.dump") | head -5 >&2 || true
    fail "$1: outputs differ from the no-fault run (first differences above)"
  fi
  echo "   $1: identical to the no-fault run ($(head -4 "$work/$1.sum" | awk '{print $1, $2, $3}' | tr '\n' ' '))"
}

# wait_assigned LOG: until the run in LOG has its partitions (or 30 s).
wait_assigned() {
  for _ in $(seq 300); do
    grep -q 'partitions assigned' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no partition assigned in 30 s: $(tail -5 "$1")"
}

# until_done NAME LOG [--set ...]: restarts NAME's run until it exits 0 (at most 8 times); each
# exit other than 0 must be 1 with the reason on its last line.
until_done() {
  local g=$1 log=$2 rc
  shift 2
  for i in $(seq 8); do
    rc=0
    # shellcheck disable=SC2046
    timeout 300 "$AJ_BIN" $(run_args "$g" "$@") >>"$log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] && return 0
    [ "$rc" -eq 1 ] || fail "$g: restart $i exited $rc, want 0 or 1: $(tail -3 "$log")"
    grep -q '^ajuste run: ' "$log" || fail "$g: exit 1 without a reason: $(tail -3 "$log")"
    echo "   $g: exited 1 ($(grep '^ajuste run: ' "$log" | tail -1 | cut -c1-100)); restarting"
  done
  fail "$g: did not finish in 8 restarts"
}

echo "-- the no-fault reference"
topics_for ref
# shellcheck disable=SC2046
timeout 300 "$AJ_BIN" $(run_args ref) >"$work/ref.log" 2>&1 || fail "reference run: $(tail -5 "$work/ref.log")"
dump ref
grep -q 'invoice raw=[1-9]' "$work/ref.sum" || fail "the reference produced no invoice: $(cat "$work/ref.sum")"
grep -q ' duplicates=[1-9]' "$work/ref.sum" && fail "the no-fault run produced duplicates: $(cat "$work/ref.sum")"
echo "   $(head -4 "$work/ref.sum" | awk '{print $1, $2}' | tr '\n' ' ')"

# inject NAME LOG CMD...: starts NAME's run, sends each command once it has its partitions,
# about 150 ms apart, then restarts it until it is done.
inject() {
  local g=$1 log=$2 cmd
  shift 2
  topics_for "$g"
  # shellcheck disable=SC2046
  timeout 300 "$AJ_BIN" $(run_args "$g" ${SETS:-}) >"$log" 2>&1 &
  run_pid=$!
  wait_assigned "$log"
  for cmd in "$@"; do
    sleep 0.15
    expect_ok "$cmd"
  done
  local rc=0
  wait "$run_pid" || rc=$?
  run_pid=""
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 1 ] || fail "$g: exited $rc under faults, want 0 or 1: $(tail -3 "$log")"
    echo "   $g: exited 1 under faults ($(grep '^ajuste run: ' "$log" | tail -1 | cut -c1-100)); restarting"
    # shellcheck disable=SC2086
    until_done "$g" "$log" ${SETS:-}
  fi
}

echo "-- request errors on Produce, Fetch and OffsetCommit (retriable)"
SETS="" inject req "$work/req.log" \
  "errors Produce 4 NOT_LEADER_FOR_PARTITION" "errors Fetch 4 NOT_LEADER_FOR_PARTITION" \
  "errors OffsetCommit 2 REQUEST_TIMED_OUT" "errors Produce 3 REQUEST_TIMED_OUT" "errors Fetch 2 _TRANSPORT"
same_as_ref req

echo "-- a broker down and up, the group coordinator moved"
SETS="" inject brk "$work/brk.log" "broker-down 2" "coordinator group brk 3" "broker-up 2" "broker-down 3" \
  "broker-up 3" "coordinator group brk 1"
same_as_ref brk

echo "-- transactional: InitProducerId and EndTxn errors"
expect_ok "errors InitProducerId 2 COORDINATOR_LOAD_IN_PROGRESS"
SETS="--set kafka.transactional.id=ajuste-faults-txn" inject txn "$work/txn.log" \
  "errors EndTxn 2 CONCURRENT_TRANSACTIONS" "errors EndTxn 1 NOT_COORDINATOR" "coordinator transaction ajuste-faults-txn 2"
same_as_ref txn

echo "-- transactional: an abortable error (a produce the broker refuses for good)"
SETS="--set kafka.transactional.id=ajuste-faults-abort" inject abt "$work/abt.log" \
  "errors Produce 1 INVALID_RECORD"
grep -q 'the transaction is aborted\|fatal' "$work/abt.log" ||
  echo "   abt: the refused produce was retried by librdkafka without an abort"
same_as_ref abt

echo "-- a fatal producer error: fenced (the broker says the epoch is old)"
topics_for fen
# shellcheck disable=SC2046
timeout 300 "$AJ_BIN" $(run_args fen --set kafka.transactional.id=ajuste-faults-fence) >"$work/fen.log" 2>&1 &
run_pid=$!
wait_assigned "$work/fen.log"
sleep 0.2
expect_ok "errors Produce 1 INVALID_PRODUCER_EPOCH"
rc=0
wait "$run_pid" || rc=$?
run_pid=""
[ "$rc" -eq 1 ] || fail "a fenced producer: exit $rc, want 1: $(tail -5 "$work/fen.log")"
grep -q 'fenced' "$work/fen.log" || fail "a fenced producer: the log does not say fenced: $(tail -5 "$work/fen.log")"
grep -q '^ajuste run: pipeline stopped' "$work/fen.log" ||
  fail "a fenced producer: no final reason: $(tail -3 "$work/fen.log")"
echo "   fen: exited 1 ($(grep -o 'fenced by a newer[^(]*' "$work/fen.log" | head -1))"
until_done fen "$work/fen.log" --set kafka.transactional.id=ajuste-faults-fence
same_as_ref fen

echo "-- the classification in the logs"
grep -h 'retrying\|the transaction is aborted\|fatal' "$work"/*.log | sed 's/^/   /' | sort | uniq -c | sort -rn | head -8 || true
grep -q 'fatal' "$work/fen.log" || fail "no fatal classification logged"

expect_ok quit
stop_broker
echo "PASS: test_faults"
