#!/usr/bin/env bash
# Floods a fresh release server the way an attacker would (tests/js/tools/abuse.mjs) while a
# bystander keeps sending, and keeps the report as load-tests/bench/results/NAME.jsonl.
#
#   load-tests/bench/abuse.sh NAME [scale]
#
# Environment: CONFAB_BIN (default ./target/release/confab), PGURL as for run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 scale=${2:-1}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
bin=${CONFAB_BIN:-./target/release/confab}
results=load-tests/bench/results
mkdir -p "$results"
[ -d tests/js/node_modules ] || (cd tests/js && npm ci --no-audit --no-fund >/dev/null)
db="confab_abuse_${name//-/_}"
psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
export DATABASE_URL="$pgurl/$db"
"$bin" migrate >/dev/null 2>&1
port=18299
env RUST_LOG=warn CONFAB_BIND="127.0.0.1:$port" "$bin" >"$results/$name.server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
status=0
node tests/js/tools/abuse.mjs "http://127.0.0.1:$port" "$pid" "$scale" >"$results/$name.jsonl" || status=$?
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
cat "$results/$name.jsonl"
exit $status
