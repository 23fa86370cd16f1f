-- A send's statement pays for every index it touches, and its latency for the slowest of them.
--
-- The search index takes new entries straight into its tree. With the default fast update,
-- entries gather in a pending list and the insert that fills the list (4 MB, about 9 s of
-- 7,500 sends a second) moves all of it into the tree before it returns: one batch of sends
-- then waits 250 to 650 ms, every few seconds.
ALTER INDEX messages_search SET (fastupdate = off);

-- Every send moves its conversation's last_message_at, and this index made each of those updates
-- write a new entry in every index of conversations. Nothing reads it: a user's conversations are
-- found through their memberships and sorted, a page at a time.
DROP INDEX conversations_activity;

-- Room on each page for the new versions of rows that every send updates (the conversation's
-- counters, the sender's watermarks), so that they stay on their page and touch no index.
ALTER TABLE conversations SET (fillfactor = 80);
ALTER TABLE conversation_members SET (fillfactor = 80);
