#!/usr/bin/env bash
# Runs one benchmark scenario RUNS times, each against a fresh release server (or the Node.js
# peer) on a fresh database, and keeps every report under load-tests/bench/results/NAME-N/.
#
#   load-tests/bench/run.sh NAME RUNS [--peer] [--nodes 2] -- [confab-load flags...]
#
# Examples (after `cargo build --release`):
#   load-tests/bench/run.sh floor 3 -- --preset floor
#   load-tests/bench/run.sh floor-node 3 --peer -- --preset floor
#   load-tests/bench/run.sh cluster 3 --nodes 2 -- --preset cluster
#
# Environment: CONFAB_BIN is the server binary (default ./target/release/confab; another build's,
# for before/after comparisons with the same load tool); SERVER_ENV adds variables to the
# server (e.g. raised send limits); PGURL is the
# PostgreSQL server (default postgres://postgres@127.0.0.1:5432); REDIS_URL is used with --nodes.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 runs=$2; shift 2
peer=false nodes=1
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
    --peer) peer=true ;;
    --nodes) nodes=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ "${1:-}" = "--" ] && shift
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
bin=${CONFAB_BIN:-./target/release/confab}
results=load-tests/bench/results
mkdir -p "$results"
if $peer && [ ! -d load-tests/peers/node-socketio/node_modules ]; then
  (cd load-tests/peers/node-socketio && npm ci --no-audit --no-fund >/dev/null)
fi

for run in $(seq 1 "$runs"); do
  db="confab_bench_${name//-/_}_$run"
  psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  export DATABASE_URL="$pgurl/$db"
  "$bin" migrate >/dev/null 2>&1
  pids=() urls=()
  for n in $(seq 1 "$nodes"); do
    port=$((18200 + n))
    if $peer; then
      PORT=$port node load-tests/peers/node-socketio/server.mjs >"$results/$name-$run.node$n.log" 2>&1 &
    else
      env RUST_LOG=warn CONFAB_BIND="127.0.0.1:$port" ${SERVER_ENV:-} \
        ${REDIS_URL:+REDIS_URL=$REDIS_URL} "$bin" >"$results/$name-$run.node$n.log" 2>&1 &
    fi
    pids+=("$!") urls+=(--url "http://127.0.0.1:$port")
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  done
  pid_flags=()
  for pid in "${pids[@]}"; do pid_flags+=(--server-pid "$pid"); done
  status=0
  ./target/release/confab-load "${urls[@]}" "${pid_flags[@]}" --confab "$bin" \
    --plain --out "$results/$name-$run" "$@" >"$results/$name-$run.txt" \
    2>"$results/$name-$run.progress" || status=$?
  echo "exit $status" >>"$results/$name-$run.txt"
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  sed -n '1,12p' "$results/$name-$run.txt"
done
