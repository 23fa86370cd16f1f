#!/usr/bin/env bash
# The web client's benchmark (load-tests/bench/web.mjs) against a fresh release server: the
# page's first load RUNS times, then a group of MESSAGES messages (10,000 by default, written
# straight into PostgreSQL over 10 days) scrolled up PAGES pages.
#
#   load-tests/bench/web.sh NAME [RUNS] [PAGES]
#
# Environment: CONFAB_BIN (default ./target/release/confab), PGURL as for run.sh, MESSAGES.
# Needs tests/js's npm packages (npm ci there) and /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1 runs=${2:-3} pages=${3:-40}
messages=${MESSAGES:-10000}
pgurl=${PGURL:-postgres://postgres@127.0.0.1:5432}
bin=${CONFAB_BIN:-./target/release/confab}
results=load-tests/bench/results
mkdir -p "$results"
db="confab_web_${name//-/_}"
psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
export DATABASE_URL="$pgurl/$db"
"$bin" migrate >/dev/null 2>&1
port=18402
base="http://127.0.0.1:$port"
env RUST_LOG=warn CONFAB_BIND="127.0.0.1:$port" CONFAB_STORAGE__DIR="$(mktemp -d)" \
  "$bin" >"$results/$name.server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
registered=$(curl -sf "$base/api/auth/register" -H 'content-type: application/json' \
  -d '{"email":"reader@example.com","username":"reader","password":"correct horse battery"}')
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token=$(json '["accessToken"]' <<<"$registered")
reader=$(json '["user"]["id"]' <<<"$registered")
group=$(curl -sf "$base/api/conversations" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"kind":"group","title":"Long history","memberIds":[]}' | json '["id"]')
psql "$DATABASE_URL" -q <<SQL
INSERT INTO messages (conversation_id, seq, rev, sender_id, client_message_id, body, created_at)
  SELECT '$group', n, n, '$reader', 'bench-' || n,
         'Message number ' || n || ' of a long history, long enough to wrap on a phone.',
         now() - interval '10 days' + (n * interval '10 days' / $messages)
  FROM generate_series(1, $messages) n;
UPDATE conversations SET last_seq = $messages, last_rev = $messages, last_message_at = now()
  WHERE id = '$group';
SQL
node load-tests/bench/web.mjs "$base" reader "correct horse battery" "Long history" "$runs" "$pages" \
  | tee "$results/$name.json"
