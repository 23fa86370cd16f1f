DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN search;
DROP EXTENSION IF EXISTS btree_gin;
CREATE INDEX messages_search ON messages USING GIN (to_tsvector('simple', body));
