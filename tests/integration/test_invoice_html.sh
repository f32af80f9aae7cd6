#!/usr/bin/env bash
# test_invoice_html.sh - `ajuste invoice show --html` writes a page a real browser renders: headless
# Chromium loads it without a console message, and its DOM shows the amount due the text statement
# prints. Usage: test_invoice_html.sh [path/to/ajuste]   (default: $AJ_BIN)
set -euo pipefail

AJ_BIN=${1:-${AJ_BIN:-}}
[ -n "$AJ_BIN" ] || { echo "usage: $0 path/to/ajuste (or set AJ_BIN)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

command -v chromium >/dev/null ||
  fail "chromium is not installed; this test needs a real browser: apt-get install chromium"

# browser ARGS... URL: headless Chromium with its own profile (running as root needs --no-sandbox).
browser() {
  timeout 120 chromium --headless=new --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
    --user-data-dir="$work/profile" "$@"
}

# console_messages FILE: the page's console messages in Chromium's log (each "...:CONSOLE...").
console_messages() {
  grep -E ':CONSOLE[(:]' "$1" || true
}

echo "-- the console check sees console messages at all (a page that logs one)"
cat >"$work/noisy.html" <<'EOF'
<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>noisy</title></head>
<body><script>console.error("aj-console-probe");</script></body></html>
EOF
browser --enable-logging=stderr --v=0 --dump-dom "file://$work/noisy.html" >/dev/null 2>"$work/noisy.log" ||
  fail "chromium could not load a page: $(tail -5 "$work/noisy.log")"
console_messages "$work/noisy.log" | grep -q "aj-console-probe" ||
  fail "chromium's log (--enable-logging=stderr --v=0) shows no console message; the check below would be blind"

echo "-- gen and rate a small workload"
"$AJ_BIN" gen --out "$work/in" --records 20000 --accounts 50 --seed 7 >/dev/null
"$AJ_BIN" rate --in "$work/in" --out "$work/out" -q >/dev/null
[ -s "$work/out/invoices.avro" ] || fail "rate wrote no invoices.avro"

echo "-- the text statement of the first invoice"
"$AJ_BIN" invoice show --file "$work/out/invoices.avro" >"$work/invoice.txt" || fail "invoice show exited $?"
id=$(sed -n 's/^INVOICE //p' "$work/invoice.txt" | head -1)
[ -n "$id" ] || fail "the text statement names no invoice: $(head -5 "$work/invoice.txt")"
due_line=$(grep -E '^ +AMOUNT DUE \([A-Z]{3}\) +-?[0-9,]+(\.[0-9]+)?$' "$work/invoice.txt") ||
  fail "no AMOUNT DUE line in the text statement: $(cat "$work/invoice.txt")"
due=${due_line##* }
echo "   $id: amount due $due"

echo "-- the HTML page"
out=$("$AJ_BIN" invoice show --file "$work/out/invoices.avro" --html "$work/page.html") || fail "invoice show --html exited $?"
[ "$out" = "$work/page.html" ] || fail "invoice show --html printed '$out', want the page's path"
[ -s "$work/page.html" ] || fail "no page written"
# Standalone: nothing loaded from elsewhere, nothing run.
if grep -Eiq '<script|<link|<iframe|<img|src=|url\(|@import|https?:' "$work/page.html"; then
  fail "the page loads or runs something: $(grep -Eio '<script|<link|<iframe|<img|src=|url\(|@import|https?:' "$work/page.html" | head -3)"
fi

echo "-- rendered by chromium"
browser --enable-logging=stderr --v=0 --dump-dom "file://$work/page.html" >"$work/dom.html" 2>"$work/chromium.log" ||
  fail "chromium failed on the page: $(tail -5 "$work/chromium.log")"
msgs=$(console_messages "$work/chromium.log")
[ -z "$msgs" ] || fail "console messages while loading the page:
$msgs"
grep -q "<title>Invoice $id</title>" "$work/dom.html" || fail "the rendered page's title is not 'Invoice $id'"
# cell ID: the text of the element with that id in the rendered DOM.
cell() {
  grep -o "id=\"$1\"[^>]*>[^<]*<" "$work/dom.html" | sed 's/.*>\(.*\)</\1/'
}
for id_ in amount-due corrected-total legacy-total; do
  [ "$(cell "$id_" | wc -l)" -eq 1 ] || fail "the rendered page has not exactly one #$id_"
done
[ "$(cell amount-due)" = "$due" ] || fail "the page shows amount due '$(cell amount-due)', the text statement '$due'"
[ "$(cell corrected-total)" = "$due" ] || fail "corrected total '$(cell corrected-total)' is not the amount due '$due'"
legacy=$(grep -E '^ +Original total +' "$work/invoice.txt" | awk '{print $NF}')
[ "$(cell legacy-total)" = "$legacy" ] || fail "the page's original total '$(cell legacy-total)' differs from the text's '$legacy'"

echo "-- printable"
browser --no-pdf-header-footer --print-to-pdf="$work/page.pdf" "file://$work/page.html" >/dev/null 2>&1 ||
  fail "chromium could not print the page"
[ "$(head -c 5 "$work/page.pdf")" = "%PDF-" ] || fail "printing the page gave no PDF"

echo "test_invoice_html: ok"
