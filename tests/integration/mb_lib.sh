# mb_lib.sh - drive aj_mockbroker as a bash coprocess: start it, send commands, check the answers, stop it.
# Sourced (not run) by the integration scripts. Needs AJ_MOCKBROKER, and $work, a directory for
# the broker's stderr (broker.err). Defines fail unless the script already did.
# MB_TIMEOUT (seconds, default 300) bounds the broker's life.
# shellcheck shell=bash disable=SC2154,SC2034  # work is the sourcing script's, boot is for it

if ! declare -F fail >/dev/null; then
  fail() {
    echo "FAIL: $*" >&2
    exit 1
  }
fi

mb_pid=""

# start_broker [FLAGS...]: starts the broker as a coprocess with FLAGS; sets boot (its bootstrap
# servers), mb_pid, and mb_in / mb_out (our descriptors of its stdin and stdout).
start_broker() {
  coproc MB { exec timeout "${MB_TIMEOUT:-300}" "$AJ_MOCKBROKER" "$@" 2>"$work/broker.err"; }
  mb_pid=${MB_PID:?coproc did not start}
  # Our own copies: bash closes the coprocess's descriptors as soon as it exits.
  exec {mb_out}<&"${MB[0]}" {mb_in}>&"${MB[1]}"
  local line=""
  read -r -t 30 line <&"$mb_out" || fail "aj_mockbroker printed nothing in 30 s: $(cat "$work/broker.err")"
  case "$line" in
    bootstrap.servers=127.0.0.1:*) boot=${line#bootstrap.servers=} ;;
    *) fail "first line of aj_mockbroker is '$line', want bootstrap.servers=<list>" ;;
  esac
}

# send CMD: writes one command, sets answer to the reply line.
send() {
  answer=""
  printf '%s\n' "$1" >&"$mb_in" || fail "cannot write '$1' to aj_mockbroker"
  read -r -t 30 answer <&"$mb_out" || fail "no answer to '$1' in 30 s"
}

# expect_ok CMD / expect_error CMD TEXT: the answer is 'ok', or 'error: ...' containing TEXT.
expect_ok() {
  send "$1"
  [ "$answer" = "ok" ] || fail "'$1' answered '$answer', want ok"
}
expect_error() {
  send "$1"
  case "$answer" in
    "error: "*"$2"*) ;;
    *) fail "'$1' answered '$answer', want 'error: ...$2...'" ;;
  esac
}

# stop_broker: the broker has been told to stop; its exit status must be 0.
stop_broker() {
  local rc=0
  wait "$mb_pid" || rc=$?
  mb_pid=""
  exec {mb_out}<&- {mb_in}>&-
  [ "$rc" -eq 0 ] || fail "aj_mockbroker exited with $rc, want 0: $(cat "$work/broker.err")"
}

# kill_broker: for cleanup traps; stops a broker still running, whatever its state, never fails.
kill_broker() {
  if [ -n "$mb_pid" ]; then
    kill "$mb_pid" 2>/dev/null || true
    wait "$mb_pid" 2>/dev/null || true
    mb_pid=""
  fi
}
