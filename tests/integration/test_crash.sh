#!/usr/bin/env bash
# test_crash.sh - `ajuste run` killed (-9), stopped (SIGTERM) and rebalanced mid-stream, then
# restarted, must end with the outputs of a run without faults: first message per id, byte for byte.
#
# One mock broker, the inputs published once by `ajuste gen`, then scenarios, each with its own
# consumer group and output topics:
#   a  no fault: one run to its end. Its dump is the reference; its counts must match the run's
#      summary, the generator's totals and the ground truth (the mock silently drops the oldest
#      data of a partition past ~5 MiB: a reference with holes would prove nothing).
#   b  kill -9 at AJ_CRASH_KILLS seeded points, restarting each time, then a run to the end.
#   c  SIGTERM twice (each run must exit 0), then a run to the end; and nothing written twice.
#   d  A runs, B joins its group (rebalance), A is killed -9, B ends, one more run sweeps the rest.
# A dump is aj_outdump's: per output kind and id, the first message (partition, offset order).
# Kill and stop points are positions in the input drawn from the seed: once the scenario's group
# has committed that many records (aj_outdump --position, polled), a further seeded delay of up to
# 300 ms puts the signal among uncommitted work. Positions, not times: the points fall at the
# same places of the stream on slow (sanitizer) and fast builds, and the kills of b are spread
# over all of it (one in each tenth). The position at each kill is printed.
#
# Environment: AJ_BIN, AJ_MOCKBROKER, AJ_OUTDUMP (the binaries; required);
#   AJ_CRASH_SEED       seed of the kill and stop points (default 1; printed)
#   AJ_CRASH_RECORDS    usage records (default 200000; at least 200000 unless AJ_CRASH_SANITIZED=1)
#   AJ_CRASH_KILLS      kills of scenario b (default 10, at least 10)
#   AJ_CRASH_SCENARIOS  which of b, c, d run after a (default "b c d")
#   AJ_CRASH_KEEP=1     keep the work directory (logs, configurations, dumps) and print its path
set -euo pipefail

: "${AJ_BIN:?AJ_BIN must point at the ajuste binary}"
: "${AJ_MOCKBROKER:?AJ_MOCKBROKER must point at the aj_mockbroker binary}"
: "${AJ_OUTDUMP:?AJ_OUTDUMP must point at the aj_outdump binary}"

seed=${AJ_CRASH_SEED:-1}
records=${AJ_CRASH_RECORDS:-200000}
kills=${AJ_CRASH_KILLS:-10}
scenarios=${AJ_CRASH_SCENARIOS:-b c d}
accounts=400
run_timeout=300         # seconds, any one `ajuste run`
assign_timeout_ms=90000 # a run must be assigned its partitions within this
progress_timeout_ms=120000 # and reach a kill or stop point within this
stop_timeout_ms=60000   # a run told to stop (SIGTERM) must have exited within this
export MB_TIMEOUT=1800  # the broker outlives every scenario

work=$(mktemp -d)
# shellcheck source=mb_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/mb_lib.sh"

run_tpids=()   # every `timeout` started for an `ajuste run`, and the ajuste under it
run_pids=()
cleanup() {
  local p
  for p in "${run_pids[@]}" "${run_tpids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${run_tpids[@]}"; do { wait "$p"; } 2>/dev/null || true; done
  kill_broker
  if [ "${AJ_CRASH_KEEP:-0}" = 1 ]; then
    echo "test_crash: work directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case "$seed" in '' | *[!0-9]*) fail "AJ_CRASH_SEED must be a non-negative integer, got '$seed'" ;; esac
case "$records" in '' | *[!0-9]*) fail "AJ_CRASH_RECORDS must be a number, got '$records'" ;; esac
case "$kills" in '' | *[!0-9]*) fail "AJ_CRASH_KILLS must be a number, got '$kills'" ;; esac
[ "$records" -ge 200000 ] || [ "${AJ_CRASH_SANITIZED:-0}" = 1 ] ||
  fail "AJ_CRASH_RECORDS=$records: at least 200000 (fewer only for sanitizer builds, AJ_CRASH_SANITIZED=1)"
[ "$kills" -ge 10 ] || fail "AJ_CRASH_KILLS=$kills: at least 10"
for s in $scenarios; do
  case "$s" in b | c | d) ;; *) fail "AJ_CRASH_SCENARIOS: unknown scenario '$s' (b, c or d)" ;; esac
done

# ------------------------------------------------------------------ helpers

# tick: sets now to the wall clock in milliseconds (no subshell).
tick() {
  now=${EPOCHREALTIME//[!0-9]/}
  now=$((now / 1000))
}

# draw LO HI: sets r to a number in [LO, HI] from the seeded sequence (no subshell, which
# would reseed RANDOM and lose the sequence).
RANDOM=$seed
draw() {
  r=$(($1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1)))
}

# sleep_ms MS
sleep_ms() {
  local s
  printf -v s '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
  sleep "$s"
}

# sleep_while_alive MS TPID: sleeps MS milliseconds, or less when the process ends first.
sleep_while_alive() {
  local deadline
  tick
  deadline=$((now + $1))
  while kill -0 "$2" 2>/dev/null; do
    tick
    [ "$now" -lt "$deadline" ] || return 0
    if [ $((deadline - now)) -lt 50 ]; then sleep_ms $((deadline - now)); else sleep 0.05; fi
  done
}

# target LO HI: draws a position in the input between LO and HI permille of its records; sets
# pm (the share drawn), target (records) and extra (a further delay, 0-300 ms).
target() {
  draw "$1" "$2"
  pm=$r
  target=$((records_total * pm / 1000))
  draw 0 300
  extra=$r
}

# position NAME: sets committed and end, the records scenario NAME's group has committed on the
# usage topic and the records on it; returns 1 (both empty) when they cannot be read.
position() {
  local out
  committed=""
  end=""
  out=$(timeout 60 "$AJ_OUTDUMP" --bootstrap-servers "$boot" --position "crash-$1=cdr.usage" 2>/dev/null {mb_in}>&- {mb_out}<&-) ||
    return 1
  committed=${out% *}
  end=${out#* }
}

# signal_at NAME TPID PID SIGNAL: once scenario NAME's group has committed $target records
# (polled), waits $extra ms more, then sends SIGNAL to PID. Returns 0 when it was sent, 1 when the
# run ended first, 2 when the group did not get there in progress_timeout_ms (the run is left
# running).
signal_at() {
  local deadline
  tick
  deadline=$((now + progress_timeout_ms))
  while kill -0 "$2" 2>/dev/null; do
    if position "$1" && [ "$committed" -ge "$target" ]; then
      sleep_while_alive "$extra" "$2"
      kill -s "$4" "$3" 2>/dev/null && return 0
      return 1
    fi
    tick
    [ "$now" -lt "$deadline" ] || return 2
    sleep 0.05
  done
  return 1
}

failures=()
# scenario_fail SCENARIO MESSAGE: records and prints a failure; the other checks and scenarios go on.
scenario_fail() {
  failures+=("$1: $2")
  echo "FAIL: $1: $2" >&2
}

# write_conf NAME [KEY=VALUE]...: NAME.conf, the configuration of scenario NAME (its consumer
# group and output topics) with the given keys added.
write_conf() {
  local name=$1 kv
  shift
  {
    echo "kafka.bootstrap.servers = $boot"
    echo "run.exit_at_end = true"
    echo "kafka.fetch.wait.max.ms = 10"
    echo "commit.interval.records = 5000"
    echo "commit.interval.ms = 200"
    # Checkpoints less often than commits, as by default: a restart resumes behind the
    # committed offsets, at its last checkpoint.
    echo "checkpoint.interval.records = 15000"
    echo "checkpoint.interval.ms = 500"
    echo "input.credit_topic ="   # credits from their own topic are not replay-deterministic
    echo "materiality.percent = 20"   # some invoices are held: the review output is compared too
    echo "kafka.group.id = crash-$name"
    echo "output.invoice_topic = crash.$name.invoices"
    echo "output.review_topic = crash.$name.review"
    echo "output.correction_topic = crash.$name.corrections"
    echo "output.dead_letter_topic = crash.$name.dead-letter"
    for kv in "$@"; do echo "${kv%%=*} = ${kv#*=}"; done
  } >"$work/$name.conf"
}

# Failover settings of the fault scenarios. The mock's group coordinator waits for a member
# killed -9 until its session times out (a restart costs about 3 x session.timeout.ms - 2 s), and
# it expires a member whose first JoinGroup waits out its fixed 3 s initial delay when the session
# is shorter than that (the join then hangs for the 300 s request timeout): 4000 is the floor.
fault_keys=("kafka.session.timeout.ms=4000" "kafka.heartbeat.interval.ms=1000")

# start_run NAME LOG: `ajuste run --config NAME.conf` in the background, under timeout, with
# stdout and stderr to LOG; sets tpid (timeout's pid) and pid (ajuste's, "" if it is gone).
start_run() {
  local i kids=""
  timeout -k 10 "$run_timeout" "$AJ_BIN" run --config "$work/$1.conf" >"$2" 2>&1 {mb_in}>&- {mb_out}<&- &
  tpid=$!
  run_tpids+=("$tpid")
  pid=""
  for ((i = 0; i < 500; i++)); do
    kids=$(cat "/proc/$tpid/task/$tpid/children" 2>/dev/null || true)
    [ -n "$kids" ] || kids=$(pgrep -P "$tpid" || true)
    if [ -n "$kids" ]; then
      pid=${kids%% *}
      pid=${pid%%$'\n'*}
      run_pids+=("$pid")
      return 0
    fi
    kill -0 "$tpid" 2>/dev/null || return 0
    sleep 0.01
  done
}

# wait_log LOG TPID PATTERN TIMEOUT_MS: waits until LOG has a line with PATTERN. Returns 0, 1
# when the process ended first, 2 on timeout. Sets now.
wait_log() {
  local deadline
  tick
  deadline=$((now + $4))
  while ! grep -q -- "$3" "$1"; do
    kill -0 "$2" 2>/dev/null || { grep -q -- "$3" "$1" && break; return 1; }
    tick
    [ "$now" -lt "$deadline" ] || return 2
    sleep 0.02
  done
  tick
}

# wait_assigned SCENARIO LOG TPID: waits for the run's first partition assignment; on failure
# records why and returns 1.
wait_assigned() {
  local rc=0
  wait_log "$2" "$3" "partitions assigned" "$assign_timeout_ms" || rc=$?
  [ "$rc" -eq 0 ] && return 0
  if [ "$rc" -eq 1 ]; then
    finish "$3"
    scenario_fail "$1" "$(basename "$2" .log) exited $st before it was assigned partitions: $(tail -5 "$2")"
  else
    scenario_fail "$1" "$(basename "$2" .log) was not assigned partitions in $((assign_timeout_ms / 1000)) s: $(tail -5 "$2")"
  fi
  return 1
}

# finish TPID: waits for a run; sets st to its exit status (without bash's "Killed" notice).
finish() {
  st=0
  { wait "$1"; } 2>/dev/null || st=$?
}

# summary_value LOG LABEL: the first number after LABEL in a run's summary.
summary_value() {
  sed -n "s/^$2: *\([0-9][0-9]*\).*/\1/p" "$1" | head -1
}

# run_to_end SCENARIO NAME: one run of SCENARIO's configuration to its end, log NAME.log; it
# must exit 0.
run_to_end() {
  start_run "$1" "$work/$2.log"
  finish "$tpid"
  if [ "$st" -eq 0 ]; then
    echo "   $1: the run to the end read $(summary_value "$work/$2.log" "Records in") of the $records_total records"
  else
    scenario_fail "$1" "$2 exited $st, want 0 (timeout: 124): $(tail -5 "$work/$2.log")"
  fi
}

# dump NAME: aj_outdump of NAME's output topics to NAME.txt, summary NAME.sum; sets dump_rc.
dump() {
  dump_rc=0
  timeout 300 "$AJ_OUTDUMP" --bootstrap-servers "$boot" --topic "invoice=crash.$1.invoices" \
    --topic "review=crash.$1.review" --topic "correction=crash.$1.corrections" \
    --topic "dead-letter=crash.$1.dead-letter" --out "$work/$1.txt" --summary "$work/$1.sum" \
    2>"$work/$1.dump.err" {mb_in}>&- {mb_out}<&- || dump_rc=$?
}

# count NAME KIND FIELD: FIELD (raw, distinct, duplicates, conflicts, evicted) of KIND in NAME.sum.
count() {
  awk -v k="$2" -v f="$3" '$1 == k { for (i = 2; i <= NF; i++) if (index($i, f "=") == 1) print substr($i, length(f) + 2) }' \
    "$work/$1.sum"
}

kinds="correction dead-letter invoice review"

# check_dump NAME: NAME's dump was made (exit 0, or 3 for conflicts, which are listed) and lost
# nothing to the broker's eviction.
check_dump() {
  local k e
  case "$dump_rc" in
    0) ;;
    3) scenario_fail "$1" "the same id was written with different bytes ($(grep -c '^conflict ' "$work/$1.sum") conflicting messages), e.g.: $(grep -m 3 '^conflict ' "$work/$1.sum" | tr '\n' ';')" ;;
    *) scenario_fail "$1" "aj_outdump exited $dump_rc: $(tail -3 "$work/$1.dump.err")"; return 1 ;;
  esac
  for k in $kinds; do
    e=$(count "$1" "$k" evicted)
    [ "${e:-0}" -eq 0 ] || scenario_fail "$1" "$e $k messages were evicted by the mock broker: the comparison is incomplete (fewer records?)"
  done
}

# compare NAME: NAME's dump against the reference, byte for byte; on a difference, records which
# ids are missing, extra or hold other bytes, per kind, with examples, and the first changed
# invoice as `ajuste invoice show` prints it in both runs.
compare() {
  local name=$1 d="$work/$1.txt" k n what first
  if cmp -s "$work/a.txt" "$d"; then
    echo "   $name: the dump equals the no-fault run's ($(wc -l <"$d") ids)"
    return 0
  fi
  cut -d' ' -f1,2 "$work/a.txt" >"$work/a.ids"
  cut -d' ' -f1,2 "$d" >"$work/$name.ids"
  LC_ALL=C comm -23 "$work/a.ids" "$work/$name.ids" >"$work/$name.missing"
  LC_ALL=C comm -13 "$work/a.ids" "$work/$name.ids" >"$work/$name.extra"
  LC_ALL=C comm -23 "$work/a.txt" "$d" | cut -d' ' -f1,2 | LC_ALL=C comm -12 - "$work/$name.ids" >"$work/$name.changed"
  for what in missing extra changed; do
    n=$(wc -l <"$work/$name.$what")
    [ "$n" -gt 0 ] || continue
    local by=""
    for k in $kinds; do
      local c
      c=$(grep -c "^$k " "$work/$name.$what" || true)
      [ "$c" -eq 0 ] || by="$by${by:+, }$k $c"
    done
    case $what in
      missing) scenario_fail "$name" "$n ids of the no-fault run are missing ($by), first: $(head -3 "$work/$name.missing" | tr '\n' ';')" ;;
      extra) scenario_fail "$name" "$n ids the no-fault run does not have ($by), first: $(head -3 "$work/$name.extra" | tr '\n' ';')" ;;
      changed) scenario_fail "$name" "$n ids hold other bytes than in the no-fault run ($by), first: $(head -3 "$work/$name.changed" | tr '\n' ';')" ;;
    esac
  done
  n=$(LC_ALL=C cmp "$work/a.txt" "$d" 2>&1 | sed -n 's/.* line \([0-9]*\).*/\1/p' || true)
  if [ -n "$n" ]; then
    echo "   $name: first differing line, $n: no-fault run '$(sed -n "${n}p" "$work/a.txt" | cut -d' ' -f1,2)'," \
      "$name '$(sed -n "${n}p" "$d" | cut -d' ' -f1,2)'" >&2
  fi
  first=$(grep -m 1 '^invoice ' "$work/$name.changed" | cut -d' ' -f2 || true)
  if [ -n "$first" ]; then
    echo "   $name: invoice $first, no-fault run (<) and $name (>), first lines that differ:" >&2
    diff <(timeout 60 "$AJ_BIN" invoice show --topic "crash.a.invoices" --bootstrap-servers "$boot" --id "$first" 2>&1 {mb_in}>&- {mb_out}<&-) \
      <(timeout 60 "$AJ_BIN" invoice show --topic "crash.$name.invoices" --bootstrap-servers "$boot" --id "$first" 2>&1 {mb_in}>&- {mb_out}<&-) |
      head -24 | sed 's/^/     /' >&2 || true
  fi
  return 1
}

# report NAME: the counts of NAME's dump, one line.
report() {
  local k line=""
  for k in $kinds; do
    line="$line${line:+; }$k $(count "$1" "$k" distinct) ids, $(count "$1" "$k" raw) messages, $(count "$1" "$k" duplicates) duplicates"
  done
  echo "   $1: $line"
}

times=()
# timed SCENARIO FUNCTION: runs a scenario and records how long it took.
timed() {
  local t0
  tick
  t0=$now
  "$2"
  tick
  times+=("$1 $(((now - t0) / 1000)).$(((now - t0) % 1000 / 100)) s")
}

# ------------------------------------------------------------------ the broker and the inputs

echo "test_crash: seed $seed (AJ_CRASH_SEED), $records records, $accounts accounts, $kills kills"
tick
t_start=$now
# shellcheck disable=SC2119  # no flags: the topics are created below
start_broker
# The mock keeps about 5 MiB per partition: 8 partitions up to 200k records (about 2.5 MiB of
# usage each), one more per 25k records beyond (the 1M variant: 40).
parts=$(((records + 24999) / 25000))
[ "$parts" -ge 8 ] || parts=8
for t in cdr.usage:$parts contract.events:1 ajuste.checkpoints:$parts; do
  expect_ok "topic ${t%:*} ${t#*:}"
done
for s in a $scenarios; do
  for o in invoices review corrections dead-letter; do expect_ok "topic crash.$s.$o $parts"; done
done

echo "-- publish the inputs: ajuste gen --records $records --accounts $accounts"
timeout 300 "$AJ_BIN" gen --bootstrap-servers "$boot" --out "$work/gen" --accounts "$accounts" \
  --records "$records" --seed 42 >"$work/gen.out" 2>&1 {mb_in}>&- {mb_out}<&- ||
  fail "ajuste gen failed: $(cat "$work/gen.out")"
gen_total() {   # the number before $1 in gen's totals line
  sed -n "s/.*[^0-9]\([0-9][0-9]*\) $1.*/\1/p; s/^\([0-9][0-9]*\) $1.*/\1/p" "$work/gen.out" | head -1
}
records_total=$(($(gen_total "usage records") + $(gen_total "recurring charges") + $(gen_total "one-time charges") + $(gen_total "cycle closes")))
truth=$(($(wc -l <"$work/gen/ground_truth.csv") - 1))
echo "   $records_total input records, $truth injected errors"

# ------------------------------------------------------------------ a: no fault

scenario_a() {
  local log="$work/a.log" t_assigned k
  echo "-- a: no fault, one run to its end (the reference)"
  write_conf a
  start_run a "$log"
  wait_assigned a "$log" "$tpid" || fail "a: the reference run did not start: $(tail -5 "$log")"
  t_assigned=$now
  finish "$tpid"
  tick
  [ "$st" -eq 0 ] || fail "a: the reference run exited $st: $(tail -5 "$log")"
  proc_ms=$((now - t_assigned))
  local in dead corr inv held
  in=$(summary_value "$log" "Records in")
  dead=$(summary_value "$log" "Dead letters")
  corr=$(summary_value "$log" "Corrections")
  inv=$(summary_value "$log" "Invoices emitted")
  held=$(sed -n 's/^Invoices emitted: *[0-9]* (\([0-9]*\) held.*/\1/p' "$log")
  if [ -z "$in" ] || [ -z "$dead" ] || [ -z "$corr" ] || [ -z "$inv" ] || [ -z "$held" ]; then
    fail "a: no summary in the reference run's output: $(tail -5 "$log")"
  fi
  echo "   a: $in records in $proc_ms ms from assignment to the end: $corr corrections, $dead dead letters, $inv invoices ($held held)"
  [ "$in" -eq "$records_total" ] ||
    fail "a: the run read $in records, gen published $records_total (evicted by the mock broker? fewer --records)"
  [ $((corr + dead)) -eq "$truth" ] ||
    fail "a: $corr corrections + $dead dead letters, the ground truth lists $truth errors"
  dump a
  [ "$dump_rc" -eq 0 ] || fail "a: aj_outdump exited $dump_rc: $(tail -5 "$work/a.dump.err")"
  for k in $kinds; do
    [ "$(count a "$k" evicted)" -eq 0 ] || fail "a: $(count a "$k" evicted) $k messages evicted by the mock broker (fewer --records)"
    [ "$(count a "$k" duplicates)" -eq 0 ] || fail "a: $(count a "$k" duplicates) $k messages written twice in a run without faults"
  done
  [ "$(count a correction raw)" -eq "$corr" ] || fail "a: $(count a correction raw) corrections on the topic, the run says $corr"
  [ "$(count a dead-letter raw)" -eq "$dead" ] || fail "a: $(count a dead-letter raw) dead letters on the topic, the run says $dead"
  [ "$(count a review raw)" -eq "$held" ] || fail "a: $(count a review raw) invoices on the review topic, the run says $held held"
  [ $(($(count a invoice raw) + held)) -eq "$inv" ] ||
    fail "a: $(count a invoice raw) invoices on the invoice topic + $held held, the run says $inv"
  [ "$held" -gt 0 ] || fail "a: no invoice was held: the review output would not be compared (materiality.percent)"
  report a
}

timed a scenario_a

# ------------------------------------------------------------------ b: kill -9

scenario_b() {
  local k log lo hi rc
  echo "-- b: kill -9 at $kills positions (seed $seed), restart each time, then a run to the end"
  write_conf b "${fault_keys[@]}"
  for ((k = 1; k <= kills; k++)); do
    log="$work/b.run$k.log"
    # One kill in each of $kills equal slices of 2%..95% of the input.
    lo=$((20 + (k - 1) * 930 / kills))
    hi=$((20 + k * 930 / kills - 1))
    target "$lo" "$hi"
    start_run b "$log"
    wait_assigned b "$log" "$tpid" || return 0
    rc=0
    signal_at b "$tpid" "$pid" KILL || rc=$?
    if [ "$rc" -eq 2 ]; then
      scenario_fail b "run $k: the group did not commit $target records in $((progress_timeout_ms / 1000)) s (at $committed)"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    finish "$tpid"
    position b || true
    case "$st" in
      137) echo "   b: kill $k/$kills: at $committed of $end records committed (target $target, $pm permille, then $extra ms)" ;;
      0) echo "   b: kill $k/$kills: the run ended (exit 0) before its kill point (target $target, $pm permille)" ;;
      *) scenario_fail b "run $k exited $st before its kill point: $(tail -5 "$log")" ;;
    esac
  done
  run_to_end b b.final
  dump b
  check_dump b || return 0
  compare b || true
  report b
  echo "   b: $(count b invoice distinct) invoices (+ $(count b review distinct) held), duplicates: corrections $(count b correction duplicates), dead letters $(count b dead-letter duplicates), invoices $(count b invoice duplicates), held $(count b review duplicates)"
}

# ------------------------------------------------------------------ c: SIGTERM

scenario_c() {
  local k log kind a_raw c_raw rc waited
  echo "-- c: SIGTERM twice mid-run (each run exits 0), then a run to the end"
  write_conf c "${fault_keys[@]}"
  for k in 1 2; do
    log="$work/c.run$k.log"
    if [ "$k" -eq 1 ]; then target 150 400; else target 500 850; fi
    start_run c "$log"
    wait_assigned c "$log" "$tpid" || return 0
    rc=0
    signal_at c "$tpid" "$pid" TERM || rc=$?
    if [ "$rc" -eq 2 ]; then
      scenario_fail c "run $k: the group did not commit $target records in $((progress_timeout_ms / 1000)) s (at $committed)"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    if [ "$rc" -eq 0 ]; then
      waited=0
      while kill -0 "$tpid" 2>/dev/null && [ "$waited" -lt "$stop_timeout_ms" ]; do
        sleep 0.05
        waited=$((waited + 50))
      done
      if kill -0 "$tpid" 2>/dev/null; then
        scenario_fail c "run $k still running $((stop_timeout_ms / 1000)) s after SIGTERM: $(tail -3 "$log")"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      finish "$tpid"
      position c || true
      echo "   c: SIGTERM $k: once $target records were committed ($pm permille), then $extra ms; exit $st, $committed of $end committed after the stop"
      [ "$st" -eq 0 ] || scenario_fail c "run $k exited $st after SIGTERM, want 0: $(tail -5 "$log")"
    else
      finish "$tpid"
      echo "   c: SIGTERM $k: the run ended (exit $st) before its stop point (target $target, $pm permille)"
      [ "$st" -eq 0 ] || scenario_fail c "run $k exited $st before its stop point: $(tail -5 "$log")"
    fi
  done
  run_to_end c c.final
  dump c
  check_dump c || return 0
  compare c || true
  report c
  for kind in $kinds; do
    a_raw=$(count a "$kind" raw)
    c_raw=$(count c "$kind" raw)
    [ "$c_raw" -eq "$a_raw" ] ||
      scenario_fail c "$c_raw $kind messages, the no-fault run wrote $a_raw: a clean stop must not make the restart write anything twice (or lose it)"
  done
}

# ------------------------------------------------------------------ d: two instances, one killed

scenario_d() {
  local a_tpid a_pid b_tpid rc
  echo "-- d: A runs, B joins its group, A is killed -9, B ends, one run sweeps the rest"
  write_conf d "${fault_keys[@]}"
  start_run d "$work/d.A.log"
  a_tpid=$tpid
  a_pid=$pid
  wait_assigned d "$work/d.A.log" "$a_tpid" || return 0
  target 100 300
  rc=0
  signal_at d "$a_tpid" "$a_pid" 0 || rc=$?   # signal 0: only wait for the position
  [ "$rc" -ne 2 ] || scenario_fail d "A: the group did not commit $target records in $((progress_timeout_ms / 1000)) s (at $committed)"
  position d || true
  echo "   d: B starts at $committed of $end records committed (target $target, $pm permille, then $extra ms)"
  start_run d "$work/d.B.log"
  b_tpid=$tpid
  if ! wait_assigned d "$work/d.B.log" "$b_tpid"; then
    kill -KILL "$a_pid" 2>/dev/null || true
    finish "$a_tpid"
    return 0
  fi
  target 400 700
  rc=0
  signal_at d "$a_tpid" "$a_pid" KILL || rc=$?
  if [ "$rc" -eq 2 ]; then
    scenario_fail d "the group did not commit $target records in $((progress_timeout_ms / 1000)) s (at $committed)"
    kill -KILL "$a_pid" 2>/dev/null || true
  fi
  finish "$a_tpid"
  position d || true
  case "$st" in
    137) echo "   d: A killed at $committed of $end records committed (target $target, $pm permille, then $extra ms)" ;;
    0) echo "   d: A ended (exit 0) before its kill point (target $target, $pm permille)" ;;
    *) scenario_fail d "A exited $st before its kill point: $(tail -5 "$work/d.A.log")" ;;
  esac
  finish "$b_tpid"
  echo "   d: B exit $st; its assignments: $(grep -c 'partitions assigned' "$work/d.B.log"), A's: $(grep -c 'partitions assigned' "$work/d.A.log")"
  [ "$st" -eq 0 ] || scenario_fail d "B exited $st, want 0: $(tail -5 "$work/d.B.log")"
  run_to_end d d.final
  dump d
  check_dump d || return 0
  compare d || true
  report d
}

for s in $scenarios; do
  timed "$s" "scenario_$s"
done

# ------------------------------------------------------------------ verdict

tick
echo "test_crash: seed $seed, $records records; times: ${times[*]/%/,} total $(((now - t_start) / 1000)) s"
if [ "${#failures[@]}" -gt 0 ]; then
  echo "test_crash: ${#failures[@]} failures:" >&2
  printf '  FAIL: %s\n' "${failures[@]}" >&2
  exit 1
fi
echo "test_crash: all passed"
