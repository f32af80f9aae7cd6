# run_lib.sh - a pipeline run on the mock broker for the audit log's tests: the topics, `ajuste
# gen` producing to them, `ajuste run` to the end. Sourced (not run) after mb_lib.sh, with a broker
# started (boot, mb_in, mb_out); needs AJ_BIN and $work. Defines fail unless the script already did.
# shellcheck shell=bash disable=SC2154  # work, boot, mb_in and mb_out are the sourcing script's

if ! declare -F fail >/dev/null; then
  fail() {
    echo "FAIL: $*" >&2
    exit 1
  }
fi

# run_pipeline PREFIX SEED RECORDS [CONF_LINE...]: creates the input topics and PREFIX.invoices,
# PREFIX.review, PREFIX.corrections and PREFIX.dead-letter (4 partitions each), produces `ajuste
# gen --accounts 200 --records RECORDS --seed SEED` to them (its ground truth in $work/gen), and
# runs `ajuste run` (group PREFIX-test, $work/run.conf, with each CONF_LINE added, e.g.
# "materiality.percent = 20") until its input ends. Fails naming the step and its output.
run_pipeline() {
  local prefix=$1 seed=$2 records=$3 t
  shift 3
  for t in cdr.usage:4 contract.events:1 ajuste.checkpoints:4 "$prefix.invoices:4" "$prefix.review:4" \
    "$prefix.corrections:4" "$prefix.dead-letter:4"; do
    expect_ok "topic ${t%:*} ${t#*:}"
  done
  timeout 300 "$AJ_BIN" gen --bootstrap-servers "$boot" --out "$work/gen" --accounts 200 --records "$records" \
    --seed "$seed" >"$work/gen.out" 2>&1 {mb_in}>&- {mb_out}<&- || fail "ajuste gen failed: $(cat "$work/gen.out")"
  cat >"$work/run.conf" <<CONF
kafka.bootstrap.servers = $boot
run.exit_at_end = true
kafka.fetch.wait.max.ms = 10
input.credit_topic =
kafka.group.id = $prefix-test
output.invoice_topic = $prefix.invoices
output.review_topic = $prefix.review
output.correction_topic = $prefix.corrections
output.dead_letter_topic = $prefix.dead-letter
CONF
  if [ $# -gt 0 ]; then printf '%s\n' "$@" >>"$work/run.conf"; fi
  timeout 300 "$AJ_BIN" run --config "$work/run.conf" >"$work/run.out" 2>&1 {mb_in}>&- {mb_out}<&- ||
    fail "ajuste run failed: $(tail -5 "$work/run.out")"
}
