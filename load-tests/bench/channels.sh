#!/usr/bin/env bash
# The channel discovery benchmark: a workspace with CHANNELS (10,000) public channels (seeded by
# `confab seed --workspace-channels`), and a member listing them through
# GET /api/workspaces/{id}/channels: the first page, a two-letter prefix (an eighth of the
# channels), a narrow prefix and one that matches nothing, each 200 times, RUNS times against
# one release server; then EXPLAIN (ANALYZE, BUFFERS) of the prefix query as the server sends it.
#
#   load-tests/bench/channels.sh NAME [RUNS]
#
# Environment: CONFAB_BIN (default ./target/release/confab), PGURL as for run.sh, CHANNELS.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 runs=${2:-3}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
bin=${CONFAB_BIN:-./target/release/confab}
load=./target/release/confab-load
results=load-tests/bench/results
mkdir -p "$results"
db="confab_channels_${name//-/_}"
psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
export DATABASE_URL="$pgurl/$db"
"$bin" migrate >/dev/null 2>&1
seed="$results/$name.channels-seed.json"
"$bin" seed --users 2 --group-size 2 --workspace-channels "${CHANNELS:-10000}" --out "$seed" >/dev/null
psql "$DATABASE_URL" -qc "VACUUM ANALYZE"
read -r workspace member token < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["workspace"]["id"], s["users"][1]["id"], s["users"][1]["token"])' "$seed")
port=18402
env RUST_LOG=warn CONFAB_BIND="127.0.0.1:$port" CONFAB_STORAGE__DIR="$(mktemp -d)" \
  "$bin" >"$results/$name.server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
: >"$results/$name.txt"
for run in $(seq 1 "$runs"); do
  "$load" --url "http://127.0.0.1:$port" --search-token "$token" --search-count 200 \
    --search-path "/api/workspaces/$workspace/channels?q={q}&limit=20" \
    --search first= --search prefix=de --search narrow=design-001 --search none=zzz \
    --out "$results/$name-$run" | tee -a "$results/$name.txt"
done
psql "$DATABASE_URL" -qAt <<SQL | tee "$results/$name.explain"
EXPLAIN (ANALYZE, BUFFERS)
SELECT c.id, c.title, c.sort_title,
       (SELECT count(*) FROM conversation_members m WHERE m.conversation_id = c.id) AS member_count,
       EXISTS (SELECT 1 FROM conversation_members m WHERE m.conversation_id = c.id AND m.user_id = '$member') AS joined
FROM (SELECT id, title, lower(title) COLLATE "C" AS sort_title FROM conversations
      WHERE workspace_id = '$workspace' AND visibility = 'public'
        AND lower(title) COLLATE "C" LIKE 'de%'
        AND (NULL::text IS NULL OR (lower(title) COLLATE "C", id) > (NULL::text COLLATE "C", NULL::uuid))
      ORDER BY lower(title) COLLATE "C", id LIMIT 21) c
ORDER BY c.sort_title, c.id;
SQL
