#!/usr/bin/env bash
# The search benchmark: 1,000,000 messages (the fixed-seed corpus of `confab-load
# --corpus-messages`) over 1,000 conversations, a user who is a member of 50 of them, and
# four searches (a common word, a rare word, a two-word phrase, a prefix) asked 200 times each
# through GET /api/search, RUNS times against a fresh release server; then EXPLAIN (ANALYZE,
# BUFFERS) of each query as the server sends it, and the sizes of the table and its index.
#
#   load-tests/bench/search.sh NAME [RUNS]
#
# Environment: CONFAB_BIN (default ./target/release/confab), PGURL as for run.sh, MESSAGES.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 runs=${2:-3}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
bin=${CONFAB_BIN:-./target/release/confab}
load=./target/release/confab-load
results=load-tests/bench/results
mkdir -p "$results"
db="confab_search_${name//-/_}"
psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
export DATABASE_URL="$pgurl/$db"
"$bin" migrate >/dev/null 2>&1
port=18401
env RUST_LOG=warn CONFAB_BIND="127.0.0.1:$port" CONFAB_LIMITS__SEARCH_PER_SEC=100000 \
  CONFAB_LIMITS__SEARCH_BURST=100000 CONFAB_STORAGE__DIR="$(mktemp -d)" \
  "$bin" >"$results/$name.server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
registered=$(curl -sf "http://127.0.0.1:$port/api/auth/register" -H 'content-type: application/json' \
  -d '{"email":"searcher@example.com","username":"searcher","password":"correct horse battery"}')
token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])' <<<"$registered")
searcher=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["user"]["id"])' <<<"$registered")
started=$(date +%s)
rare=$(load-tests/bench/corpus.sh)
psql "$DATABASE_URL" -qc "INSERT INTO conversation_members (conversation_id, user_id)
  SELECT ('00000000-0000-4000-9000-' || lpad(n::text, 12, '0'))::uuid, '$searcher'
  FROM generate_series(1, 50) n"
echo "seeded in $(( $(date +%s) - started )) s" | tee "$results/$name.txt"
psql "$DATABASE_URL" -Atc "SELECT 'messages ' || pg_size_pretty(pg_table_size('messages')) || ', search index ' || pg_size_pretty(pg_relation_size('messages_search')) || ', all indexes ' || pg_size_pretty(pg_indexes_size('messages'))" | tee -a "$results/$name.txt"
for run in $(seq 1 "$runs"); do
  "$load" --url "http://127.0.0.1:$port" --search-token "$token" --search-count 200 \
    --search common=the --search "rare=$rare" --search 'phrase="release notes"' --search prefix=deploy \
    --out "$results/$name-$run" | tee -a "$results/$name.txt"
done
explain() {
  local matcher=$1 text=$2
  psql "$DATABASE_URL" -qAt <<SQL
EXPLAIN (ANALYZE, BUFFERS) SELECT m.id FROM messages m WHERE $matcher
  AND ARRAY[m.conversation_id] && ARRAY(SELECT cm.conversation_id FROM conversation_members cm
                            WHERE cm.user_id = '$searcher' AND (NULL::uuid IS NULL OR cm.conversation_id = NULL::uuid))
  AND m.deleted_at IS NULL AND m.id < 9223372036854775807
  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = '$searcher' AND b.blocked_id = m.sender_id)
  ORDER BY m.id DESC LIMIT 21;
SQL
}
# A single word is asked as a prefix, as the server does.
for q in "to_tsquery('simple', 'the:*')" "to_tsquery('simple', '$rare:*')" \
         "websearch_to_tsquery('simple', '\"release notes\"')" "to_tsquery('simple', 'deploy:*')"; do
  echo "== $q" | tee -a "$results/$name.explain"
  explain "m.search @@ $q" "$q" | tee -a "$results/$name.explain"
done
