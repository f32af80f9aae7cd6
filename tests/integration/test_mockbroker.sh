#!/usr/bin/env bash
# test_mockbroker.sh - the standalone mock broker: starts, serves real Kafka clients (kcat),
# takes commands, refuses bad ones by name, and stops on quit.
set -euo pipefail

: "${AJ_MOCKBROKER:?AJ_MOCKBROKER must point at the aj_mockbroker binary}"
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  exec 7>&- 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"$AJ_MOCKBROKER" --help | grep -q "Usage: aj_mockbroker" || fail "--help"
set +e
"$AJ_MOCKBROKER" --topic nocolon >/dev/null 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "NAME:PARTITIONS" "$work/err" || fail "a bad --topic must exit 2 naming the format"

mkfifo "$work/in"
"$AJ_MOCKBROKER" --brokers 2 --topic t1:3 <"$work/in" >"$work/out" 2>"$work/err" &
pid=$!
exec 7>"$work/in"
for _ in $(seq 100); do grep -q '^bootstrap.servers=' "$work/out" && break; sleep 0.1; done
boot=$(sed -n 's/^bootstrap.servers=//p' "$work/out")
[ -n "$boot" ] || fail "no bootstrap line: $(cat "$work/err")"

# ask CMD: sends one command and prints its one-line answer (the line after those already there).
ask() {
  local before
  before=$(wc -l <"$work/out")
  echo "$1" >&7
  for _ in $(seq 200); do [ "$(wc -l <"$work/out")" -gt "$before" ] && break; sleep 0.05; done
  sed -n "$((before + 1))p" "$work/out"
}

seq 1 100 | sed 's/^/message-/' | timeout 60 kcat -P -b "$boot" -t t1 || fail "kcat could not produce"
n=$(timeout 60 kcat -C -b "$boot" -t t1 -e -q | grep -c '^message-')
[ "$n" -eq 100 ] || fail "kcat read back $n of 100 messages"

[ "$(ask 'topic t2 4')" = "ok" ] || fail "topic command"
[ "$(ask 'errors Produce 2 REQUEST_TIMED_OUT')" = "ok" ] || fail "errors command"
[ "$(ask 'errors Fetch 1 6')" = "ok" ] || fail "errors command with a number"
[ "$(ask 'coordinator group g1 2')" = "ok" ] || fail "coordinator command"
[ "$(ask 'broker-down 2')" = "ok" ] || fail "broker-down"
[ "$(ask 'broker-up 2')" = "ok" ] || fail "broker-up"
ask 'errors NoSuchApi 1 1' | grep -q "^error: unknown API 'NoSuchApi'" || fail "a bad API name must be named"
ask 'errors Produce 1 NO_SUCH_ERROR' | grep -q "^error: unknown error code 'NO_SUCH_ERROR'" || fail "bad error code"
ask 'frobnicate' | grep -q "^error: unknown or malformed command 'frobnicate'" || fail "bad command"
# the cluster still serves after the faults were consumed
echo "after" | timeout 60 kcat -P -b "$boot" -t t2 || fail "produce after faults"
echo quit >&7
timeout 20 tail --pid="$pid" -f /dev/null || fail "did not stop on quit"
wait "$pid" || fail "exit status on quit"
pid=""
echo "test_mockbroker: all passed"
