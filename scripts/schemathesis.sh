#!/usr/bin/env bash
# Fuzzes the HTTP API from its own description: schemathesis (pinned in scripts/requirements.txt)
# runs every check against a real node on a fresh database, with a seeded user's bearer token.
# Usage: scripts/schemathesis.sh [CONFAB_BINARY]   (default target/debug/confab)
# Env: SCHEMATHESIS (the schemathesis command), ST_MAX_EXAMPLES (30), ST_MAX_TIME (seconds, 240).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=${1:-target/debug/confab}
schemathesis=${SCHEMATHESIS:-target/tools/venv/bin/schemathesis}
max_examples=${ST_MAX_EXAMPLES:-30}
max_time=${ST_MAX_TIME:-240}
db="confab_schemathesis_$$"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
work=$(mktemp -d)
server=""

cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The test profile (cheap bcrypt), its uploads in a folder of its own, the default page size
# (the description states it), and rate limits high enough that fuzzing reaches the logic
# behind them rather than 429s; every limit still applies.
CONFAB_ENV=test DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" CONFAB_BIND="127.0.0.1:$port" \
  CONFAB_STORAGE__DIR="$work/uploads" CONFAB_LIMITS__PAGE_MAX=100 \
  CONFAB_AUTH__LOGIN_MAX_FAILURES_PER_PAIR=100000 CONFAB_AUTH__LOGIN_MAX_FAILURES_PER_ADDRESS=100000 CONFAB_AUTH__LOGIN_ACCOUNT_FREE_FAILURES=100000 CONFAB_LIMITS__INVITE_LOOKUPS_PER_MIN=100000 CONFAB_LIMITS__WORKSPACES_PER_DAY=100000 \
  CONFAB_STORAGE__MAX_UNCLAIMED_PER_USER=100000 RUST_LOG=warn \
  "$binary" serve 2>"$work/server.log" &
server=$!
for _ in $(seq 1 100); do
  curl -sf "$base/ready" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -sf "$base/ready" >/dev/null

register() { # register NAME: prints the access token
  curl -sf -X POST "$base/api/auth/register" -H 'content-type: application/json' \
    -d "{\"email\":\"$1@example.com\",\"username\":\"$1\",\"password\":\"correct horse battery\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'
}
token=$(register fuzzer)
register friend >/dev/null

# Every check runs (schemathesis's default: all fourteen); naming them with `--checks all` would
# override the per-operation exceptions of the settings file.
status=0
"$schemathesis" --config-file scripts/schemathesis.toml run "$base/api/openapi.json" \
  -H "Authorization: Bearer $token" \
  --max-examples "$max_examples" --max-time "$max_time" --workers 1 \
  --phases examples,coverage,fuzzing,stateful \
  --request-timeout 10 --seed 1 \
  --report junit --report-dir "$work/report" || status=$?
if grep -v '"target":"actix_http' "$work/server.log" | grep -q '"level":"ERROR"\|panicked'; then
  echo "the node logged errors while being fuzzed:" >&2
  grep '"level":"ERROR"\|panicked' "$work/server.log" | head -20 >&2
  status=1
fi
exit "$status"
