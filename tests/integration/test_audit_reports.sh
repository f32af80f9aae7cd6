#!/usr/bin/env bash
# test_audit_reports.sh - `ajuste audit show|summary|rootcause|export` against a real PostgreSQL
# (pg_lib.sh) holding a log the sink filled from `ajuste gen` + `ajuste run` on the mock broker
# (mb_lib.sh), every report run as a member of ajuste_auditor. Checks, each against a source the
# reports do not read:
#   - summary (each --by) and rootcause: the rows and the per-currency totals equal sums computed
#     here in SQL, and the per-reason counts and deltas equal the invoices' corrections summaries
#     (the invoice topic, decoded by Python's avro package);
#   - show: exactly the account+cycle's correction ids, totals equal to SQL's and its invoice's;
#   - CSV parses (RFC 4180, exact amounts); text totals are the CSV's, rounded;
#   - the HTML page renders in headless Chromium without a console message, shows the totals,
#     and its by-day chart counts the rows of the sink batches moved to another day;
#   - a log with two currencies and two cycles: one total per currency, never added together,
#     each at its decimals (JPY 0); an unknown cycle lists the cycles present;
#   - the writer is refused (42501), help and usage errors.
set -euo pipefail

: "${AJ_BIN:?AJ_BIN must point at the ajuste binary}"
: "${AJ_MOCKBROKER:?AJ_MOCKBROKER must point at the aj_mockbroker binary}"
: "${AJ_OUTDUMP:?AJ_OUTDUMP must point at the aj_outdump binary}"
here=$(cd "$(dirname "$0")" && pwd)
src=${AJ_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
work=$(mktemp -d)
PY=/usr/bin/python3   # Debian's, where python3-avro lives
cycle=2026-10

# fail MESSAGE: pg_lib.sh's.
# shellcheck source=pg_lib.sh
. "$here/pg_lib.sh"
# shellcheck source=mb_lib.sh
. "$here/mb_lib.sh"
# shellcheck source=run_lib.sh
. "$here/run_lib.sh"
cleanup() {
  kill_broker
  pg_stop
  rm -rf "$work"
}
trap cleanup EXIT

command -v chromium >/dev/null || fail "chromium is not installed; this test needs a real browser: apt-get install chromium"
"$PY" -c 'import avro.schema, avro.io' 2>/dev/null || fail "Python's avro package is missing (apt-get install python3-avro)"

# q DB SQL: rows as the superuser, fields separated by tabs.
q() {
  psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$1" -c "$2" </dev/null
}

# aud DB ARGS...: `ajuste audit ARGS` as the login role ana, a member of ajuste_auditor.
aud() {
  local db=$1
  shift
  "$AJ_BIN" audit "$@" --db "dbname=$db user=ana" </dev/null
}

# csv2tsv FILE ROW_TYPE COLUMNS: the CSV's rows of that row_type, those columns (comma-separated
# names), tab-separated, amounts back to micro-units. Fails on a CSV that does not parse, a row
# of another width, an amount that is not exact with 6 decimals.
cat >"$work/csv2tsv.py" <<'EOF'
import csv, re, sys
path, row_type, cols = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
money = {"overcharges", "undercharges", "net", "applied_net", "legacy_amount", "corrected_amount", "delta"}
with open(path, newline="") as f:
    rows = list(csv.reader(f, strict=True))
head = rows[0]
if head[0] != "row_type":
    sys.exit("first column is %r, want row_type" % head[0])
idx = [head.index(c) for c in cols]
for r in rows[1:]:
    if len(r) != len(head):
        sys.exit("a row has %d fields, the header %d: %r" % (len(r), len(head), r))
    if r[0] not in ("row", "subtotal", "total"):
        sys.exit("row_type %r" % r[0])
    for i, name in enumerate(head):
        if name in money and r[i] and not re.fullmatch(r"-?[0-9]+\.[0-9]{6}", r[i]):
            sys.exit("amount %s=%r is not exact micro-units with 6 decimals" % (name, r[i]))
    if r[0] != row_type:
        continue
    print("\t".join(str(int(r[i].replace(".", ""))) if head[i] in money else r[i] for i in idx))
EOF
csv2tsv() {
  "$PY" "$work/csv2tsv.py" "$@" || fail "CSV $1 does not parse as expected"
}

# same WHAT GOT WANT: the two files hold the same lines, in any order.
same() {
  LC_ALL=C sort "$2" >"$2.s"
  LC_ALL=C sort "$3" >"$3.s"
  diff "$3.s" "$2.s" >"$work/diff.out" || fail "$1 differ (< want, > got): $(head -10 "$work/diff.out")"
  [ -s "$3.s" ] || fail "$1: nothing to compare"
}

# ------------------------------------------------------------------------ the log
pg_start
"$AJ_BIN" audit migrate --db "dbname=ajuste_test" >/dev/null </dev/null || fail "migrate failed"
q ajuste_test "CREATE ROLE sink LOGIN IN ROLE ajuste_writer; CREATE ROLE ana LOGIN IN ROLE ajuste_auditor" >/dev/null

start_broker
run_pipeline rep 11 20000
timeout 300 "$AJ_BIN" audit sink --bootstrap-servers "$boot" --topic rep.corrections --invoice-topic "" \
  --review-topic "" --db "dbname=ajuste_test user=sink" --until-end --batch-rows 300 >"$work/sink.out" 2>&1 {mb_in}>&- {mb_out}<&- || fail "sink failed: $(cat "$work/sink.out")"
# The invoices of the same run (issued and held), one line per invoice: "invoice HEX-of-the-message".
timeout 300 "$AJ_OUTDUMP" --bootstrap-servers "$boot" --topic invoice=rep.invoices --topic review=rep.review \
  --out "$work/invoices.txt" --summary "$work/invoices.sum" 2>"$work/dump.err" {mb_in}>&- {mb_out}<&- ||
  fail "aj_outdump failed: $(cat "$work/dump.err")"
n=$(q ajuste_test "SELECT count(*) FROM corrections WHERE cycle_id = '$cycle'")
[ "$n" -ge 500 ] || fail "only $n corrections in cycle $cycle; want at least 500"
echo "-- $n corrections of cycle $cycle in the log; $(wc -l <"$work/invoices.txt") invoices on the topic"

# The invoices' own account of their corrections (schema invoice.v2, corrections_summary),
# decoded by Python's avro from the messages (Avro single-object encoding: C3 01, 8-byte
# fingerprint, datum): per reason "cycle reason currency count delta applied", per account.
cat >"$work/invoices.py" <<'EOF'
import collections, io, sys
import avro.io, avro.schema
schema = avro.schema.parse(open(sys.argv[1]).read())
by_reason = collections.defaultdict(lambda: [0, 0, 0])
by_account = collections.defaultdict(lambda: [0, 0, 0])
for line in open(sys.argv[2]):
    kind, _id, hexv = line.split()
    b = bytes.fromhex(hexv)
    assert b[:2] == b"\xc3\x01", "not single-object encoded"
    inv = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(b[10:])))
    for s in inv["corrections_summary"]:
        for acc in (by_reason[(inv["cycle_id"], s["reason"], inv["currency"])],
                    by_account[(inv["cycle_id"], inv["account"], inv["currency"])]):
            acc[0] += s["count"]; acc[1] += s["delta"]; acc[2] += s["applied"]
with open(sys.argv[3], "w") as f:
    for k, v in sorted(by_reason.items()):
        f.write("\t".join(map(str, k + tuple(v))) + "\n")
with open(sys.argv[4], "w") as f:
    for k, v in sorted(by_account.items()):
        f.write("\t".join(map(str, k + tuple(v))) + "\n")
EOF
"$PY" "$work/invoices.py" "$src/schemas/invoice.v2.avsc" "$work/invoices.txt" "$work/inv.reason" "$work/inv.account" ||
  fail "decoding the invoices failed"

# ------------------------------------------------------------------------ summary
# The per-currency totals as SQL computes them here, in the summary's column order.
sql_totals="SELECT currency, count(*), sum(CASE WHEN disposition = 'APPLY' THEN 1 ELSE 0 END),
              sum(CASE WHEN disposition = 'FLAG' THEN 1 ELSE 0 END), sum(CASE WHEN disposition = 'HOLD' THEN 1 ELSE 0 END),
              sum(least(delta, 0)), sum(greatest(delta, 0)), sum(corrected_amount) - sum(legacy_amount),
              sum(CASE WHEN disposition = 'APPLY' THEN delta ELSE 0 END)
            FROM corrections WHERE cycle_id = '$cycle' GROUP BY currency"
q ajuste_test "$sql_totals" >"$work/want.totals"
totcols=currency,corrections,applied,flagged,held,overcharges,undercharges,net,applied_net
declare -A keysql=([reason]="reason" [tariff-code]="legacy_tariff_code" [service]="service"
  [zone]="rule_trace->>'zone'")
declare -A keycol=([reason]="reason" [tariff-code]="legacy_tariff_code" [service]="service" [zone]="zone")
for by in reason tariff-code service zone; do
  aud ajuste_test export summary --cycle "$cycle" --by "$by" >"$work/sum.$by.csv" 2>"$work/err" ||
    fail "export summary --by $by exited $?: $(cat "$work/err")"
  csv2tsv "$work/sum.$by.csv" total "$totcols" >"$work/got.totals"
  same "summary --by $by: the total rows and the log's sums" "$work/got.totals" "$work/want.totals"
  q ajuste_test "SELECT coalesce(nullif(${keysql[$by]}, ''), '(none)'), currency, count(*), sum(least(delta, 0)),
                   sum(greatest(delta, 0)), sum(delta) FROM corrections WHERE cycle_id = '$cycle' GROUP BY 1, 2" \
    >"$work/want.rows"
  csv2tsv "$work/sum.$by.csv" row "${keycol[$by]},currency,corrections,overcharges,undercharges,net" >"$work/got.rows"
  same "summary --by $by: the rows and the log's groups" "$work/got.rows" "$work/want.rows"
  echo "   summary --by $by: $(wc -l <"$work/got.rows") groups; rows and totals equal the log's sums"
done

# The invoices: per reason, count, delta and applied as the invoices carry them.
awk -F'\t' -v c="$cycle" '$1 == c { print $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 }' "$work/inv.reason" >"$work/want.inv"
csv2tsv "$work/sum.reason.csv" row reason,currency,corrections,net,applied_net >"$work/got.inv"
same "summary --by reason and the invoices' corrections summaries" "$work/got.inv" "$work/want.inv"
"$PY" -c 'import sys, collections
t = collections.defaultdict(lambda: [0, 0, 0])
for line in open(sys.argv[1]):
    _reason, cur, *v = line.rstrip("\n").split("\t")
    t[cur] = [a + int(b) for a, b in zip(t[cur], v)]
for cur, v in t.items():
    print("\t".join([cur] + [str(x) for x in v]))' "$work/want.inv" >"$work/want.invtot"
csv2tsv "$work/sum.reason.csv" total currency,corrections,net,applied_net >"$work/got.invtot"
same "summary's totals and the invoices' totals" "$work/got.invtot" "$work/want.invtot"
echo "   summary --by reason: every reason's count, delta and applied delta equal the invoices'"

# Text: the same totals, rounded half up to 2 decimals (BRL), with separators.
aud ajuste_test summary --cycle "$cycle" >"$work/sum.txt" || fail "summary (text) exited $?"
IFS=$'\t' read -r cur cnt _ _ _ over under net _ <"$work/want.totals"
fmt() { # fmt MICRO DECIMALS: the amount rounded half up, grouped (what a person reads)
  "$PY" -c 'import sys; from decimal import Decimal, ROUND_HALF_UP
m, d = int(sys.argv[1]), int(sys.argv[2]); q = Decimal(1).scaleb(-d)
print("{:,}".format((Decimal(m) / 1000000).quantize(q, rounding=ROUND_HALF_UP)))' "$1" "$2"
}
total_line=$(grep -E '^  Total +BRL ' "$work/sum.txt") || fail "no total row in the text summary: $(cat "$work/sum.txt")"
want_line=$(printf '%s %s %s' "$(fmt "$over" 2)" "$(fmt "$under" 2)" "$(fmt "$net" 2)")
echo "$total_line" | tr -s ' ' | grep -qF " $("$PY" -c "print('{:,}'.format($cnt))") " ||
  fail "text total row '$total_line' does not count $cnt corrections"
echo "$total_line" | tr -s ' ' | grep -qF -e "$want_line" ||
  fail "text total row '$total_line' does not show overcharges, undercharges and net $want_line"
echo "   text summary: $total_line"

# ------------------------------------------------------------------------ rootcause
aud ajuste_test export rootcause --cycle "$cycle" >"$work/rc.csv" 2>"$work/err" ||
  fail "export rootcause exited $?: $(cat "$work/err")"
csv2tsv "$work/rc.csv" total currency,corrections,overcharges,undercharges,net >"$work/got.rctot"
cut -f1,2,6,7,8 "$work/want.totals" >"$work/want.rctot"
same "rootcause's totals and the log's sums" "$work/got.rctot" "$work/want.rctot"
q ajuste_test "SELECT coalesce(nullif(legacy_tariff_code, ''), '(none)'), reason, currency, count(*), sum(least(delta, 0)),
                 sum(greatest(delta, 0)), sum(delta) FROM corrections WHERE cycle_id = '$cycle' GROUP BY 1, 2, 3" \
  >"$work/want.rc"
csv2tsv "$work/rc.csv" row legacy_tariff_code,reason,currency,corrections,overcharges,undercharges,net >"$work/got.rc"
same "rootcause's groups and the log's" "$work/got.rc" "$work/want.rc"
# Ranked 1, 2, 3... by overcharges plus undercharges (absolute), each with its sentence.
csv2tsv "$work/rc.csv" row rank,overcharges,undercharges,legacy_tariff_code,corrections,hypothesis >"$work/got.rank"
awk -F'\t' 'BEGIN { prev = -1 }
  { g = $3 - $2; if ($1 != NR) { print "rank " $1 " on row " NR; exit 1 }
    if (prev >= 0 && g > prev) { print "row " NR " (" g ") ranked after a smaller one (" prev ")"; exit 1 }
    prev = g
    want = ($4 == "(none)" ? "charges the legacy chain made without a tariff code" : "tariff code " $4)
    if (index($6, want) != 1) { print "row " NR ": hypothesis does not start with " want ": " $6; exit 1 }
    if ($6 !~ /: [0-9,]+ records?, /) { print "row " NR ": hypothesis without its record count: " $6; exit 1 } }' \
  "$work/got.rank" >"$work/rank.err" || fail "rootcause ranking: $(cat "$work/rank.err")"
# A price hypothesis, recomputed here: the average legacy and contract price per rate unit.
priced=$(awk -F'\t' '$6 ~ /charges on average/ { print; exit }' "$work/got.rank")
[ -n "$priced" ] || fail "no rootcause hypothesis names prices: $(head -3 "$work/got.rank")"
code=$(echo "$priced" | cut -f4)
reason=$(awk -F'\t' -v c="$code" '$1 == c { print $2; exit }' "$work/got.rc")
prices=$(q ajuste_test "SELECT trim_scale(round(sum(legacy_amount) * min((rule_trace->>'rate_unit')::numeric)
                          / sum((rule_trace->>'billed_quantity')::numeric) / 1000000, 4)),
                        trim_scale(round(sum(corrected_amount) * min((rule_trace->>'rate_unit')::numeric)
                          / sum((rule_trace->>'billed_quantity')::numeric) / 1000000, 4))
                        FROM corrections WHERE cycle_id = '$cycle' AND legacy_tariff_code = '$code' AND reason = '$reason'")
lp=${prices%%$'\t'*}
cp=${prices##*$'\t'}
twodec() { case $1 in *.?) echo "${1}0" ;; *.*) echo "$1" ;; *) echo "$1.00" ;; esac; }
sentence=$(echo "$priced" | cut -f6)
echo "$sentence" | grep -qF "on average $(twodec "$lp")/" || fail "the average legacy price is $lp: $sentence"
echo "$sentence" | grep -qF " $(twodec "$cp")/" || fail "the average contract price is $cp: $sentence"
echo "   rootcause: $(wc -l <"$work/got.rc") groups, ranked; totals equal the log's; e.g. $sentence"

# ------------------------------------------------------------------------ show
# The account with the most corrections, and one with a single one.
IFS=$'\t' read -r acc_many _ < <(q ajuste_test "SELECT account, count(*) FROM corrections WHERE cycle_id = '$cycle'
                                            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")
IFS=$'\t' read -r acc_one _ < <(q ajuste_test "SELECT account, count(*) FROM corrections WHERE cycle_id = '$cycle'
                                           GROUP BY 1 ORDER BY 2, 1 LIMIT 1")
for acc in "$acc_many" "$acc_one"; do
  aud ajuste_test export show --account "$acc" --cycle "$cycle" >"$work/show.csv" 2>"$work/err" ||
    fail "export show $acc exited $?: $(cat "$work/err")"
  q ajuste_test "SELECT correction_id, invoice_id, reason, disposition, legacy_amount, corrected_amount, delta,
                   contract_id, contract_version, legacy_tariff_code, source_origin, source_partition, source_offset
                 FROM corrections WHERE account = '$acc' AND cycle_id = '$cycle'" >"$work/want.show"
  csv2tsv "$work/show.csv" row correction_id,invoice_id,reason,disposition,legacy_amount,corrected_amount,delta,contract_id,contract_version,legacy_tariff_code,source_origin,source_partition,source_offset \
    >"$work/got.show"
  same "show $acc: its rows and the log's for the account and cycle" "$work/got.show" "$work/want.show"
  q ajuste_test "SELECT currency, sum(legacy_amount), sum(corrected_amount), sum(delta) FROM corrections
                 WHERE account = '$acc' AND cycle_id = '$cycle' GROUP BY 1" >"$work/want.showtot"
  csv2tsv "$work/show.csv" total currency,legacy_amount,corrected_amount,delta >"$work/got.showtot"
  same "show $acc: its totals and the log's" "$work/got.showtot" "$work/want.showtot"
  # ... and its invoice's corrections summary: count and delta.
  awk -F'\t' -v c="$cycle" -v a="$acc" '$1 == c && $2 == a { print $3 "\t" $5 }' "$work/inv.account" >"$work/want.showinv"
  cut -f1,4 "$work/got.showtot" >"$work/got.showinv"
  same "show $acc: its total delta and its invoice's" "$work/got.showinv" "$work/want.showinv"
  aud ajuste_test show --account "$acc" --cycle "$cycle" >"$work/show.txt" || fail "show $acc (text) exited $?"
  for id in $(cut -f1 "$work/want.show"); do
    [ "$(grep -cF " $id " "$work/show.txt")" -eq 1 ] || fail "show $acc (text) does not list $id exactly once"
  done
  echo "   show $acc: $(wc -l <"$work/want.show") corrections, exactly the log's, totals equal the invoice's"
done
grep -qE "^      record [^ ]+ \([A-Z_]+(, [A-Z]+)?(, late)?\); contract [^ ]+ version [0-9]+; legacy tariff code [^;]+; from [^ ]+ partition -?[0-9]+ offset [0-9]+$" \
  "$work/show.txt" || fail "show's text names no record, contract and source: $(head -12 "$work/show.txt")"

# ------------------------------------------------------------------------ HTML
# The by-day chart: the owner moves the first batch of each chain three days back; that day's
# bar must count exactly the rows those batches inserted.
q ajuste_test "SET ROLE ajuste_owner; UPDATE sink_offsets s SET committed_at = committed_at - interval '3 days'
               WHERE from_offset = (SELECT min(from_offset) FROM sink_offsets t
                                    WHERE t.input_topic = s.input_topic AND t.input_partition = s.input_partition)" >/dev/null
IFS=$'\t' read -r moved_day moved_n < <(q ajuste_test "WITH d AS (SELECT to_char(committed_at AT TIME ZONE 'UTC',
                                                      'YYYY-MM-DD') AS day, rows_inserted FROM sink_offsets)
                                                    SELECT day, sum(rows_inserted) FROM d
                                                    WHERE day = (SELECT min(day) FROM d) GROUP BY day")
[ "$moved_n" -gt 0 ] && [ "$moved_n" -lt "$n" ] || fail "moving the first batches moved $moved_n of $n rows"

browser() {
  timeout 120 chromium --headless=new --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
    --user-data-dir="$work/profile" "$@"
}
for report in "summary --cycle $cycle --by reason" "rootcause --cycle $cycle" "show --account $acc_many --cycle $cycle"; do
  name=${report%% *}
  # shellcheck disable=SC2086  # the report's words
  out=$(aud ajuste_test export $report --html "$work/$name.html") || fail "export $report --html exited $?"
  [ "$out" = "$work/$name.html" ] || fail "export $name --html printed '$out', want the page's path"
  if grep -Eiq '<script|<link|<iframe|<img|src=|url\(|@import|https?:' "$work/$name.html"; then
    fail "the $name page loads or runs something: $(grep -Eio '<script|<link|<iframe|<img|src=|url\(|@import|https?:' "$work/$name.html" | head -3)"
  fi
  browser --enable-logging=stderr --v=0 --dump-dom "file://$work/$name.html" >"$work/$name.dom" 2>"$work/$name.log" ||
    fail "chromium failed on the $name page: $(tail -5 "$work/$name.log")"
  msgs=$(grep -E ':CONSOLE[(:]' "$work/$name.log" || true)
  [ -z "$msgs" ] || fail "console messages while loading the $name page: $msgs"
  [ "$(grep -c '<svg' "$work/$name.dom")" -eq 2 ] || fail "the $name page has not 2 charts"
done
# cell DOM ID: the text of the element with that id in the rendered DOM.
cell() {
  grep -o "id=\"$2\"[^>]*>[^<]*<" "$1" | sed 's/.*>\(.*\)</\1/'
}
IFS=$'\t' read -r cur cnt _ _ _ over under net applied <"$work/want.totals"
for key in corrections overcharges undercharges net applied_net; do
  case $key in
    corrections) want=$("$PY" -c "print('{:,}'.format($cnt))") ;;
    overcharges) want=$(fmt "$over" 2) ;;
    undercharges) want=$(fmt "$under" 2) ;;
    net) want=$(fmt "$net" 2) ;;
    applied_net) want=$(fmt "$applied" 2) ;;
  esac
  got=$(cell "$work/summary.dom" "total-$cur-$key")
  [ "$got" = "$want" ] || fail "the summary page's total $key is '$got', want $want"
  [ "$key" = applied_net ] && continue
  got=$(cell "$work/rootcause.dom" "total-$cur-$key")
  [ "$got" = "$want" ] || fail "the rootcause page's total $key is '$got', want $want"
done
got=$(cell "$work/show.dom" "total-$cur-delta")
want=$(fmt "$(q ajuste_test "SELECT sum(delta) FROM corrections WHERE account = '$acc_many' AND cycle_id = '$cycle'")" 2)
[ "$got" = "$want" ] || fail "the show page's total delta is '$got', want $want"
# The charts: a bar per reason with its count; every row on one day, the moved ones on theirs.
# bars DOM FIGURE_ID: "label<TAB>count" of each bar of that chart (from the bars' <title>s).
bars() {
  "$PY" - "$1" "$2" <<'EOF' || fail "cannot read the chart $2 of $1"
import re, sys
dom = open(sys.argv[1]).read()
fig = re.search(r'<figure id="%s">(.*?)</figure>' % sys.argv[2], dom, re.S).group(1)
for label, count in re.findall(r'<title>([^<:]+): ([0-9,]+) corrections', fig):
    print("%s\t%s" % (label, count.replace(",", "")))
EOF
}
q ajuste_test "SELECT reason, count(*) FROM corrections WHERE cycle_id = '$cycle' GROUP BY 1" >"$work/want.bars"
bars "$work/summary.dom" chart-reason >"$work/got.bars"
same "the reason chart's bars and the log's counts" "$work/got.bars" "$work/want.bars"
bars "$work/summary.dom" chart-day >"$work/got.days"
today=$(q ajuste_test "SELECT to_char(max(committed_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM sink_offsets")
printf '%s\t%s\n%s\t%s\n' "$moved_day" "$moved_n" "$today" "$((n - moved_n))" >"$work/want.days"
same "the day chart's bars (every row on exactly one day)" "$work/got.days" "$work/want.days"
echo "   HTML: 3 pages render without a console message; totals, $(wc -l <"$work/want.bars") reason bars and the" \
  "$moved_day bar ($moved_n rows) as in the log"

# ------------------------------------------------------------------------ errors, roles, help
set +e
aud ajuste_test summary --cycle 2099-01 >"$work/out" 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "an unknown cycle exited $rc, want 1"
grep -q "no rows for cycle 2099-01" "$work/err" && grep -q "$cycle" "$work/err" ||
  fail "an unknown cycle's message does not list the cycles: $(cat "$work/err")"
set +e
aud ajuste_test show --account NOBODY --cycle "$cycle" >"$work/out" 2>"$work/err"
rc=$?
"$AJ_BIN" audit summary --cycle "$cycle" --db "dbname=ajuste_test user=sink" >"$work/out" 2>"$work/err2" </dev/null
rc2=$?
set -e
[ "$rc" -eq 1 ] && grep -q "no corrections for account NOBODY in cycle $cycle" "$work/err" ||
  fail "an unknown account: exit $rc, $(cat "$work/err")"
[ "$rc2" -eq 1 ] && grep -q "42501" "$work/err2" || fail "the writer read a report: exit $rc2, $(cat "$work/err2")"
for sub in show summary rootcause export; do
  "$AJ_BIN" audit "$sub" --help >"$work/help" || fail "audit $sub --help exited $?"
  grep -q "^Usage: ajuste audit $sub" "$work/help" || fail "audit $sub --help: $(head -2 "$work/help")"
done
for bad in "summary --cycle $cycle --by color" "summary" "show --cycle $cycle" "rootcause --cycle $cycle --account A" \
  "summary --cycle $cycle --format xml" "summary --cycle $cycle --format csv --html x.html" "export nothing"; do
  set +e
  # shellcheck disable=SC2086
  "$AJ_BIN" audit $bad >/dev/null 2>"$work/err" </dev/null
  rc=$?
  set -e
  [ "$rc" -eq 2 ] && [ -s "$work/err" ] || fail "'audit $bad' exited $rc, want 2 with a message"
done
echo "   unknown cycle and account (exit 1, cycles listed), the writer refused (42501), --help, bad usage (exit 2)"

# ------------------------------------------------------------------------ currencies and cycles
# A log of two currencies and two cycles: the sink's rows, some moved to JPY (0 decimals) and
# some to cycle 2026-09, inserted by the superuser into another database.
q ajuste_test "CREATE DATABASE mixed" >/dev/null
"$AJ_BIN" audit migrate --db "dbname=mixed" >/dev/null </dev/null || fail "migrate mixed failed"
q mixed "CREATE TABLE staging (LIKE corrections)" >/dev/null
psql -X -q -d ajuste_test -c "COPY corrections TO STDOUT" </dev/null | psql -X -q -d mixed -c "COPY staging FROM STDIN" ||
  fail "copying the log failed"
q mixed "INSERT INTO corrections SELECT correction_id, account,
           CASE WHEN account ~ '[05]\$' THEN '2026-09' ELSE cycle_id END, record_id, record_kind, service, reason,
           hypothesis, legacy_amount, corrected_amount, delta,
           CASE WHEN account ~ '[13579]\$' THEN 'JPY' ELSE currency END, contract_id, contract_version,
           legacy_tariff_code, rule_trace, disposition, invoice_id, invoice_line, late, source_origin, source_partition,
           source_offset, pipeline_version, chain, chain_seq, prev_hash, row_hash FROM staging; DROP TABLE staging" >/dev/null
[ "$(q mixed "SELECT count(DISTINCT currency) || ' ' || count(DISTINCT cycle_id) FROM corrections")" = "2 2" ] ||
  fail "the mixed log has not 2 currencies and 2 cycles"
for c in 2026-09 2026-10; do
  q mixed "${sql_totals//$cycle/$c}" >"$work/want.mixed"
  for by in reason zone; do
    aud mixed export summary --cycle "$c" --by "$by" >"$work/mixed.csv" || fail "mixed summary $c --by $by exited $?"
    csv2tsv "$work/mixed.csv" total "$totcols" >"$work/got.mixed"
    same "mixed log, cycle $c --by $by: one total per currency" "$work/got.mixed" "$work/want.mixed"
  done
  aud mixed export rootcause --cycle "$c" >"$work/mixed.csv" || fail "mixed rootcause $c exited $?"
  csv2tsv "$work/mixed.csv" total currency,corrections,overcharges,undercharges,net >"$work/got.mixed"
  cut -f1,2,6,7,8 "$work/want.mixed" >"$work/want.mixedrc"
  same "mixed log, cycle $c rootcause: one total per currency" "$work/got.mixed" "$work/want.mixedrc"
done
# The currency's decimals come from the log's invoice headers when it has them (a contract that
# bills BRL at 3), else from ISO 4217 (JPY 0).
q mixed "INSERT INTO invoice_headers (invoice_id, status, account, cycle_id, revision, status_reason, period_start,
           period_end, issue_date, due_date, currency, currency_decimals, contract_id, contract_versions, line_count,
           correction_count, legacy_total, corrected_total, adjustment_total, overcharge_removed, undercharge_added,
           flagged_overcharge, flagged_undercharge, tax_total, credit_total, amount_due, pipeline_version, chain,
           chain_seq, prev_hash, row_hash)
         VALUES ('INV-X-2026-10-r1', 'ISSUED', 'X', '2026-10', 1, '', '2026-10-01', '2026-11-01', '2026-11-01',
           '2026-11-30', 'BRL', 3, 'CT-X', '{1}', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'test', 'x:0', 1,
           decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'))" >/dev/null
aud mixed summary --cycle 2026-10 >"$work/mixed.txt" || fail "mixed summary (text) exited $?"
IFS=$'\t' read -r _ _ _ _ _ bover _ _ _ < <(grep '^BRL' "$work/want.mixed")
grep -E '^  Total +BRL ' "$work/mixed.txt" | tr -s ' ' | grep -qF -e " $(fmt "$bover" 3) " ||
  fail "the BRL total is not shown at the invoice headers' 3 decimals ($(fmt "$bover" 3)): $(grep -E 'Total +BRL' "$work/mixed.txt")"
IFS=$'\t' read -r _ _ _ _ _ jover _ jnet _ < <(grep '^JPY' "$work/want.mixed")
grep -E '^  Total +JPY ' "$work/mixed.txt" | tr -s ' ' | grep -qF -e "$(fmt "$jover" 0) " ||
  fail "the JPY total is not shown at 0 decimals ($(fmt "$jover" 0)): $(grep -E 'Total +JPY' "$work/mixed.txt")"
[ "$(grep -cE '^  Total +(BRL|JPY) ' "$work/mixed.txt")" -eq 2 ] || fail "want one text total per currency"
if grep -E '^  [A-Z_]+ +JPY ' "$work/mixed.txt" | grep -qE '[0-9]\.[0-9]'; then
  fail "a JPY amount with decimals: $(grep -E '^  [A-Z_]+ +JPY ' "$work/mixed.txt" | head -2)"
fi
set +e
aud mixed rootcause --cycle 2026-08 >/dev/null 2>"$work/err"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "2026-09 (.*), 2026-10 (" "$work/err" || fail "unknown cycle in the mixed log: $(cat "$work/err")"
echo "   two currencies, two cycles: one total per currency, JPY at 0 decimals (net $(fmt "$jnet" 0) JPY), BRL at" \
  "the 3 of its invoice headers"

echo "test_audit_reports: ok"
