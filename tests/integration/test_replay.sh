#!/usr/bin/env bash
# test_replay.sh - `ajuste replay` against production on the standalone mock broker: the same range
# and contracts reproduce production byte for byte with an empty diff; a price change for one zone
# of one account lists exactly that zone's records of the range, with amounts computed here
# independently; a time range maps to the offsets its timestamps say; a range beyond the log end
# and a production topic as output are refused; an interrupted replay leaves no complete-looking
# file; the HTML report renders in headless Chromium without a console message.
set -euo pipefail

: "${AJ_BIN:?AJ_BIN must point at the ajuste binary}"
: "${AJ_MOCKBROKER:?AJ_MOCKBROKER must point at the aj_mockbroker binary}"
: "${AJ_OUTDUMP:?AJ_OUTDUMP must point at the aj_outdump binary}"
PY=/usr/bin/python3   # Debian's, where python3-avro lives

records=${AJ_REPLAY_RECORDS:-40000}
accounts=300
parts=8
export MB_TIMEOUT=900

work=$(mktemp -d)
. "$(dirname "${BASH_SOURCE[0]}")/mb_lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/pg_lib.sh"
cleanup() {
  kill_broker
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$PY" -c 'import avro.datafile, avro.io' 2>/dev/null || fail "Python's avro package is missing (apt-get install python3-avro)"
command -v kcat >/dev/null || fail "kcat is missing (apt-get install kcat)"

# replay ARGS...: ajuste replay against the broker (stdin/stdout of the broker closed for it).
replay() {
  timeout 300 "$AJ_BIN" replay --config "$work/prod.conf" "$@" {mb_in}>&- {mb_out}<&-
}

# dump PREFIX OUT: aj_outdump of the four output topics named PREFIX<topic>.
dump() {
  timeout 300 "$AJ_OUTDUMP" --bootstrap-servers "$boot" --topic "invoice=$1invoices.adjusted" \
    --topic "review=$1invoices.review" --topic "correction=$1corrections" --topic "dead-letter=$1dead-letter" \
    --out "$2" --summary "$2.sum" 2>"$2.err" {mb_in}>&- {mb_out}<&- || fail "aj_outdump $1: $(cat "$2.err")"
}

echo "-- the broker, the inputs (ajuste gen, $records records), production (ajuste run)"
start_broker
for t in cdr.usage:$parts contract.events:1 ajuste.checkpoints:$parts; do expect_ok "topic ${t%:*} ${t#*:}"; done
for pfx in "" replay.; do
  for o in invoices.adjusted invoices.review corrections dead-letter; do expect_ok "topic $pfx$o 4"; done
done
"$AJ_BIN" gen --out "$work/gen" --accounts $accounts --records "$records" --seed 11 >"$work/gen.out" 2>&1 ||
  fail "ajuste gen (files): $(cat "$work/gen.out")"
timeout 300 "$AJ_BIN" gen --bootstrap-servers "$boot" --out "$work/genk" --accounts $accounts --records "$records" \
  --seed 11 >"$work/genk.out" 2>&1 {mb_in}>&- {mb_out}<&- || fail "ajuste gen (Kafka): $(cat "$work/genk.out")"
cat >"$work/prod.conf" <<EOF
kafka.bootstrap.servers = $boot
kafka.fetch.wait.max.ms = 10
run.exit_at_end = true
input.credit_topic =
EOF
timeout 300 "$AJ_BIN" run --config "$work/prod.conf" >"$work/run.log" 2>&1 {mb_in}>&- {mb_out}<&- ||
  fail "ajuste run: $(tail -5 "$work/run.log")"
dump "" "$work/prod.txt"
grep -q 'evicted=0' "$work/prod.txt.sum" || fail "the mock evicted production outputs: $(cat "$work/prod.txt.sum")"
in_topic=$(kcat -C -b "$boot" -t cdr.usage -e -q -f '%p\n' {mb_in}>&- {mb_out}<&- | wc -l)
in_file=$("$PY" -c 'import avro.datafile as d, avro.io as i, sys; print(sum(1 for _ in d.DataFileReader(open(sys.argv[1], "rb"), i.DatumReader())))' "$work/gen/usage.avro")
[ "$in_topic" -eq "$in_file" ] || fail "cdr.usage holds $in_topic messages, usage.avro $in_file (evicted?)"
echo "   $in_topic input records; production: $(tr '\n' ' ' <"$work/prod.txt.sum")"
# position GROUP: "COMMITTED END" of GROUP on cdr.usage (aj_outdump asks, never joins).
position() {
  timeout 60 "$AJ_OUTDUMP" --bootstrap-servers "$boot" --position "$1=cdr.usage" {mb_in}>&- {mb_out}<&- ||
    fail "aj_outdump --position $1 failed"
}
prod_pos=$(position ajuste)
[ "$prod_pos" = "$in_topic $in_topic" ] || fail "production's group is at '$prod_pos', want '$in_topic $in_topic'"

echo "-- same range, same contracts: outputs identical to production, empty diff"
replay --out-topic-prefix replay. --fail-on-diff -q >"$work/same.txt" 2>"$work/same.err" ||
  fail "replay of everything exited $?: $(cat "$work/same.err")"
grep -q '^Records changed:   0 ' "$work/same.txt" || fail "diff not empty: $(cat "$work/same.txt")"
n_inv=$(sed -n 's/^invoice raw=[0-9]* distinct=\([0-9]*\) .*/\1/p' "$work/prod.txt.sum")
grep -q "^Invoices: *$n_inv emitted by the replay, $n_inv in the baseline too, 0 with another amount due" "$work/same.txt" ||
  fail "invoices not all compared equal ($n_inv in production): $(grep '^Invoices' "$work/same.txt")"
dump replay. "$work/replay.txt"
cmp -s "$work/prod.txt" "$work/replay.txt" || fail "replay outputs differ from production's: $(diff "$work/prod.txt" "$work/replay.txt" | head -5)"
n_cor=$(grep -c '^correction ' "$work/prod.txt" || true)
[ "$n_cor" -gt 100 ] || fail "production wrote only $n_cor corrections; the comparison would be weak"
echo "   $(wc -l <"$work/prod.txt") output ids byte-identical ($n_cor corrections)"

echo "-- partitions 3-5 up to an offset, to files twice: byte-identical files, empty diff against the topic"
high3=$(kcat -C -b "$boot" -t cdr.usage -p 3 -e -q -f '%o\n' {mb_in}>&- {mb_out}<&- | tail -1)
to=$(((high3 + 1) / 2))
for run in 1 2; do
  replay --partitions 3-5 --from-offset 0 --to-offset "$to" --out "$work/files$run" --json \
    >"$work/files$run.json" 2>"$work/files$run.err" || fail "replay to files exited $?: $(cat "$work/files$run.err")"
done
for f in invoices corrections dead_letters review; do
  cmp -s "$work/files1/$f.avro" "$work/files2/$f.avro" || fail "two replays of one range wrote different $f.avro"
done
grep -q '"records_changed": 0,' "$work/files1.json" || fail "diff of partitions 3-5 not empty: $(head -8 "$work/files1.json")"
inv=$(sed -n 's/^  "invoices": \([0-9]*\),$/\1/p' "$work/files1.json")
[ -n "$inv" ] && grep -q "\"invoices_compared\": $inv," "$work/files1.json" &&
  grep -q '"invoice_changes": \[\]' "$work/files1.json" ||
  fail "invoices of partitions 3-5 not all equal to production's: $(head -12 "$work/files1.json")"
for p in 3 4 5; do
  grep -q "replay: cdr.usage\[$p\] offsets 0\.\.$((to - 1)) " "$work/files1.err" ||
    fail "partition $p: range not reported as 0..$((to - 1)): $(cat "$work/files1.err")"
done
ls "$work/files1" | grep -q partial && fail "a .partial file was left after a complete replay"
echo "   offsets 0..$((to - 1)) of partitions 3-5; $(grep -o '"records_compared": [0-9]*' "$work/files1.json")"

echo "-- a range from the middle of partitions 3-5: differs from production cold, equals it with --warm-up"
set +e
replay --partitions 3-5 --from-offset "$to" --fail-on-diff --json -q >"$work/cold.json" 2>"$work/cold.err"
st=$?
set -e
[ "$st" -eq 3 ] || fail "a cold replay from mid-partition exited $st, want 3 (a diff): $(head -8 "$work/cold.json") $(cat "$work/cold.err")"
replay --partitions 3-5 --from-offset "$to" --warm-up --fail-on-diff --json >"$work/warm.json" 2>"$work/warm.err" ||
  fail "replay --warm-up from mid-partition exited $?: $(head -12 "$work/warm.json") $(cat "$work/warm.err")"
grep -q '"records_changed": 0,' "$work/warm.json" || fail "--warm-up diff not empty: $(head -8 "$work/warm.json")"
inv=$(sed -n 's/^  "invoices": \([0-9]*\),$/\1/p' "$work/warm.json")
[ -n "$inv" ] && [ "$inv" -gt 0 ] && grep -q "\"invoices_compared\": $inv," "$work/warm.json" ||
  fail "--warm-up: invoices not all compared: $(head -12 "$work/warm.json")"
warmed=$(sed -n 's/^Warm-up: *\([0-9]*\) of these records.*/\1/p' "$work/warm.err")
[ -n "$warmed" ] && [ "$warmed" -ge "$((3 * to))" ] || fail "the warm-up count is not reported: $(cat "$work/warm.err")"
for p in 3 4 5; do
  grep -q "replay: cdr.usage\[$p\] offsets 0\.\.$((to - 1)) first, to warm up" "$work/warm.err" ||
    fail "partition $p: the warm-up range not reported: $(cat "$work/warm.err")"
done
echo "   cold: $(grep -o '"records_changed": [0-9]*' "$work/cold.json"); warm: $inv invoices equal, no record changed"

echo "-- a file replay equals ajuste rate, byte for byte"
"$AJ_BIN" rate --in "$work/gen" --out "$work/rate" -q || fail "ajuste rate exited $?"
"$AJ_BIN" replay --usage "$work/gen/usage.avro" --contracts "$work/gen/contracts.avro" --baseline "$work/rate" \
  --out "$work/frep" --fail-on-diff -q >"$work/frep.txt" || fail "file replay exited $?: $(cat "$work/frep.txt")"
for f in invoices corrections dead_letters review; do
  cmp -s "$work/rate/$f.avro" "$work/frep/$f.avro" || fail "replay --usage wrote another $f.avro than rate"
done

echo "-- refusals: production topics as output, a range beyond the log end, a partition the topic lacks"
st=0
replay --out-topic-prefix "" -q >/dev/null 2>"$work/refuse.err" || st=$?
[ "$st" -eq 2 ] && grep -q "refusing to write replay outputs into production topic 'invoices.adjusted'" "$work/refuse.err" ||
  fail "--out-topic-prefix '' exited $st: $(cat "$work/refuse.err")"
st=0
replay --partitions 3 --to-offset $((high3 + 1000)) -q >/dev/null 2>"$work/end.err" || st=$?
[ "$st" -eq 2 ] && grep -q "cdr.usage\[3\]: --to offset $((high3 + 1000)) is beyond the log end" "$work/end.err" ||
  fail "a range beyond the log end exited $st: $(cat "$work/end.err")"
st=0
replay --partitions 9 -q >/dev/null 2>"$work/nopart.err" || st=$?
[ "$st" -eq 2 ] && grep -q "topic cdr.usage has no partition 9" "$work/nopart.err" ||
  fail "a partition the topic lacks exited $st: $(cat "$work/nopart.err")"

echo "-- the contract snapshot as of an offset or a time of the contract topic"
chigh=$(kcat -C -b "$boot" -t contract.events -p 0 -e -q -f '%o %T\n' {mb_in}>&- {mb_out}<&- | tail -1)
ct_last=${chigh#* }
chigh=$((${chigh% *} + 1))
# Times are UTC ISO-8601 (an integer is an offset); the last contract's own millisecond includes it.
ct_iso=$(date -u -d "@$((ct_last / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $((ct_last % 1000)))Z
for at in "$chigh" "$ct_iso"; do
  replay --partitions 3 --to-offset 500 --contracts-at "$at" --fail-on-diff -q >"$work/cat.txt" 2>"$work/cat.err" ||
    fail "--contracts-at $at (the whole topic) exited $?: $(cat "$work/cat.err")"
done
for at in 0 "$(date -u -d "@$((ct_last / 1000 - 3600))" +%Y-%m-%dT%H:%M:%SZ)"; do
  st=0
  replay --partitions 3 --to-offset 500 --contracts-at "$at" -q >/dev/null 2>"$work/cat0.err" || st=$?
  [ "$st" -eq 2 ] && grep -q "no valid contract in the snapshot" "$work/cat0.err" ||
    fail "--contracts-at $at (before every contract) exited $st: $(cat "$work/cat0.err")"
done
st=0
replay --partitions 3 --contracts-at $((chigh + 5)) -q >/dev/null 2>"$work/cat1.err" || st=$?
[ "$st" -eq 2 ] && grep -q "contract.events\[0\]: --to offset $((chigh + 5)) is beyond the log end" "$work/cat1.err" ||
  fail "--contracts-at beyond the contract log exited $st: $(cat "$work/cat1.err")"

echo "-- a time range maps to the first offsets at or after its times"
kcat -C -b "$boot" -t cdr.usage -p 6 -e -q -f '%o %T\n' {mb_in}>&- {mb_out}<&- >"$work/ts6"
lines=$(wc -l <"$work/ts6")
t1=$(awk -v n=$((lines / 3)) 'NR == n { print $2 }' "$work/ts6")
t2=$(awk -v n=$((2 * lines / 3)) 'NR == n { print $2 }' "$work/ts6")
o1=$(awk -v t="$t1" '$2 >= t { print $1; exit }' "$work/ts6")
o2=$(awk -v t="$t2" '$2 >= t { print $1; exit }' "$work/ts6")
[ "$o1" -lt "$o2" ] || fail "timestamps of partition 6 do not spread ($t1 at $o1, $t2 at $o2): cannot test"
replay --partitions 6 --from-time "$t1" --to-time "$t2" --no-diff >/dev/null 2>"$work/time.err" ||
  fail "time replay exited $?: $(cat "$work/time.err")"
grep -q "replay: cdr.usage\[6\] offsets $o1\.\.$((o2 - 1)) " "$work/time.err" ||
  fail "times $t1..$t2 not mapped to offsets $o1..$((o2 - 1)): $(grep 'replay:' "$work/time.err")"
iso=$(date -u -d "@$((t1 / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $((t1 % 1000)))Z
replay --partitions 6 --from-time "$iso" --to-time "$t2" --no-diff >/dev/null 2>"$work/time2.err" ||
  fail "time replay ($iso) exited $?: $(cat "$work/time2.err")"
grep -q "replay: cdr.usage\[6\] offsets $o1\.\.$((o2 - 1)) " "$work/time2.err" ||
  fail "$iso not mapped to offset $o1: $(grep 'replay:' "$work/time2.err")"
echo "   $t1 -> $o1, $t2 -> $o2 (and $iso)"

echo "-- a price change for one zone of one account: exactly that zone's records of the range"
# zones.py: the zone of a destination under a contract, as docs/rating.md "Destinations" says.
cat >"$work/zones.py" <<'EOF'
def zone_of(c, number):
    digits = "".join(ch for ch in number if ch not in "+ -().")   # dropped; a leading 00 too
    if not digits.isdigit():
        return c["default_zone"]
    if digits.startswith("00"):
        digits = digits[2:]
    best = max(((len(p), z["name"]) for z in c["zones"] for p in z["prefixes"] if digits.startswith(p)), default=None)
    return best[1] if best else c["default_zone"]
EOF
# candidate.py: picks an account and a (service, zone) no allowance, discount or promotion touches,
# writes its contract versions with that zone's rates replaced by one flat rate, and prints
# "account service zone price".
cat >"$work/candidate.py" <<'EOF'
import sys, avro.datafile as d, avro.io as i
src, dst = sys.argv[1], sys.argv[2]
r = d.DataFileReader(open(src, "rb"), i.DatumReader())
schema = r.datum_reader.writers_schema
cs = list(r)
by_acct = {}
for c in cs:
    by_acct.setdefault(c["account"], []).append(c)
def touched(c, svc, zone):
    for k in ("allowances", "discounts", "promotions"):
        for x in c[k] or []:
            if x["service"] == svc and (not x["zones"] or zone in x["zones"]):
                return True
    return False
# The eligible (account, service, zone) with the most records.
from zones import zone_of
count = {}
for u in d.DataFileReader(open(sys.argv[3], "rb"), i.DatumReader()):
    if "message_count" in u and u["service"] in ("MMS", "SMS") and u["account"] in by_acct:
        k = (u["account"], u["service"], zone_of(by_acct[u["account"]][0], u["destination"]))
        count[k] = count.get(k, 0) + 1
pick = None
for (acct, svc, zone), n in sorted(count.items(), key=lambda kv: (-kv[1], kv[0])):
    vs = by_acct[acct]
    if all(not touched(c, svc, zone) and any(rt["service"] == svc and rt["zone"] == zone for rt in c["rates"])
           and c["zones"] == vs[0]["zones"] for c in vs):
        pick = (acct, svc, zone)
        break
if not pick:
    sys.exit("no account with an untouched MMS/SMS zone")
acct, svc, zone = pick
price = 1230000   # 1.23 per message: whole cents, no rounding
w = d.DataFileWriter(open(dst, "wb"), i.DatumWriter(), schema)
for c in by_acct[acct]:
    rates = [rt for rt in c["rates"] if not (rt["service"] == svc and rt["zone"] == zone)]
    rates.append({"service": svc, "zone": zone, "band": None, "connect_fee": 0, "price": price, "rate_unit": 1,
                  "first_increment": 1, "next_increment": 1, "tiers": [], "min_charge": 0, "max_charge": 0,
                  "decimals": 2, "rounding": "HALF_UP"})
    c["rates"] = rates
    w.append(c)
w.close()
print(acct, svc, zone, price)
EOF
read -r acct svc zone price < <("$PY" "$work/candidate.py" "$work/gen/contracts.avro" "$work/candidate.avro" "$work/gen/usage.avro") ||
  fail "candidate.py could not pick an account"
pa=$(kcat -C -b "$boot" -t cdr.usage -e -q -f '%p %k\n' {mb_in}>&- {mb_out}<&- | awk -v a="$acct" '$2 == a && !done { print $1; done = 1 }')
kcat -C -b "$boot" -t cdr.usage -p "$pa" -e -q -f '%o %k\n' {mb_in}>&- {mb_out}<&- | awk -v a="$acct" '$2 == a { print $1 }' >"$work/acct.offsets"
n_acct=$(wc -l <"$work/acct.offsets")
cut=$(awk -v n=$((n_acct * 2 / 3)) 'NR == n { print $1 }' "$work/acct.offsets")
echo "   $acct $svc $zone at $price micro-units per message; partition $pa, range 0..$((cut - 1)) ($n_acct records of the account in the partition)"
replay --partitions "$pa" --to-offset "$cut" --contracts "$work/candidate.avro" --accounts "$acct" --csv -q \
  >"$work/price.csv" 2>"$work/price.err" || fail "price replay exited $?: $(cat "$work/price.err")"
replay --partitions "$pa" --to-offset "$cut" --contracts "$work/candidate.avro" --accounts "$acct" -q \
  --html "$work/price.html" >"$work/price.txt" 2>>"$work/price.err" || fail "price replay --html exited $?: $(cat "$work/price.err")"
# expect.py: the records of the account in the range (the n-th message keyed by the account is its
# n-th record in usage.avro), their zone by longest prefix, the old charge (production's correction,
# else the legacy charge) and the new one (messages x price; 0 where production found the record
# should not be charged at all), compared with the CSV's rows that change a charge.
cat >"$work/expect.py" <<'EOF'
import csv, sys, avro.datafile as d, avro.io as i
usage, contracts, prod_dump, offsets_f, cut, acct, svc, zone, price, got_csv = sys.argv[1:11]
cut, price = int(cut), int(price)
offsets = [int(x) for x in open(offsets_f).read().split()]
c0 = next(c for c in d.DataFileReader(open(contracts, "rb"), i.DatumReader()) if c["account"] == acct)
from zones import zone_of
mine = [u for u in d.DataFileReader(open(usage, "rb"), i.DatumReader()) if u["account"] == acct]
if len(mine) != len(offsets):
    sys.exit("usage.avro has %d records of %s, the topic %d" % (len(mine), acct, len(offsets)))
prod = {}
for line in open(prod_dump):
    f = line.rstrip("\n").split("\t")
    prod[f[0]] = (f[1], int(f[2]))
zero = {"DUPLICATE_USAGE", "USAGE_AFTER_TERMINATION", "NO_CONTRACT"}
want = {}
for u, off in zip(mine, offsets):
    if off >= cut or "service" not in u or u.get("service") != svc or "message_count" not in u:
        continue
    if zone_of(c0, u["destination"]) != zone:
        continue
    rid = u["record_id"]
    reason, corrected = prod.get(rid, ("NONE", None))
    old = corrected if corrected is not None else u["legacy_charge"]
    new = 0 if reason in zero else u["message_count"] * price
    if new != old:
        want[rid] = (old, new, new - old)
got = {}
for row in csv.DictReader(open(got_csv)):
    if int(row["change_micros"]) != 0:
        got[row["record_id"]] = (int(row["old_micros"]), int(row["new_micros"]), int(row["change_micros"]))
        if row["account"] != acct or row["service"] != svc or row["zone"] != zone:
            sys.exit("row of another account/service/zone: %r" % row)
if got != want:
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want))[:5]
    wrong = sorted(k for k in set(want) & set(got) if want[k] != got[k])[:5]
    sys.exit("diff != independent computation: missing %s, extra %s, wrong %s" %
             (missing, extra, [(k, want[k], got[k]) for k in wrong]))
print(len(want), sum(v[2] for v in want.values()))
EOF
# Production's corrections by record id (reason, corrected amount), read by Python from the files
# of `ajuste rate` (the same records and contracts as production, checked byte-identical above).
"$PY" - "$work/rate/corrections.avro" >"$work/prod.cor" <<'EOF'
import sys, avro.datafile as d, avro.io as i
for c in d.DataFileReader(open(sys.argv[1], "rb"), i.DatumReader()):
    print("%s\t%s\t%d" % (c["record_id"], c["reason"], c["corrected_amount"]))
EOF
res=$("$PY" "$work/expect.py" "$work/gen/usage.avro" "$work/gen/contracts.avro" "$work/prod.cor" "$work/acct.offsets" \
  "$cut" "$acct" "$svc" "$zone" "$price" "$work/price.csv" 2>&1) || fail "price change: $res"
read -r n_want sum_want <<<"$res"
[ "$n_want" -gt 0 ] || fail "the price change moved no record: the check would be blind"
rows_changed=$(($(wc -l <"$work/price.csv") - 1))
grep -q "^Records changed:   $rows_changed " "$work/price.txt" ||
  fail "text report and CSV disagree ($rows_changed rows): $(head -3 "$work/price.txt")"
echo "   $n_want records change, $sum_want micro-units in all, as computed here"

echo "-- the HTML report in headless Chromium: renders, no console message, the numbers of the text"
grep -Eiq '<script|<link|<iframe|<img|src=|url\(|@import|https?:' "$work/price.html" &&
  fail "the HTML report loads or runs something"
timeout 120 chromium --headless=new --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
  --user-data-dir="$work/profile" --enable-logging=stderr --v=0 --dump-dom "file://$work/price.html" \
  >"$work/price.dom" 2>"$work/chromium.log" || fail "chromium could not load the report: $(tail -5 "$work/chromium.log")"
if grep -E ':CONSOLE[(:]' "$work/chromium.log"; then fail "console messages loading the report"; fi
changed_txt=$(sed -n 's/^Records changed:   \([0-9]*\) .*/\1/p' "$work/price.txt")
grep -q "<span id=\"records-changed\">$changed_txt</span>" "$work/price.dom" ||
  fail "the rendered page does not say $changed_txt records changed"
grep -q '<svg id="chart"' "$work/price.dom" || fail "no chart in the rendered page"
grep -q '<rect ' "$work/price.dom" || fail "the chart has no bar"

echo "-- the audit log as the baseline: ajuste audit sink into PostgreSQL, read as an auditor"
pg_start
"$AJ_BIN" audit migrate --db "dbname=ajuste_test" >/dev/null </dev/null || fail "ajuste audit migrate failed"
psql -X -q -v ON_ERROR_STOP=1 -d ajuste_test \
  -c "CREATE ROLE sink LOGIN IN ROLE ajuste_writer; CREATE ROLE ana LOGIN IN ROLE ajuste_auditor" </dev/null >/dev/null ||
  fail "cannot create the test roles"
timeout 300 "$AJ_BIN" audit sink --bootstrap-servers "$boot" --db "dbname=ajuste_test user=sink" --until-end \
  >"$work/sink.out" 2>&1 {mb_in}>&- {mb_out}<&- || fail "ajuste audit sink exited $?: $(cat "$work/sink.out")"
rows=$(psql -X -q -At -d ajuste_test -c "SELECT count(*) FROM corrections" </dev/null)
[ "$rows" -eq "$n_cor" ] || fail "the audit log holds $rows corrections, production wrote $n_cor"
replay --baseline-db "dbname=ajuste_test user=ana" --fail-on-diff -q >"$work/db.txt" 2>"$work/db.err" ||
  fail "replay against the audit log exited $?: $(cat "$work/db.err")"
[ "$(grep '^Records' "$work/db.txt")" = "$(grep '^Records' "$work/same.txt")" ] ||
  fail "against the audit log: $(grep '^Records' "$work/db.txt"), against the topic: $(grep '^Records' "$work/same.txt")"
# The invoice headers the sink stored are the baseline's invoices: every one compared, all equal.
[ "$(grep '^Invoices' "$work/db.txt")" = "$(grep '^Invoices' "$work/same.txt")" ] ||
  fail "invoices against the audit log: $(grep '^Invoices' "$work/db.txt"), against the topics: $(grep '^Invoices' "$work/same.txt")"
grep -q "^Invoices: .* [1-9][0-9]* in the baseline too, 0 with another amount due" "$work/db.txt" ||
  fail "no invoice compared against the audit log: $(grep '^Invoices' "$work/db.txt")"
replay --partitions "$pa" --to-offset "$cut" --contracts "$work/candidate.avro" --accounts "$acct" --csv -q \
  --baseline-db "dbname=ajuste_test user=ana" >"$work/price_db.csv" 2>"$work/price_db.err" ||
  fail "price replay against the audit log exited $?: $(cat "$work/price_db.err")"
cmp -s "$work/price.csv" "$work/price_db.csv" || fail "the price diff against the audit log differs from the topic's"
echo "   $rows rows; the same empty diff, the same price diff ($rows_changed rows)"

echo "-- an interrupted replay leaves no output file claiming to be complete"
expect_ok "rtt -1 300"   # slow answers: the replay is still running when it is interrupted
timeout 300 "$AJ_BIN" replay --config "$work/prod.conf" --out "$work/int" --no-diff \
  >"$work/int.out" 2>"$work/int.err" {mb_in}>&- {mb_out}<&- &
ipid=$!
for ((i = 0; i < 600; i++)); do
  compgen -G "$work/int/*.partial" >/dev/null && break
  sleep 0.05
done
compgen -G "$work/int/*.partial" >/dev/null || fail "the replay wrote no .partial file: $(cat "$work/int.err")"
kill -INT "$ipid"
st=0
wait "$ipid" || st=$?
expect_ok "rtt -1 0"
[ "$st" -eq 1 ] || fail "interrupted replay exited $st, want 1: $(cat "$work/int.err")"
grep -q "replay: interrupted after" "$work/int.err" || fail "no report of how far it got: $(cat "$work/int.err")"
grep -q "replay: cdr.usage\[0\] read " "$work/int.err" || fail "no per-partition position: $(cat "$work/int.err")"
left=$(ls -A "$work/int")
[ -z "$left" ] || fail "files left by the interrupted replay: $left"

echo "-- a progress bar on a terminal (script's pty), none with -q or off a terminal"
command -v script >/dev/null || fail "script (util-linux) is missing"
script -qec "$AJ_BIN replay --config $work/prod.conf --partitions 0 --no-diff" /dev/null </dev/null \
  >"$work/tty.out" 2>&1 {mb_in}>&- {mb_out}<&- || fail "replay on a terminal exited $?: $(cat "$work/tty.out")"
grep -q "records/s  \[####################\] 100%" "$work/tty.out" ||
  fail "no progress bar on a terminal: $(tr '\r' '\n' <"$work/tty.out" | head -20)"
script -qec "$AJ_BIN replay --config $work/prod.conf --partitions 0 --no-diff -q" /dev/null </dev/null \
  >"$work/ttyq.out" 2>&1 {mb_in}>&- {mb_out}<&- || fail "replay -q on a terminal exited $?: $(cat "$work/ttyq.out")"
if grep -q "records/s" "$work/ttyq.out"; then fail "a progress bar with -q: $(cat "$work/ttyq.out")"; fi
replay --partitions 0 --no-diff >/dev/null 2>"$work/notty.err" || fail "replay exited $?: $(cat "$work/notty.err")"
if grep -q "records/s" "$work/notty.err"; then fail "a progress bar off a terminal: $(cat "$work/notty.err")"; fi

echo "-- no replay moved production's group or committed anything of its own"
[ "$(position ajuste)" = "$prod_pos" ] || fail "production's group moved: $(position ajuste), was $prod_pos"
[ "$(position ajuste-replay)" = "0 $in_topic" ] || fail "the replays committed offsets: $(position ajuste-replay)"

expect_ok quit
stop_broker
echo "test_replay: ok"
