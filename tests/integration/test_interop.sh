#!/usr/bin/env bash
# test_interop.sh - independent implementations read what ajuste writes: Python's avro package
# (Debian python3-avro) reads the schemas and the container files, kcat consumes the output
# topics from a mock cluster running as a separate process, and Python decodes the messages.
set -euo pipefail

: "${AJ_BIN:?AJ_BIN must point at the ajuste binary}"
: "${AJ_MOCKBROKER:?AJ_MOCKBROKER must point at the aj_mockbroker binary}"
: "${AJ_SOURCE_DIR:?AJ_SOURCE_DIR must point at the source tree}"
PY=/usr/bin/python3   # Debian's, where python3-avro lives

work=$(mktemp -d)
mb_pid=""
cleanup() {
  if [ -n "$mb_pid" ]; then kill "$mb_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run WHAT SECONDS CMD...: runs CMD with a time limit; on failure names WHAT, with its output.
run() {
  local what=$1 limit=$2 rc=0
  shift 2
  timeout "$limit" "$@" >"$work/cmd.out" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || fail "$what exited $rc$([ "$rc" -eq 124 ] && echo " (timed out after ${limit}s)"): $(tail -n 20 "$work/cmd.out")"
}

"$PY" -c 'import avro.schema, avro.datafile, avro.io' 2>/dev/null ||
  fail "Python's avro package is missing (apt-get install python3-avro)"
command -v kcat >/dev/null || fail "kcat is not installed (apt-get install kcat)"

echo "-- (a) every schema parses in Python and documents every field"
timeout 60 "$PY" - "$AJ_SOURCE_DIR/schemas" <<'EOF' || fail "(a) the schemas do not all parse in Python with every field documented"
import glob, json, os, sys
import avro.schema

files = sorted(glob.glob(os.path.join(sys.argv[1], "*.avsc")))
if len(files) < 5:
    sys.exit("want at least 5 schemas in %s, found %s" % (sys.argv[1], files))
problems = []

def walk(t, where):
    if isinstance(t, list):
        for branch in t:
            walk(branch, where)
    elif isinstance(t, dict):
        kind = t.get("type")
        if kind == "record":
            for f in t["fields"]:
                if not isinstance(f.get("doc"), str) or not f["doc"].strip():
                    problems.append("%s: field %s.%s has no doc" % (where, t["name"], f["name"]))
                walk(f["type"], where)
        elif kind == "array":
            walk(t["items"], where)
        elif kind == "map":
            walk(t["values"], where)

for path in files:
    text = open(path).read()
    try:
        avro.schema.parse(text)
    except Exception as e:
        problems.append("%s: Python's avro cannot parse it: %s" % (os.path.basename(path), e))
        continue
    walk(json.loads(text), os.path.basename(path))
if problems:
    sys.exit("\n".join(problems))
print("schemas ok:", ", ".join(os.path.basename(f) for f in files))
EOF

echo "-- (a2) the v3 schemas resolve the v2 writers' data (Python's schema resolution)"
timeout 60 "$PY" - "$AJ_SOURCE_DIR/schemas" <<'EOF' || fail "(a2) v2 data does not resolve against the v3 schemas"
import datetime, io, os, sys
import avro.io, avro.schema

d = sys.argv[1]

def ts(ms):   # timestamp-millis values are datetimes in Python's avro
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)

def parse(name):
    return avro.schema.parse(open(os.path.join(d, name)).read())

def trip(writer, reader, datum):
    buf = io.BytesIO()
    avro.io.DatumWriter(writer).write(datum, avro.io.BinaryEncoder(buf))
    buf.seek(0)
    return avro.io.DatumReader(writer, reader).read(avro.io.BinaryDecoder(buf))

rc = {"record_id": "RC-1", "account": "ACC1", "line_id": "ACC1-L0", "service": "VOICE", "cycle_id": "2026-10",
      "period_start": ts(1790812800000), "period_end": ts(1793491200000), "legacy_amount": 49900000, "currency": "BRL",
      "legacy_tariff_code": ""}
back = trip(parse("usage_event.v2.avsc"), parse("usage_event.v3.avsc"), rc)
assert back == rc, back
otc = {"record_id": "OT-1", "account": "ACC1", "subscriber": "ACC1-L0", "charge_code": "SIM_SWAP",
       "charged_at": ts(1791504000000), "cycle_id": "2026-10", "quantity": 2, "legacy_amount": 50000000,
       "currency": "BRL", "legacy_tariff_code": "OTC"}
v3 = parse("usage_event.v3.avsc")
assert trip(v3, v3, otc) == otc
contract = {"account": "ACC1", "contract_id": "CT-1", "version": 1, "status": "ACTIVE", "effective_from": ts(0),
            "effective_to": None, "currency": "BRL", "currency_decimals": 2, "rounding": "HALF_UP",
            "payment_terms_days": 30, "time_zone": "UTC", "zones": [], "default_zone": "OTHER",
            "band_mode": "AT_START", "bands": [], "default_band": "ANY", "rates": [], "allowances": [],
            "discounts": [], "promotions": [], "lines": [], "taxes": []}
back = trip(parse("contract.v2.avsc"), parse("contract.v3.avsc"), contract)
assert back["one_time_charges"] == [], back
print("v2 -> v3 resolution ok")
EOF

echo "-- (b) Python reads the container files of gen and rate"
run "ajuste gen --out" 120 "$AJ_BIN" gen --out "$work/d" --accounts 50 --records 3000 --seed 3
run "ajuste rate" 300 "$AJ_BIN" rate --in "$work/d" --out "$work/d/out"
timeout 120 "$PY" - "$work/d" <<'EOF' || fail "(b) the container files are not what gen and rate should have written"
import csv, os, sys
import avro.datafile, avro.io

d = sys.argv[1]

def read(path):
    with open(path, "rb") as f:
        return list(avro.datafile.DataFileReader(f, avro.io.DatumReader()))

def check(ok, what):
    if not ok:
        sys.exit(what)

contracts = read(os.path.join(d, "contracts.avro"))
usage = read(os.path.join(d, "usage.avro"))
invoices = read(os.path.join(d, "out", "invoices.avro"))
corrections = read(os.path.join(d, "out", "corrections.avro"))
dead = read(os.path.join(d, "out", "dead_letters.avro"))
with open(os.path.join(d, "ground_truth.csv")) as f:
    truth = list(csv.DictReader(f))

check(len({c["account"] for c in contracts}) == 50, "contracts.avro covers %d accounts, want 50" % len({c["account"] for c in contracts}))
check(len(usage) >= 3000, "usage.avro holds %d events, want at least the 3000 usage records" % len(usage))
check(len(invoices) == 50, "invoices.avro holds %d invoices, want 50" % len(invoices))
check(len({i["account"] for i in invoices}) == 50, "the invoices are not one per account")
for inv in invoices:
    lines = [l for l in inv["lines"] if not l["memo"]]
    billed = sum(l["billed_amount"] for l in lines)
    legacy = sum(l["legacy_amount"] for l in lines)
    check(inv["corrected_total"] == billed,
          "%s: corrected_total %d != sum of its lines' billed_amount %d" % (inv["invoice_id"], inv["corrected_total"], billed))
    check(inv["legacy_total"] == legacy,
          "%s: legacy_total %d != sum of its lines' legacy_amount %d" % (inv["invoice_id"], inv["legacy_total"], legacy))
    check(inv["legacy_total"] - inv["overcharge_removed"] + inv["undercharge_added"] == inv["corrected_total"],
          "%s: legacy - removed + added != corrected" % inv["invoice_id"])
    check(inv["adjustment_total"] == inv["corrected_total"] - inv["legacy_total"],
          "%s: adjustment_total %d != corrected_total %d - legacy_total %d"
          % (inv["invoice_id"], inv["adjustment_total"], inv["corrected_total"], inv["legacy_total"]))
for c in corrections:
    check(c["delta"] == c["corrected_amount"] - c["legacy_amount"],
          "%s: delta %d != corrected_amount %d - legacy_amount %d"
          % (c["correction_id"], c["delta"], c["corrected_amount"], c["legacy_amount"]))
# One-time charges: in the usage stream (usage_event.v3), priced by the contracts, on ONE_TIME
# lines whose corrections are of record kind ONE_TIME with no service.
otcs = [u for u in usage if "charge_code" in u]
check(len(otcs) > 0, "usage.avro holds no OneTimeCharge")
check(all(c["one_time_charges"] for c in contracts), "a contract has no one-time charge price list")
codes = {p["code"] for c in contracts for p in c["one_time_charges"]}
check({"ACTIVATION", "SIM_SWAP", "PORTABILITY"} <= codes, "price lists hold %s" % sorted(codes))
otc_lines = [l for inv in invoices for l in inv["lines"] if l["kind"] == "ONE_TIME"]
check(len(otc_lines) > 0, "no invoice has a ONE_TIME line")
for l in otc_lines:
    check(l["line_id"] == "ONE_TIME/" + l["item"] and l["service"] == "", "bad ONE_TIME line %s" % l["line_id"])
check(sum(l["records"] for l in otc_lines) == len(otcs),
      "ONE_TIME lines count %d records, usage.avro has %d one-time charges"
      % (sum(l["records"] for l in otc_lines), len(otcs)))
for c in corrections:
    if c["record_kind"] == "ONE_TIME":
        check(c["service"] == "" and c["reason"] in ("OTC_NOT_IN_CONTRACT", "OTC_PRICE_MISMATCH", "OTC_DUPLICATE",
                                                     "NO_CONTRACT", "USAGE_AFTER_TERMINATION"),
              "%s: a ONE_TIME correction with service %r, reason %s" % (c["correction_id"], c["service"], c["reason"]))
        check(c["invoice_line"].startswith("ONE_TIME/"), "%s: invoice_line %s" % (c["correction_id"], c["invoice_line"]))
check(len(truth) > 0, "ground_truth.csv has no data rows")
check(len(corrections) + len(dead) == len(truth),
      "%d corrections + %d dead letters != %d rows of ground_truth.csv" % (len(corrections), len(dead), len(truth)))
print("files ok: %d invoices, %d corrections, %d dead letters, %d ground-truth rows"
      % (len(invoices), len(corrections), len(dead), len(truth)))
EOF

echo "-- (c) a mock cluster in its own process, gen and run over Kafka, kcat reads the outputs"
coproc MB {
  exec timeout 600 "$AJ_MOCKBROKER" --topic cdr.usage:4 --topic contract.events:1 --topic invoices.adjusted:2 \
    --topic corrections:2 --topic dead-letter:1 2>"$work/broker.err"
}
mb_pid=${MB_PID:?coproc did not start}
exec {mb_out}<&"${MB[0]}" {mb_in}>&"${MB[1]}"   # our copies outlive the coprocess's
line=""
read -r -t 30 line <&"$mb_out" || fail "aj_mockbroker printed nothing in 30 s: $(cat "$work/broker.err")"
case "$line" in
  bootstrap.servers=?*) boot=${line#bootstrap.servers=} ;;
  *) fail "aj_mockbroker's first line is '$line', want bootstrap.servers=<list>" ;;
esac

# Before any contract is published, the daemon refuses to start (it would dead-letter everything).
rc=0
timeout 120 "$AJ_BIN" run --set "kafka.bootstrap.servers=$boot" --set run.exit_at_end=true \
  --set kafka.fetch.wait.max.ms=10 >"$work/cmd.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && grep -q "no valid contract on topic contract.events" "$work/cmd.out" ||
  fail "ajuste run with no contracts exited $rc: $(tail -n 5 "$work/cmd.out")"

run "ajuste gen --bootstrap-servers" 120 "$AJ_BIN" gen --out "$work/k" --accounts 50 --records 3000 --seed 3 \
  --bootstrap-servers "$boot"
grep -q "^Produced to $boot" "$work/cmd.out" || fail "gen --bootstrap-servers did not say it produced: $(cat "$work/cmd.out")"
if [ -e "$work/k/usage.avro" ] || [ -e "$work/k/contracts.avro" ]; then
  fail "gen --bootstrap-servers wrote container files as well"
fi
cmp -s "$work/d/ground_truth.csv" "$work/k/ground_truth.csv" ||
  fail "gen --bootstrap-servers wrote a ground truth different from gen --out with the same seed"
# A short session timeout: the mock makes the next member of a group wait that long after the
# last one left (the daemon below joins the same group).
run "ajuste run" 300 "$AJ_BIN" run --set "kafka.bootstrap.servers=$boot" --set run.exit_at_end=true \
  --set kafka.fetch.wait.max.ms=10 --set log.level=warn --set kafka.session.timeout.ms=6000 \
  --set kafka.heartbeat.interval.ms=500

# The daemon as billing operations run it (no exit at end): SIGTERM stops it cleanly, exit 0,
# and it produced nothing twice (the group's offsets were committed by the first run).
"$AJ_BIN" run --set "kafka.bootstrap.servers=$boot" --set kafka.fetch.wait.max.ms=10 \
  --set kafka.session.timeout.ms=6000 --set kafka.heartbeat.interval.ms=500 >"$work/daemon.out" 2>&1 &
daemon=$!
for _ in $(seq 300); do grep -q "assigned" "$work/daemon.out" && break; sleep 0.1; done
grep -q "assigned" "$work/daemon.out" || { kill -9 "$daemon"; fail "the daemon never got its partitions: $(cat "$work/daemon.out")"; }
kill -TERM "$daemon"
rc=0
timeout 60 tail --pid="$daemon" -f /dev/null || { kill -9 "$daemon"; fail "the daemon did not stop within 60 s of SIGTERM"; }
wait "$daemon" || rc=$?
[ "$rc" -eq 0 ] || fail "the daemon exited $rc on SIGTERM, want 0: $(tail -n 5 "$work/daemon.out")"
grep -Eq "^Records in: +0 " "$work/daemon.out" || fail "the restarted daemon re-read committed records: $(cat "$work/daemon.out")"

kc() { timeout 60 kcat -C -b "$boot" -o beginning -e -q -X fetch.wait.max.ms=10 "$@"; }
kc -t invoices.adjusted -f '%k\n' >"$work/keys" || fail "kcat could not consume invoices.adjusted"
keys=$(sort -u "$work/keys" | grep -c . || true)
[ "$keys" -eq 50 ] || fail "kcat read invoices for $keys distinct accounts (keys), want 50"
# One message exactly as kcat hands it over: the key, a newline, the raw value.
kc -t invoices.adjusted -p 0 -c 1 -f '%k\n%s' >"$work/one" || fail "kcat could not read one invoice"
# Every message of the output topics, framed: key length, ':', key, value length (4 bytes), value.
for t in invoices.adjusted corrections dead-letter; do
  kc -t "$t" -f '%K:%k%R%s' >"$work/$t.bin" || fail "kcat could not consume $t"
done

timeout 120 "$PY" - "$AJ_SOURCE_DIR/schemas" "$work" <<'EOF' || fail "(c) what kcat read from Kafka is not what it should be"
import csv, io, json, os, struct, sys
import avro.datafile, avro.io, avro.schema

schemas, work = sys.argv[1], sys.argv[2]

def check(ok, what):
    if not ok:
        sys.exit(what)

def parse(name):
    return avro.schema.parse(open(os.path.join(schemas, name)).read())

# CRC-64-AVRO (the specification's Rabin fingerprint) over Python's own Parsing Canonical Form;
# Debian's avro 1.11.1 has canonical_form but no fingerprint function. Its canonical form keeps a
# logical type's base as {"type":"long"} once logicalType is stripped; the specification's
# [PRIMITIVES] rule (as Java's SchemaNormalization applies it) makes that "long", so apply it.
def primitives(t):
    if isinstance(t, dict):
        if set(t) == {"type"} and isinstance(t["type"], str):
            return t["type"]
        return {k: primitives(v) for k, v in t.items()}
    if isinstance(t, list):
        return [primitives(v) for v in t]
    return t

def canonical(schema):
    form = json.dumps(primitives(json.loads(schema.canonical_form)), separators=(",", ":"), ensure_ascii=False)
    return form.encode("utf-8")

EMPTY = 0xC15D213AA4D7A795
TABLE = []
for i in range(256):
    fp = i
    for _ in range(8):
        fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
    TABLE.append(fp)

def crc64_avro(data):
    fp = EMPTY
    for b in data:
        fp = (fp >> 8) ^ TABLE[(fp ^ b) & 0xFF]
    return fp

def decode(schema, value, what):
    fp = crc64_avro(canonical(schema))
    check(value[:2] == b"\xc3\x01", "%s: starts with %r, want the single-object marker C3 01" % (what, value[:2]))
    got = struct.unpack("<Q", value[2:10])[0]
    check(got == fp, "%s: fingerprint %016x, want %016x (CRC-64-AVRO of Python's canonical form)" % (what, got, fp))
    buf = io.BytesIO(value[10:])
    datum = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(buf))
    check(buf.tell() == len(value) - 10, "%s: %d bytes left after the datum" % (what, len(value) - 10 - buf.tell()))
    return datum

def messages(topic):
    data, pos, out = open(os.path.join(work, topic + ".bin"), "rb").read(), 0, []
    while pos < len(data):
        colon = data.index(b":", pos)
        klen = int(data[pos:colon])
        pos = colon + 1
        key = data[pos:pos + max(klen, 0)].decode() if klen >= 0 else None
        pos += max(klen, 0)
        (vlen,) = struct.unpack(">i", data[pos:pos + 4])
        check(vlen >= 0, "%s: a message without a value" % topic)
        out.append((key, data[pos + 4:pos + 4 + vlen]))
        pos += 4 + vlen
    return out

invoice_schema = parse("invoice.v2.avsc")

# The one message the brief names: key, newline, value.
raw = open(os.path.join(work, "one"), "rb").read()
key, _, value = raw.partition(b"\n")
inv = decode(invoice_schema, value, "the first invoice of partition 0")
check(inv["account"] == key.decode(), "invoice account %s, message key %s" % (inv["account"], key.decode()))

# Every invoice, correction and dead letter, against the container files of (b): the same input
# through files and through Kafka must give the same invoices and corrections.
def read(path):
    with open(path, "rb") as f:
        return list(avro.datafile.DataFileReader(f, avro.io.DatumReader()))

files = os.path.join(work, "d", "out")
want_inv = {i["invoice_id"]: i for i in read(os.path.join(files, "invoices.avro"))}
want_cor = {c["correction_id"]: c for c in read(os.path.join(files, "corrections.avro"))}
want_dead = read(os.path.join(files, "dead_letters.avro"))
with open(os.path.join(work, "k", "ground_truth.csv")) as f:
    truth = list(csv.DictReader(f))

got_inv = {}
for key, value in messages("invoices.adjusted"):
    inv = decode(invoice_schema, value, "invoice with key %s" % key)
    check(inv["account"] == key, "invoice %s: account %s, message key %s" % (inv["invoice_id"], inv["account"], key))
    check(inv["adjustment_total"] == inv["corrected_total"] - inv["legacy_total"], "%s: totals disagree" % inv["invoice_id"])
    check(got_inv.setdefault(inv["invoice_id"], inv) == inv, "%s: two different messages with that id" % inv["invoice_id"])
check(sorted(got_inv) == sorted(want_inv), "the invoice ids on Kafka differ from rate's: %s"
      % sorted(set(got_inv) ^ set(want_inv))[:5])
for iid, inv in got_inv.items():
    check(inv == want_inv[iid], "%s differs between Kafka and the container file" % iid)

correction_schema = parse("correction.v3.avsc")
got_cor = {}
for key, value in messages("corrections"):
    c = decode(correction_schema, value, "correction with key %s" % key)
    check(c["delta"] == c["corrected_amount"] - c["legacy_amount"], "%s: delta is wrong" % c["correction_id"])
    got_cor[c["correction_id"]] = c
check(sorted(got_cor) == sorted(want_cor), "the correction ids on Kafka differ from rate's: %s"
      % sorted(set(got_cor) ^ set(want_cor))[:5])
for cid, c in got_cor.items():
    w = dict(want_cor[cid], source=None)
    check(dict(c, source=None) == w, "%s differs between Kafka and the container file (beyond its source)" % cid)

dead_schema = parse("dead_letter.avsc")
got_dead = {}
for key, value in messages("dead-letter"):
    x = decode(dead_schema, value, "dead letter")
    got_dead[x["dead_letter_id"]] = x
check(sorted(x["reason"] for x in got_dead.values()) == sorted(x["reason"] for x in want_dead),
      "the dead letters' reasons on Kafka differ from rate's")
check(len(got_cor) + len(got_dead) == len(truth), "%d corrections + %d dead letters on Kafka != %d ground-truth rows"
      % (len(got_cor), len(got_dead), len(truth)))
print("kafka ok: %d invoices, %d corrections, %d dead letters decoded by Python, the same as the files; "
      "invoice fingerprint %016x" % (len(got_inv), len(got_cor), len(got_dead), crc64_avro(canonical(invoice_schema))))
EOF

printf 'quit\n' >&"$mb_in" || fail "cannot tell aj_mockbroker to quit"
answer=""
read -r -t 30 answer <&"$mb_out" || true
[ "$answer" = "ok" ] || fail "aj_mockbroker answered '$answer' to quit, want ok"
rc=0
wait "$mb_pid" || rc=$?
mb_pid=""
[ "$rc" -eq 0 ] || fail "aj_mockbroker exited $rc on quit, want 0: $(cat "$work/broker.err")"
echo "test_interop: all passed"
