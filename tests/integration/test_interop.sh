#!/usr/bin/env bash
# test_interop.sh - independent implementations read what ajuste writes: Python's avro package
# (Debian python3-avro) reads the schemas and the container files, kcat consumes the invoice
# topic from a mock cluster running as a separate process, and Python decodes a message.
set -euo pipefail

: "${AJ_BIN:?AJ_BIN must point at the ajuste binary}"
: "${AJ_MOCKBROKER:?AJ_MOCKBROKER must point at the aj_mockbroker binary}"
: "${AJ_SOURCE_DIR:?AJ_SOURCE_DIR must point at the source tree}"
PY=/usr/bin/python3   # Debian's, where python3-avro lives
work=$(mktemp -d)
broker_pid=""
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  exec 7>&- 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"$PY" -c 'import avro.schema' 2>/dev/null || fail "Python's avro package is missing (apt-get install python3-avro)"

echo "-- (a) every schema parses in Python and documents every field"
"$PY" - "$AJ_SOURCE_DIR/schemas" <<'EOF'
import glob, json, os, sys
import avro.schema
files = sorted(glob.glob(os.path.join(sys.argv[1], "*.avsc")))
assert len(files) >= 5, files
def walk(t, where):
    if isinstance(t, list):
        for b in t:
            walk(b, where)
    elif isinstance(t, dict):
        if t.get("type") == "record":
            assert t.get("doc"), "%s: record %s has no doc" % (where, t.get("name"))
            for f in t["fields"]:
                assert f.get("doc"), "%s: field %s.%s has no doc" % (where, t["name"], f["name"])
                walk(f["type"], where)
        elif t.get("type") == "array":
            walk(t["items"], where)
        elif t.get("type") == "map":
            walk(t["values"], where)
for f in files:
    text = open(f).read()
    avro.schema.parse(text)
    walk(json.loads(text), os.path.basename(f))
print("schemas ok:", ", ".join(os.path.basename(f) for f in files))
EOF

echo "-- (b) Python reads the container files of gen and rate"
"$AJ_BIN" gen --out "$work/d" --accounts 50 --records 3000 --seed 3 >/dev/null
"$AJ_BIN" rate --in "$work/d" --out "$work/d/out" --quiet
"$PY" - "$work/d" <<'EOF'
import csv, os, sys
import avro.datafile, avro.io
d = sys.argv[1]
def read(path):
    with open(path, "rb") as f:
        return list(avro.datafile.DataFileReader(f, avro.io.DatumReader()))
contracts = read(os.path.join(d, "contracts.avro"))
usage = read(os.path.join(d, "usage.avro"))
invoices = read(os.path.join(d, "out", "invoices.avro"))
corrections = read(os.path.join(d, "out", "corrections.avro"))
dead = read(os.path.join(d, "out", "dead_letters.avro"))
assert len(contracts) >= 50, len(contracts)
assert len(usage) >= 3000 + 50, len(usage)
assert len(invoices) == 50, len(invoices)
for inv in invoices:
    assert inv["corrected_total"] == sum(l["corrected_amount"] for l in inv["lines"]), inv["invoice_id"]
    assert inv["legacy_total"] == sum(l["legacy_amount"] for l in inv["lines"]), inv["invoice_id"]
    assert inv["adjustment_total"] == inv["corrected_total"] - inv["legacy_total"], inv["invoice_id"]
    assert inv["invoice_id"] == "INV-%s-%s-r%d" % (inv["account"], inv["cycle_id"], inv["revision"])
for c in corrections:
    assert c["delta"] == c["corrected_amount"] - c["legacy_amount"], c["correction_id"]
    assert c["correction_id"] == "COR-" + c["record_id"]
for x in dead:
    assert x["reason"] and x["payload"], x["dead_letter_id"]
with open(os.path.join(d, "ground_truth.csv")) as f:
    truth = list(csv.DictReader(f))
assert len(corrections) + len(dead) == len(truth), (len(corrections), len(dead), len(truth))
assert sum(i["adjustment_total"] for i in invoices) == sum(c["delta"] for c in corrections)
print("files ok: %d invoices, %d corrections, %d dead letters" % (len(invoices), len(corrections), len(dead)))
EOF

echo "-- (c) a mock cluster in its own process, ajuste run, kcat reads the invoices"
mkfifo "$work/broker.in"
"$AJ_MOCKBROKER" --topic cdr.usage:4 --topic contract.events:1 --topic invoices.adjusted:2 \
  --topic corrections:2 --topic dead-letter:1 <"$work/broker.in" >"$work/broker.out" 2>"$work/broker.err" &
broker_pid=$!
exec 7>"$work/broker.in"   # keeps the broker's stdin open
for _ in $(seq 100); do
  grep -q '^bootstrap.servers=' "$work/broker.out" 2>/dev/null && break
  sleep 0.1
done
boot=$(sed -n 's/^bootstrap.servers=//p' "$work/broker.out")
[ -n "$boot" ] || fail "aj_mockbroker printed no bootstrap servers: $(cat "$work/broker.err")"

timeout 120 "$AJ_BIN" gen --out "$work/k" --accounts 50 --records 3000 --seed 3 --bootstrap-servers "$boot" >/dev/null ||
  fail "gen --bootstrap-servers failed"
timeout 180 "$AJ_BIN" run --set "kafka.bootstrap.servers=$boot" --set run.exit_at_end=true \
  --set kafka.fetch.wait.max.ms=10 --set log.level=warn 2>"$work/run.err" ||
  fail "ajuste run failed: $(cat "$work/run.err")"

keys=$(timeout 60 kcat -C -b "$boot" -t invoices.adjusted -e -q -f '%k\n' | sort -u | grep -c .)
[ "$keys" -eq 50 ] || fail "kcat read invoices for $keys accounts, want 50"
timeout 60 kcat -C -b "$boot" -t invoices.adjusted -p 0 -o beginning -c 1 -e -q -f '%k\n' >"$work/key"
timeout 60 kcat -C -b "$boot" -t invoices.adjusted -p 0 -o beginning -c 1 -e -q -D '' -f '%s' >"$work/value"
"$PY" - "$AJ_SOURCE_DIR/schemas/invoice.avsc" "$work/value" "$work/key" <<'EOF'
import io, json, struct, sys
import avro.io, avro.schema
schema = avro.schema.parse(open(sys.argv[1]).read())
value = open(sys.argv[2], "rb").read()
key = open(sys.argv[3]).read().strip()
# CRC-64-AVRO of the Parsing Canonical Form, as the specification defines it, over Python's
# own canonical form (independent of ajuste's).
EMPTY = 0xc15d213aa4d7a795
table = []
for i in range(256):
    fp = i
    for _ in range(8):
        fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
    table.append(fp)
# python3-avro 1.11.1 leaves a logical type's base as {"type":"long"}; the specification's
# [PRIMITIVES] rule (and Java's SchemaNormalization) writes "long". Apply that rule here.
def primitives(t):
    if isinstance(t, dict):
        if set(t) == {"type"} and isinstance(t["type"], str):
            return t["type"]
        return {k: primitives(v) for k, v in t.items()}
    if isinstance(t, list):
        return [primitives(v) for v in t]
    return t
canonical = json.dumps(primitives(json.loads(schema.canonical_form)), separators=(",", ":"))
fp = EMPTY
for b in canonical.encode():
    fp = (fp >> 8) ^ table[(fp ^ b) & 0xff]
assert value[:2] == b"\xc3\x01", value[:2]
assert struct.unpack("<Q", value[2:10])[0] == fp, "fingerprint %x != %x" % (struct.unpack("<Q", value[2:10])[0], fp)
inv = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(value[10:])))
assert inv["account"] == key, (inv["account"], key)
assert inv["adjustment_total"] == inv["corrected_total"] - inv["legacy_total"]
print("kafka ok: invoice", inv["invoice_id"], "decoded by Python, fingerprint", hex(fp))
EOF
echo "quit" >&7
wait "$broker_pid" || fail "aj_mockbroker did not exit cleanly"
broker_pid=""
echo "test_interop: all passed"
