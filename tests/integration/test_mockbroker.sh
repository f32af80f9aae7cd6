#!/usr/bin/env bash
# test_mockbroker.sh - aj_mockbroker serves real Kafka clients (kcat) and obeys its command protocol.
set -euo pipefail

: "${AJ_MOCKBROKER:?AJ_MOCKBROKER must point at the aj_mockbroker binary}"
command -v kcat >/dev/null || { echo "FAIL: kcat is not installed (apt-get install kcat)" >&2; exit 1; }

work=$(mktemp -d)
# shellcheck source=mb_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mb_lib.sh"
cleanup() {
  kill_broker
  rm -rf "$work"
}
trap cleanup EXIT

kcat_consume() {   # topic -> key=value lines, sorted
  timeout 60 kcat -C -b "$boot" -t "$1" -o beginning -e -q -f '%k=%s\n' -X fetch.wait.max.ms=10 >"$work/consumed" ||
    fail "kcat could not consume $1"
  sort "$work/consumed"
}

echo "-- bad command lines exit 2 and name the bad input"
for args in "--topic nocolon" "--topic t:0" "--brokers 99" "--frobnicate" "stray"; do
  rc=0
  # shellcheck disable=SC2086
  timeout 30 "$AJ_MOCKBROKER" $args </dev/null >/dev/null 2>"$work/flag.err" || rc=$?
  [ "$rc" -eq 2 ] || fail "aj_mockbroker $args exited $rc, want 2"
  word=${args##* }
  grep -qF -- "${word%%:*}" "$work/flag.err" || fail "aj_mockbroker $args: message does not name the input: $(cat "$work/flag.err")"
done
timeout 30 "$AJ_MOCKBROKER" --help | grep -q '^Usage: aj_mockbroker' || fail "--help prints no usage"

echo "-- kcat produces 100 messages and consumes them back"
start_broker --brokers 2 --topic mb.test:3
for i in $(seq 1 100); do printf 'key%d:value%d\n' "$i" "$i"; done >"$work/sent"
timeout 60 kcat -P -b "$boot" -t mb.test -K: -l "$work/sent" 2>"$work/kcat.err" ||
  fail "kcat could not produce: $(cat "$work/kcat.err")"
kcat_consume mb.test >"$work/got"
n=$(wc -l <"$work/got")
[ "$n" -eq 100 ] || fail "consumed $n messages from mb.test, want 100"
sed 's/:/=/' "$work/sent" | sort | cmp -s - "$work/got" || fail "the consumed messages differ from the produced ones"
timeout 30 kcat -L -b "$boot" -t mb.test >"$work/meta" || fail "kcat -L failed"
grep -q 'topic "mb.test" with 3 partitions' "$work/meta" || fail "mb.test does not have 3 partitions: $(cat "$work/meta")"
grep -q ' 2 brokers:' "$work/meta" || fail "the cluster does not have 2 brokers: $(cat "$work/meta")"

echo "-- topic command"
expect_ok "topic mb.new 5"
timeout 30 kcat -L -b "$boot" -t mb.new >"$work/meta" || fail "kcat -L failed"
grep -q 'topic "mb.new" with 5 partitions' "$work/meta" || fail "topic mb.new was not created with 5 partitions"
expect_error "topic mb.new 5" "mb.new"

echo "-- faults: a non-retriable error fails a produce, a retriable one is retried"
expect_ok "errors Produce 1 TOPIC_AUTHORIZATION_FAILED"
if printf 'x:denied\n' | timeout 60 kcat -P -b "$boot" -t mb.new -K: 2>"$work/kcat.err"; then
  fail "kcat produced although the broker was told to fail the next Produce request"
fi
grep -q 'authorization' "$work/kcat.err" || fail "kcat did not see the injected error: $(cat "$work/kcat.err")"
expect_ok "errors Produce 3 NOT_LEADER_FOR_PARTITION"
printf 'y:retried\n' | timeout 60 kcat -P -b "$boot" -t mb.new -K: 2>"$work/kcat.err" ||
  fail "kcat did not get through 3 retriable errors: $(cat "$work/kcat.err")"
[ "$(kcat_consume mb.new)" = "y=retried" ] || fail "mb.new holds '$(cat "$work/consumed")', want only y=retried"
for f in "errors Fetch 1 REQUEST_TIMED_OUT" "errors OffsetCommit 2 COORDINATOR_NOT_AVAILABLE" \
  "errors InitProducerId 1 NOT_COORDINATOR" "errors EndTxn 1 7" "errors FindCoordinator 1 _TRANSPORT" \
  "errors JoinGroup 1 NOT_COORDINATOR" "errors Heartbeat 1 REBALANCE_IN_PROGRESS" "errors Metadata 1 LEADER_NOT_AVAILABLE"; do
  expect_ok "$f"
  api=${f#errors }
  expect_ok "clear-errors ${api%% *}"   # nothing here consumes them
done
expect_ok "broker-down 2"
expect_ok "broker-up 2"
expect_ok "leader mb.test 0 2"
expect_ok "rtt 1 0"
expect_ok "coordinator group ajuste 1"
expect_ok "coordinator transaction ajuste-0 2"
expect_ok ""

echo "-- bad commands get 'error:' naming the input, and the broker keeps serving"
expect_error "frobnicate" "frobnicate"
expect_error "errors Produce 1 NO_SUCH_ERROR" "NO_SUCH_ERROR"
expect_error "errors Produse 1 REQUEST_TIMED_OUT" "Produse"
expect_error "errors Produce many REQUEST_TIMED_OUT" "many"
expect_error "errors Produce 1" "errors"
expect_error "broker-down 7" "7"
expect_error "coordinator cluster x 1" "cluster"
expect_error "topic t x" "x"
kcat_consume mb.test >"$work/got"
[ "$(wc -l <"$work/got")" -eq 100 ] || fail "after the commands mb.test holds $(wc -l <"$work/got") messages, want 100"

echo "-- quit answers ok and exits 0"
expect_ok "quit"
stop_broker

echo "-- end of input exits 0"
rc=0
printf 'topic eof.t 1\n' | timeout 30 "$AJ_MOCKBROKER" >"$work/eof.out" 2>"$work/broker.err" || rc=$?
[ "$rc" -eq 0 ] || fail "aj_mockbroker exited $rc at end of input, want 0: $(cat "$work/broker.err")"
[ "$(sed -n 2p "$work/eof.out")" = "ok" ] || fail "the last command before end of input was not answered"

echo "-- SIGTERM and SIGINT exit 0"
for sig in TERM INT; do
  start_broker
  expect_ok "topic sig.t 1"   # serving: the signal arrives while it waits for input
  kill -s "$sig" "$mb_pid"
  stop_broker
done

echo "test_mockbroker: all passed"
