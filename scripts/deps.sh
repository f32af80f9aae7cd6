#!/usr/bin/env bash
# deps.sh - installs the Debian packages ajuste needs, skipping those already present.
set -euo pipefail

packages=(build-essential cmake pkg-config librdkafka-dev libavro-dev libpq-dev zlib1g-dev
          libcmocka-dev postgresql kcat python3-avro tzdata chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "ajuste: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq </dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
