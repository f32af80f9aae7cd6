#!/usr/bin/env bash
# deps.sh - installs the Debian packages ajuste needs, skipping those already present.
set -euo pipefail

# postgresql: the server the audit log tests start (tests/integration/pg_lib.sh); libpq-dev: the
# client library ajuste links; postgresql-client: psql, which the tests use.
packages=(build-essential cmake pkg-config librdkafka-dev libavro-dev libpq-dev zlib1g-dev
          libcmocka-dev postgresql postgresql-client kcat python3-avro tzdata chromium)

# installed PATTERN: a package matching PATTERN (dpkg-query glob) is installed.
installed() {
  dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${packages[@]}"; do
  case "$p" in
    # A metapackage: a versioned client (postgresql-client-15, which postgresql brings) is as good.
    postgresql-client) installed "$p" || installed "postgresql-client-[0-9]*" || missing+=("$p") ;;
    *) installed "$p" || missing+=("$p") ;;
  esac
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
