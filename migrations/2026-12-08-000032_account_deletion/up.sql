-- Account deletion (PROTOCOL.md v1.2 section 14). A deleted account keeps its row, so that its
-- messages stay as tombstones with their sender: the row loses its email, password, profile
-- and settings, and keeps its username, reserved for 30 days after `deleted_at` (a later
-- registration of that name renames the old row to `deleted:<id>`, which no username can be).
ALTER TABLE users ADD COLUMN deleted_at TIMESTAMPTZ;

-- Turns every live message of `sender` in `conv` into a tombstone, as `confab_delete` does one
-- (empty body, reactions gone, attachments released), each taking the conversation's next rev
-- under the conversation's lock, in message order. Returns the conversation's last rev, NULL
-- when there was nothing to change.
CREATE FUNCTION confab_tombstone_sender(conv UUID, sender UUID)
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    n BIGINT;
    top BIGINT;
BEGIN
    PERFORM 1 FROM conversations c WHERE c.id = conv FOR NO KEY UPDATE;
    SELECT count(*) INTO n FROM messages m
    WHERE m.conversation_id = conv AND m.sender_id = sender AND m.deleted_at IS NULL;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    UPDATE conversations SET last_rev = last_rev + n WHERE id = conv RETURNING last_rev INTO top;
    UPDATE messages m SET body = '', deleted_at = now(), edited_at = now(), rev = top - n + r.k
    FROM (SELECT x.id, row_number() OVER (ORDER BY x.id) AS k FROM messages x
          WHERE x.conversation_id = conv AND x.sender_id = sender AND x.deleted_at IS NULL) r
    WHERE m.id = r.id;
    DELETE FROM reactions r USING messages m
    WHERE r.message_id = m.id AND m.conversation_id = conv AND m.sender_id = sender;
    UPDATE attachments a SET released_at = now() FROM messages m
    WHERE a.message_id = m.id AND m.conversation_id = conv AND m.sender_id = sender
      AND a.released_at IS NULL;
    RETURN top;
END $$;
