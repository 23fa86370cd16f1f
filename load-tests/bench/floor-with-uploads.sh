#!/usr/bin/env bash
# The floor preset against a fresh release server, alone or (with --uploads) while the same
# users upload 12-megapixel photos (smooth JPEGs, as costly to thumbnail as a camera's), 5 a
# second, so that thumbnails are being made for the whole run. RUNS runs; reports under
# load-tests/bench/results/NAME-N/, the server's thumbnail metrics in NAME-N.thumbnails.
#
#   load-tests/bench/floor-with-uploads.sh NAME RUNS [--uploads]
#
# Environment: CONFAB_BIN (default ./target/release/confab), PGURL as for run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 runs=$2 uploads=${3:-}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
bin=${CONFAB_BIN:-./target/release/confab}
results=load-tests/bench/results
mkdir -p "$results"
for run in $(seq 1 "$runs"); do
  db="confab_bench_${name//-/_}_$run"
  psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  export DATABASE_URL="$pgurl/$db"
  "$bin" migrate >/dev/null 2>&1
  seed="$results/$name-$run.seed.json"
  "$bin" seed --users 1000 --group-size 300 --out "$seed" >/dev/null
  store=$(mktemp -d)
  port=18301
  env RUST_LOG=warn CONFAB_BIND="127.0.0.1:$port" CONFAB_STORAGE__DIR="$store" \
    "$bin" >"$results/$name-$run.server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  uploader=
  if [ "$uploads" = --uploads ]; then
    ./target/release/confab-load --url "http://127.0.0.1:$port" --seed "$seed" --uploads \
      --upload-only --upload-megapixels "${UPLOAD_MEGAPIXELS:-12}" --upload-rate "${UPLOAD_RATE:-5}" \
      --upload-concurrency 8 --server-pid "$pid" --out "$results/$name-$run-uploads" \
      >"$results/$name-$run.uploads.txt" 2>&1 &
    uploader=$!
  fi
  status=0
  ./target/release/confab-load --url "http://127.0.0.1:$port" --seed "$seed" --preset floor \
    --server-pid "$pid" --plain --out "$results/$name-$run" >"$results/$name-$run.txt" \
    2>"$results/$name-$run.progress" || status=$?
  echo "exit $status" >>"$results/$name-$run.txt"
  curl -sf "http://127.0.0.1:$port/metrics" | grep '^confab_thumbnail' >"$results/$name-$run.thumbnails" || true
  [ -n "$uploader" ] && { kill "$uploader" 2>/dev/null || true; wait "$uploader" 2>/dev/null || true; }
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$store"
  psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  sed -n '1,12p' "$results/$name-$run.txt"
  grep -h 'thumbnails_total{outcome="made"}\|thumbnail_seconds_count\|thumbnail_seconds_sum' "$results/$name-$run.thumbnails" || true
done
