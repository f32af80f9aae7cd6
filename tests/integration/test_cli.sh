#!/usr/bin/env bash
# test_cli.sh - the commands as a user runs them: help, exit codes, errors that name the bad
# input, byte-identical offline runs, and the demo's JSON summary.
set -euo pipefail

: "${AJ_BIN:?AJ_BIN must point at the ajuste binary}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect CODE PATTERN CMD...: runs CMD, checks its exit code and that stdout+stderr match PATTERN.
expect() {
  local want=$1 pattern=$2 out rc
  shift 2
  set +e
  out=$("$@" 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, want $want; output: $out"
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" <<<"$out"; then
    fail "'$*' output does not match /$pattern/: $out"
  fi
}

echo "-- help and usage errors"
expect 0 "Usage: ajuste <command>" "$AJ_BIN" --help
expect 2 "Usage: ajuste <command>" "$AJ_BIN"
expect 2 "unknown command 'frobnicate'" "$AJ_BIN" frobnicate
for cmd in demo run rate replay gen invoice audit; do
  expect 0 "Usage: ajuste $cmd" "$AJ_BIN" "$cmd" --help
  expect 2 "" "$AJ_BIN" "$cmd" --no-such-flag
done
for sub in migrate sink verify; do
  expect 0 "Usage: ajuste audit $sub" "$AJ_BIN" audit "$sub" --help
  expect 2 "Usage: ajuste audit $sub" "$AJ_BIN" audit "$sub" --no-such-flag
done
expect 2 "no Kafka brokers: pass --bootstrap-servers" "$AJ_BIN" audit sink --db "dbname=x"
expect 2 "--batch-rows 0 is out of range \\(1 to 100000\\)" "$AJ_BIN" audit sink --bootstrap-servers x --batch-rows 0
expect 2 "--batch-ms expects a non-negative integer, got 'soon'" "$AJ_BIN" audit sink --bootstrap-servers x --batch-ms soon
expect 2 "ajuste audit sink: --db: " "$AJ_BIN" audit sink --bootstrap-servers x --db "nonsense"
expect 2 "ajuste audit verify: --db: " "$AJ_BIN" audit verify --db "nonsense"
expect 2 "unexpected argument 'extra'" "$AJ_BIN" audit verify extra
expect 2 "--out DIR is required" "$AJ_BIN" gen
expect 0 "--from-offset X .*first offset read" "$AJ_BIN" replay --help
expect 2 "--partitions expects a list such as 3-5 or 0,2,7" "$AJ_BIN" replay --partitions 5-3
expect 2 "--from-time expects epoch milliseconds or YYYY-MM-DDTHH:MM:SS" "$AJ_BIN" replay --from-time yesterday
expect 2 "--to-offset expects a non-negative integer, got '-1'" "$AJ_BIN" replay --to-offset -1
expect 2 "--json and --csv: choose one report format" "$AJ_BIN" replay --json --csv
expect 2 "one --from-offset or --from-time" "$AJ_BIN" replay --from-offset 1 --from-time 1795477657469
expect 2 "--usage reads a whole file" "$AJ_BIN" replay --usage u.avro --partitions 1
expect 2 "--usage needs --baseline PATH" "$AJ_BIN" replay --usage u.avro --contracts c.avro
expect 2 "kafka.bootstrap.servers is not set" "$AJ_BIN" replay
expect 2 "refusing to write replay outputs into production topic 'i' \\(output.invoice_topic\\)" \
  "$AJ_BIN" replay --set kafka.bootstrap.servers=x --set output.invoice_topic=i --out-topic-prefix ""
expect 2 "--records expects a non-negative integer, got 'many'" "$AJ_BIN" gen --out "$work/x" --records many
expect 2 "--error-rate expects" "$AJ_BIN" gen --out "$work/x" --error-rate 2

echo "-- configuration errors name the key"
cat >"$work/bad.conf" <<'EOF'
kafka.bootstrap.servers = localhost:1
commit.interval.ms = 1000
no.such.key = 1
EOF
expect 2 "bad.conf:3: unknown configuration key 'no.such.key'" "$AJ_BIN" run --config "$work/bad.conf"
expect 2 "'commit.interval.ms': 'soon' is not a non-negative integer" \
  "$AJ_BIN" run --set kafka.bootstrap.servers=x --set commit.interval.ms=soon
expect 2 "unknown configuration variable 'AJUSTE_NO_SUCH'" env AJUSTE_NO_SUCH=1 "$AJ_BIN" run --set kafka.bootstrap.servers=x
expect 2 "kafka.bootstrap.servers is not set" "$AJ_BIN" run
expect 2 "cannot read configuration file '$work/missing.conf'" "$AJ_BIN" run --config "$work/missing.conf"
expect 0 '\| `commit.interval.ms` \|' "$AJ_BIN" run --print-config-reference
if [ -n "${AJ_SOURCE_DIR:-}" ]; then
  # The README's reference is the table's own output, not a copy that drifts.
  "$AJ_BIN" run --print-config-reference >"$work/ref.md"
  grep -Fxf "$work/ref.md" "$AJ_SOURCE_DIR/README.md" >"$work/ref.readme" || true
  cmp -s "$work/ref.md" "$work/ref.readme" ||
    fail "README.md's configuration reference differs from 'ajuste run --print-config-reference'"
fi

if [ -n "${AJ_SOURCE_DIR:-}" ]; then
  echo "-- docker/ files are well-formed (no Docker engine here to run them)"
  if /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
    /usr/bin/python3 -c 'import sys, yaml; c = yaml.safe_load(open(sys.argv[1])); assert {"kafka", "topics", "postgres", "ajuste"} <= set(c["services"])' \
      "$AJ_SOURCE_DIR/docker/compose.yaml" || fail "docker/compose.yaml"
  fi
  grep -q '^FROM debian:12 AS build' "$AJ_SOURCE_DIR/docker/Dockerfile" || fail "docker/Dockerfile: no build stage"
  grep -q '^ENTRYPOINT \["/usr/local/bin/ajuste"\]' "$AJ_SOURCE_DIR/docker/Dockerfile" || fail "docker/Dockerfile: no entrypoint"
  expect 0 "kafka.bootstrap.servers = kafka:9092" "$AJ_BIN" run --config "$AJ_SOURCE_DIR/docker/ajuste.conf" --check
  expect 0 "kafka.bootstrap.servers = localhost:9092" "$AJ_BIN" run --config "$AJ_SOURCE_DIR/docs/ajuste.conf.example" --check
fi

echo "-- gen is deterministic"
expect 0 "Wrote" "$AJ_BIN" gen --out "$work/a" --accounts 120 --records 12000 --seed 9
expect 0 "Wrote" "$AJ_BIN" gen --out "$work/b" --accounts 120 --records 12000 --seed 9
for f in contracts.avro usage.avro ground_truth.csv; do
  cmp "$work/a/$f" "$work/b/$f" || fail "gen: $f differs between two runs with the same seed"
done
expect 0 "Wrote" "$AJ_BIN" gen --out "$work/c" --accounts 120 --records 12000 --seed 10
cmp -s "$work/a/usage.avro" "$work/c/usage.avro" && fail "gen: another seed gave the same usage.avro"

echo "-- rate is byte-identical across runs and accounts for every record"
expect 0 "Invoices emitted: +120" "$AJ_BIN" rate --in "$work/a" --out "$work/out1"
expect 0 "" "$AJ_BIN" rate --in "$work/a" --out "$work/out2" --quiet
for f in invoices.avro corrections.avro dead_letters.avro; do
  [ -s "$work/out1/$f" ] || fail "rate: $f missing or empty"
  cmp "$work/out1/$f" "$work/out2/$f" || fail "rate: $f differs between two runs"
done
ls "$work/out1" | grep -q partial && fail "rate: a .partial file was left behind"
truth=$(($(wc -l <"$work/a/ground_truth.csv") - 1))
summary=$("$AJ_BIN" rate --in "$work/a" --out "$work/out3")
corr=$(sed -n 's/^Corrections: *\([0-9]*\).*/\1/p' <<<"$summary")
dead=$(sed -n 's/^Dead letters: *\([0-9]*\).*/\1/p' <<<"$summary")
[ "$((corr + dead))" -eq "$truth" ] ||
  fail "rate: $corr corrections + $dead dead letters, but the ground truth lists $truth errors"

echo "-- release: held invoices from review.avro to invoices.avro, each once"
expect 0 "Usage: ajuste release" "$AJ_BIN" release --help
expect 2 "say where" "$AJ_BIN" release --list
expect 2 "needs a decision" "$AJ_BIN" release --dir "$work/out1" --id X --reviewer ana
expect 2 "needs --reviewer" "$AJ_BIN" release --dir "$work/out1" --id X --as-is
expect 0 "\(7 held for review\)" "$AJ_BIN" rate --in "$work/a" --out "$work/rv" --set materiality.percent=20
expect 0 "7 held, 7 waiting for a decision" "$AJ_BIN" release --dir "$work/rv" --list
first=$("$AJ_BIN" release --dir "$work/rv" --list | awk '/^INV-.* waiting /{print $1; exit}')
second=$("$AJ_BIN" release --dir "$work/rv" --list | awk '/^INV-.* waiting /{n++; if (n == 2) {print $1; exit}}')
before=$("$AJ_BIN" invoice show --file "$work/rv/invoices.avro" --all | grep -c '^INVOICE ')
expect 0 "released as it is: $first written" "$AJ_BIN" release --dir "$work/rv" --id "$first" --as-is --reviewer ana
expect 0 "released with its corrections flagged: ${second%-r1}-r2 written" \
  "$AJ_BIN" release --dir "$work/rv" --id "$second" --flag --reviewer ana --note "notice pending"
expect 1 "was already released: $first is on" "$AJ_BIN" release --dir "$work/rv" --id "$first" --flag --reviewer bob
expect 1 "was already released: ${second%-r1}-r2 is on" \
  "$AJ_BIN" release --dir "$work/rv" --id "$second" --as-is --reviewer bob
expect 1 "no invoice 'INV-NOPE-r1' on the review output" "$AJ_BIN" release --dir "$work/rv" --id INV-NOPE-r1 --as-is --reviewer bob
after=$("$AJ_BIN" invoice show --file "$work/rv/invoices.avro" --all | grep -c '^INVOICE ')
[ "$after" -eq $((before + 2)) ] || fail "release: invoices.avro went from $before to $after invoices, want +2"
expect 0 "Status +RELEASED" "$AJ_BIN" invoice show --file "$work/rv/invoices.avro" --id "${second%-r1}-r2"
expect 0 "7 held, 5 waiting for a decision" "$AJ_BIN" release --dir "$work/rv" --list
ls -a "$work/rv" | grep -q '\.release$' && fail "release: a .release file was left behind"

echo "-- rate: bad input paths"
expect 2 "$work/nowhere/contracts.avro" "$AJ_BIN" rate --in "$work/nowhere" --out "$work/out4"
printf 'not avro at all' >"$work/junk.avro"
expect 2 "$work/junk.avro" "$AJ_BIN" rate --contracts "$work/a/contracts.avro" --usage "$work/junk.avro" --out "$work/out5"
[ -e "$work/out5/invoices.avro" ] && fail "rate: a failed run left invoices.avro claiming to be complete"

echo "-- demo: JSON summary, every record accounted for, precision and recall 1"
json=$("$AJ_BIN" demo --accounts 200 --records 20000 --partitions 8 --json --quiet)
python3 - "$json" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
for k in ("records_in", "dead_letters", "corrections_by_reason", "invoices", "precision", "recall",
          "records_per_second"):
    assert k in d, "demo --json lacks %s" % k
assert d["invoices"] == 200, d
assert d["precision"] == 1 and d["recall"] == 1, d
assert d["records_in"] == d["processed"] + d["dead_letters"], d
assert d["dead_letters"] == d["dead_letters_expected"], d
# every malformed kind the demo produces is dead-lettered as itself (a BAD_UNION still out of
# range once the usage stream's union grew a branch)
assert d["dead_letters_by_reason"].get("BAD_UNION", 0) > 0, d["dead_letters_by_reason"]
assert d["records_per_second"] > 0, d
assert sum(d["corrections_by_reason"].values()) == d["corrections"] > 0, d
EOF
echo "test_cli: all passed"
