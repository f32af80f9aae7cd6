#!/usr/bin/env bash
# test_recall.sh - docs/rating.md "Reasons" on a workload of a million usage records: every error
# class `ajuste gen` injects is found by `ajuste rate` with its reason and amounts, and nothing
# else is corrected (precision and recall 100% per class, checked by `rate --truth`). A second
# check breaks the ground truth on purpose and expects the check to fail.
set -euo pipefail

: "${AJ_BIN:?AJ_BIN must point at the ajuste binary}"
records=${AJ_RECALL_RECORDS:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

echo "-- gen: $records usage records, 5000 accounts"
"$AJ_BIN" gen --out "$work/in" --records "$records" --accounts 5000 --seed 7 >/dev/null

echo "-- rate --truth"
set +e
out=$("$AJ_BIN" rate --in "$work/in" --out "$work/out" --truth "$work/in/ground_truth.csv" 2>/dev/null)
rc=$?
set -e
table=$(sed -n '/^Against/,$p' <<<"$out")
echo "$table"
[ "$rc" -eq 0 ] || fail "rate --truth exited $rc"
grep -q "every correction and dead letter is exactly the injected one" <<<"$out" || fail "ground truth not matched"

# Every reason of the taxonomy was injected and found, each at 100% / 100%.
for reason in DUPLICATE_USAGE USAGE_AFTER_TERMINATION NO_CONTRACT STALE_CONTRACT_VERSION WRONG_ZONE \
              WRONG_TIME_BAND INCREMENT_ROUNDING CONNECT_FEE TIER_NOT_APPLIED ALLOWANCE_NOT_APPLIED \
              PROMOTION_NOT_APPLIED DISCOUNT_NOT_APPLIED MIN_MAX_CHARGE RATE_MISMATCH MRC_INACTIVE_LINE \
              MRC_DUPLICATE MRC_PRORATION MRC_PRICE_MISMATCH MRC_MISSING TAX_MISMATCH OTC_NOT_IN_CONTRACT \
              OTC_PRICE_MISMATCH OTC_DUPLICATE; do
  line=$(grep -E "^  $reason " <<<"$table") || fail "$reason was not injected"
  read -r name found injected precision recall rest <<<"$line"
  [ "$found" -gt 0 ] && [ "$found" -eq "$injected" ] || fail "$reason: found $found, injected $injected"
  [ "$precision" = "100.00%" ] && [ "$recall" = "100.00%" ] || fail "$reason: precision $precision recall $recall"
done

echo "-- a wrong ground truth is caught"
# One expected amount off by a micro-unit: that correction no longer matches.
awk -F, 'BEGIN{OFS=","} NR==2 && $1!="" {$5=$5+1} {print}' "$work/in/ground_truth.csv" >"$work/bad.csv"
set +e
"$AJ_BIN" rate --in "$work/in" --out "$work/out2" --truth "$work/bad.csv" -q >"$work/bad.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "rate --truth with a wrong ground truth exited $rc, want 1"
grep -q "NOT matched" "$work/bad.out" || fail "no 'NOT matched' with a wrong ground truth"
echo "test_recall: ok"
