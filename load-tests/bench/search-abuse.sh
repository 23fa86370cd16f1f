#!/usr/bin/env bash
# Searches as an attacker would: 200,000 messages in one group whose words all begin with "m",
# five of its members each asking broad prefixes at the allowed 10 searches a second (open
# loop, up to 10 in flight each), while a sixth member searches a rare word 5 times a second;
# prints the sixth's latency percentiles and what the five were answered. RUNS runs of SECS s
# against a fresh server.
#
#   load-tests/bench/search-abuse.sh NAME [RUNS] [SECS] [QUERIES]
#
# QUERIES is the attackers' comma-separated list (default `me,ma,maintenance`; a build before
# the two-character rule can be given `m,me,ma`). Environment: CONFAB_BIN (default
# ./target/release/confab), PGURL as for run.sh. Needs python3 with `requests`.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 runs=${2:-1} secs=${3:-60} queries=${4:-me,ma,maintenance}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
bin=$(realpath "${CONFAB_BIN:-./target/release/confab}")
results=$(realpath -m load-tests/bench/results)
mkdir -p "$results"
db="confab_search_abuse_${name//-/_}"
psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
psql "$pgurl/postgres" -qc "CREATE DATABASE $db"
export DATABASE_URL="$pgurl/$db"
# The node runs outside the checkout: it reads ./config, which may be another build's.
confab() { (cd /tmp && exec "$bin" "$@"); }
confab migrate >/dev/null 2>&1
seed="$results/$name.seed.json"
confab seed --users 6 --group-size 6 --out "$seed" >/dev/null 2>&1
read -r conversation sender < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["groups"][0]["id"], d["users"][0]["id"])' "$seed")
# Every message has distinct words beginning with "me" and "ma"; one in 10,000 says "zebra".
psql "$DATABASE_URL" -qc "INSERT INTO messages (conversation_id, seq, rev, sender_id, client_message_id, body)
  SELECT '$conversation', g, g, '$sender', 'bench-' || g,
    CASE WHEN g % 10000 = 0 THEN 'zebra crossing ' ELSE '' END || 'maintenance memo ' || g
      || ' me' || substr(md5(g::text), 1, 6) || ' ma' || substr(md5(g::text), 7, 4)
  FROM generate_series(1, 200000) g" \
  -c "UPDATE conversations SET last_seq = 200000, last_rev = 200000 WHERE id = '$conversation'"
psql "$DATABASE_URL" -qc "VACUUM ANALYZE messages" -c "CHECKPOINT"
port=18403
for run in $(seq 1 "$runs"); do
  (cd /tmp && exec env RUST_LOG=warn CONFAB_BIND="127.0.0.1:$port" \
    CONFAB_STORAGE__DIR="$(mktemp -d)" "$bin") >"$results/$name-$run.server.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  python3 load-tests/bench/search_abuse.py "http://127.0.0.1:$port" "$seed" "$secs" "$queries" \
    | tee -a "$results/$name.jsonl"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
