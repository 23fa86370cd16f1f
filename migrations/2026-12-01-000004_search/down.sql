DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN search;
CREATE INDEX messages_search ON messages USING GIN (to_tsvector('simple', body));
