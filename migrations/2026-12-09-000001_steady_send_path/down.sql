ALTER TABLE conversation_members RESET (fillfactor);
ALTER TABLE conversations RESET (fillfactor);
CREATE INDEX conversations_activity ON conversations ((coalesce(last_message_at, created_at)) DESC, id DESC);
ALTER INDEX messages_search RESET (fastupdate);
