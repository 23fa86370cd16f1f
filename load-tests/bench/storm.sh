#!/usr/bin/env bash
# The reaction storm (tests/js/tools/reaction-storm.mjs) against a fresh release server: all
# 300 members of one group react to one message within a second; RUNS runs, each report kept
# as load-tests/bench/results/NAME-N.json.
#
#   load-tests/bench/storm.sh NAME [RUNS]
#
# Environment: CONFAB_BIN (default ./target/release/confab), PGURL as for run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 runs=${2:-1}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
bin=${CONFAB_BIN:-./target/release/confab}
results=load-tests/bench/results
mkdir -p "$results"
[ -d tests/js/node_modules ] || (cd tests/js && npm ci --no-audit --no-fund >/dev/null)
status=0
for run in $(seq 1 "$runs"); do
  db="confab_storm_${name//-/_}_$run"
  psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  export DATABASE_URL="$pgurl/$db"
  "$bin" migrate >/dev/null 2>&1
  seed="$results/$name-$run.seed.json"
  "$bin" seed --users 300 --group-size 300 --out "$seed" >/dev/null
  port=18298
  # The 300 members connect at once from one address: past the default handshake burst.
  env RUST_LOG=warn CONFAB_BIND="127.0.0.1:$port" CONFAB_ENGINE__HANDSHAKE_BURST_PER_ADDRESS=1000 \
    "$bin" >"$results/$name-$run.server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  node tests/js/tools/reaction-storm.mjs "http://127.0.0.1:$port" "$seed" "${STORM_WINDOW_MS:-1000}" | tail -n 1 \
    >"$results/$name-$run.json" || status=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  cat "$results/$name-$run.json"
done
exit $status
