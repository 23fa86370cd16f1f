-- Full-text search (PROTOCOL.md v1.1 section 7, GET /search). PostgreSQL keeps each message's
-- words in `search`, with the `simple` configuration: every language is searched word for
-- word (lowercased, no stemming, no stop words). A deleted message's body is empty, so it has
-- no words. The GIN index replaces the expression index of the first schema, which no query
-- could use without repeating its expression.
ALTER TABLE messages
    ADD COLUMN search TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;
DROP INDEX messages_search;
CREATE INDEX messages_search ON messages USING GIN (search);
