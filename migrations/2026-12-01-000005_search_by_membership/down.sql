DROP INDEX messages_search;
CREATE INDEX messages_search ON messages USING GIN (conversation_id, search);
