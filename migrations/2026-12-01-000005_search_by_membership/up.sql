-- Search narrows by the caller's conversations and the words in one scan of one index. The
-- conversation is indexed as a one-element array, so that the caller's conversations are one
-- `&&` (overlap) condition: GIN looks the words and all the conversations up together. The
-- composite index it replaces (`btree_gin` on the bare conversation id) took `= ANY(...)` as
-- one index scan per conversation, each reading the words' postings again (a prefix or a
-- phrase across 50 conversations read them 50 times).
DROP INDEX messages_search;
CREATE INDEX messages_search ON messages USING GIN ((ARRAY[conversation_id]), search);
