-- Full-text search (PROTOCOL.md v1.1 section 7, GET /search). PostgreSQL keeps each message's
-- words in `search`, with the `simple` configuration: every language is searched word for
-- word (lowercased, no stemming, no stop words). A deleted message's body is empty, so it has
-- no words.
ALTER TABLE messages
    ADD COLUMN search TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;
-- One GIN index on the conversation and the words (btree_gin indexes the UUID), so that a
-- search within a user's conversations narrows by both in the index before any row is read.
-- It replaces the expression index of the first schema, which no query could use.
CREATE EXTENSION IF NOT EXISTS btree_gin;
DROP INDEX messages_search;
CREATE INDEX messages_search ON messages USING GIN (conversation_id, search);
