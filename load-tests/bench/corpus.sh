#!/usr/bin/env bash
# Seeds the search corpus into the migrated database DATABASE_URL: two senders, 1,000 group
# conversations, and MESSAGES (1,000,000) messages of `confab-load --corpus-messages` spread
# over them; then VACUUM ANALYZE. Prints the corpus's rare word.
#
#   DATABASE_URL=... load-tests/bench/corpus.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
load=./target/release/confab-load
words=$(mktemp)
psql "$DATABASE_URL" -q <<'SQL'
INSERT INTO users (id, email, username, display_name, password_hash)
SELECT ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, 'sender' || n || '@example.com',
       'sender' || n, 'Sender ' || n, 'x' FROM generate_series(1, 2) n;
CREATE UNLOGGED TABLE corpus (conv INT, seq BIGINT, body TEXT);
INSERT INTO conversations (id, kind, title, created_by, last_seq, last_rev, last_message_at)
SELECT ('00000000-0000-4000-9000-' || lpad(n::text, 12, '0'))::uuid, 'group', 'c' || n,
       '00000000-0000-4000-8000-000000000001', 0, 0, now() FROM generate_series(1, 1000) n;
INSERT INTO conversation_members (conversation_id, user_id)
SELECT c.id, u.id FROM conversations c, users u WHERE u.username IN ('sender1', 'sender2');
SQL
"$load" --corpus-messages "${MESSAGES:-1000000}" --corpus-conversations 1000 2>"$words" \
  | psql "$DATABASE_URL" -qc "\\copy corpus FROM STDIN"
psql "$DATABASE_URL" -q <<'SQL'
INSERT INTO messages (conversation_id, seq, rev, sender_id, client_message_id, body, created_at)
SELECT ('00000000-0000-4000-9000-' || lpad(k.conv::text, 12, '0'))::uuid, k.seq, k.seq,
       ('00000000-0000-4000-8000-' || lpad((1 + k.seq % 2)::text, 12, '0'))::uuid,
       'corpus-' || k.conv || '-' || k.seq, k.body, now() - (1000000 - k.seq * 1000 - k.conv) * interval '1 ms'
FROM corpus k ORDER BY k.seq, k.conv;
UPDATE conversations c SET last_seq = m.s, last_rev = m.s
FROM (SELECT conversation_id, max(seq) s FROM messages GROUP BY conversation_id) m WHERE m.conversation_id = c.id;
DROP TABLE corpus;
VACUUM ANALYZE messages;
SQL
sed -n 's/.*rare word "\(.*\)".*/\1/p' "$words"
rm -f "$words"
