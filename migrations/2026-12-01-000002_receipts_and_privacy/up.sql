-- Privacy settings (PATCH /me `settings`): a user who hides read receipts still moves their
-- watermarks, but nobody else hears of it; a user who hides presence reads as offline.
ALTER TABLE users ADD COLUMN read_receipts BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN presence_visible BOOLEAN NOT NULL DEFAULT true;

-- Every move of a member's watermarks by a receipt, with both watermarks after it, for
-- receipt details: the time a member's watermark reached a seq is that of the first move to
-- it or past it, or of their own send of a message at or past it (a send moves its sender's
-- watermarks in the send's statement). Both watermarks only grow, and every move raises one,
-- so each index finds the first move with one seek.
CREATE TABLE receipt_moves (
    conversation_id UUID NOT NULL,
    user_id         UUID NOT NULL,
    delivered_seq   BIGINT NOT NULL,
    read_seq        BIGINT NOT NULL,
    at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, user_id, delivered_seq, read_seq),
    FOREIGN KEY (conversation_id, user_id)
        REFERENCES conversation_members (conversation_id, user_id) ON DELETE CASCADE
);
CREATE INDEX receipt_moves_read ON receipt_moves (conversation_id, user_id, read_seq);

-- Moves `actor`'s delivered watermark in `conv` (and with `to_read` the read one) up to
-- `target`, capped at the last seq, never down, and logs the moves; one round trip. No row for
-- a non-member. `shared`: whether the member lets others see their receipts.
CREATE FUNCTION confab_advance(conv UUID, actor UUID, target BIGINT, to_read BOOLEAN)
RETURNS TABLE (delivered BIGINT, read BIGINT, shared BOOLEAN) LANGUAGE plpgsql AS $$
DECLARE
    last BIGINT;
    old_delivered BIGINT;
    old_read BIGINT;
    new_delivered BIGINT;
    new_read BIGINT;
BEGIN
    SELECT c.last_seq INTO last FROM conversations c WHERE c.id = conv;
    SELECT m.last_delivered_seq, m.last_read_seq INTO old_delivered, old_read
    FROM conversation_members m WHERE m.conversation_id = conv AND m.user_id = actor
    FOR NO KEY UPDATE;
    IF NOT FOUND OR last IS NULL THEN
        RETURN;
    END IF;
    new_delivered := greatest(old_delivered, least(target, last));
    new_read := CASE WHEN to_read THEN greatest(old_read, least(target, last)) ELSE old_read END;
    IF new_delivered > old_delivered OR new_read > old_read THEN
        UPDATE conversation_members m
        SET last_delivered_seq = new_delivered, last_read_seq = new_read
        WHERE m.conversation_id = conv AND m.user_id = actor;
        INSERT INTO receipt_moves (conversation_id, user_id, delivered_seq, read_seq)
        VALUES (conv, actor, new_delivered, new_read);
    END IF;
    RETURN QUERY SELECT new_delivered, new_read, u.read_receipts FROM users u WHERE u.id = actor;
END $$;
