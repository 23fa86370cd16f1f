#!/usr/bin/env bash
# The floor preset against a fresh release server over the search corpus (a template database
# seeded once by corpus.sh), alone or (with --searches) while one of its users, a member of
# 50 corpus conversations, searches 50 times a second (the four queries of search.sh in turn)
# for the whole run. RUNS runs; reports under load-tests/bench/results/NAME-N/.
#
#   load-tests/bench/floor-with-searches.sh NAME RUNS [--searches]
#
# Environment: CONFAB_BIN (default ./target/release/confab), PGURL as for run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 runs=$2 searches=${3:-}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
bin=${CONFAB_BIN:-./target/release/confab}
results=load-tests/bench/results
mkdir -p "$results"
template=confab_search_template
if ! psql "$pgurl/$template" -qc "SELECT 1" >/dev/null 2>&1; then
  DATABASE_URL="$pgurl/$template" "$bin" migrate >/dev/null 2>&1
  DATABASE_URL="$pgurl/$template" load-tests/bench/corpus.sh >"$results/$template.rare"
fi
rare=$(cat "$results/$template.rare")
for run in $(seq 1 "$runs"); do
  db="confab_bench_${name//-/_}_$run"
  psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  psql "$pgurl/postgres" -qc "CREATE DATABASE $db TEMPLATE $template"
  export DATABASE_URL="$pgurl/$db"
  "$bin" migrate >/dev/null 2>&1
  seed="$results/$name-$run.seed.json"
  "$bin" seed --users 1000 --group-size 300 --out "$seed" >/dev/null
  read -r searcher token < <(python3 -c 'import json,sys; u=json.load(open(sys.argv[1]))["users"][0]; print(u["id"], u["token"])' "$seed")
  psql "$DATABASE_URL" -qc "INSERT INTO conversation_members (conversation_id, user_id)
    SELECT ('00000000-0000-4000-9000-' || lpad(n::text, 12, '0'))::uuid, '$searcher'
    FROM generate_series(1, 50) n"
  # The copy of the template leaves the database's pages dirty: write them out now, not in
  # the middle of the run (a checkpoint's writes stall the commits that sends wait for).
  psql "$DATABASE_URL" -qc "CHECKPOINT"
  port=18302
  env RUST_LOG=warn CONFAB_BIND="127.0.0.1:$port" CONFAB_STORAGE__DIR="$(mktemp -d)" \
    CONFAB_LIMITS__SEARCH_PER_SEC=1000 CONFAB_LIMITS__SEARCH_BURST=1000 \
    "$bin" >"$results/$name-$run.server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  searcher_pid=
  if [ "$searches" = --searches ]; then
    ./target/release/confab-load --url "http://127.0.0.1:$port" --search-token "$token" \
      --search-rate 50 --search-count 700 --search common=the --search "rare=$rare" \
      --search 'phrase="release notes"' --search prefix=deploy --out "$results/$name-$run-search" \
      >"$results/$name-$run.search.txt" 2>&1 &
    searcher_pid=$!
  fi
  status=0
  ./target/release/confab-load --url "http://127.0.0.1:$port" --seed "$seed" --preset floor \
    --server-pid "$pid" --plain --out "$results/$name-$run" >"$results/$name-$run.txt" \
    2>"$results/$name-$run.progress" || status=$?
  echo "exit $status" >>"$results/$name-$run.txt"
  [ -n "$searcher_pid" ] && { wait "$searcher_pid" 2>/dev/null || true; cat "$results/$name-$run.search.txt"; }
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  sed -n '1,12p' "$results/$name-$run.txt"
done
