-- Revisions (PROTOCOL.md v1.1 section 4): every change to a conversation's messages (a new
-- message, an edit, a delete, a reaction added or removed) takes the conversation's next rev
-- under the conversation row's lock, so revs are gapless and in commit order. A message row
-- holds the rev of its latest change: catch-up (`sync:changes`) reads rows by rev.
ALTER TABLE conversations ADD COLUMN last_rev BIGINT NOT NULL DEFAULT 0 CHECK (last_rev >= 0);
ALTER TABLE messages ADD COLUMN rev BIGINT;
ALTER TABLE messages ADD COLUMN reply_to_id BIGINT REFERENCES messages (id) ON DELETE SET NULL;
-- Messages stored before revisions: one revision each, in seq order.
UPDATE messages SET rev = seq;
UPDATE conversations SET last_rev = last_seq;
ALTER TABLE messages ALTER COLUMN rev SET NOT NULL;
ALTER TABLE messages ADD CONSTRAINT messages_rev_positive CHECK (rev > 0);
CREATE UNIQUE INDEX messages_conversation_rev ON messages (conversation_id, rev);

-- Reactions keep the order they were made in: users in the order they reacted, emoji in the
-- order first used. An emoji's place is its first reaction's, kept while anyone still has it.
ALTER TABLE reactions ADD COLUMN position BIGINT GENERATED ALWAYS AS IDENTITY;
ALTER TABLE reactions ADD COLUMN emoji_order BIGINT;
UPDATE reactions r SET emoji_order = (SELECT min(x.position) FROM reactions x
                                      WHERE x.message_id = r.message_id AND x.emoji = r.emoji);
ALTER TABLE reactions ALTER COLUMN emoji_order SET NOT NULL;

-- A deleted message's attachments wait here for the cleanup that removes their objects.
ALTER TABLE attachments ADD COLUMN released_at TIMESTAMPTZ;

-- The changes below are functions so that each is one round trip. Each first locks the
-- conversation row (as a send does, by updating it), then reads with a fresh snapshot, so it
-- sees every change committed before it; it takes a rev only when it changes something.
-- Each returns `{ outcome, rev?, message?, reactions? }`: outcome `changed`, `unchanged`,
-- `not_found` (no such message in the conversation, or the actor is no member), `forbidden`,
-- `deleted` (the message is a tombstone) or `too_many` (a reaction past the distinct emoji).

-- The reactions of `message` as PROTOCOL.md lists them: `[{ emoji, userIds }]`.
CREATE FUNCTION confab_reactions(message BIGINT) RETURNS JSONB LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('emoji', r.emoji, 'userIds', r.users)
                              ORDER BY r.first), '[]'::jsonb)
    FROM (SELECT emoji, min(emoji_order) AS first, jsonb_agg(user_id ORDER BY position) AS users
          FROM reactions WHERE message_id = message GROUP BY emoji) r
$$;

-- The message after a change, with its reactions and attachments, read under the change's
-- lock: the event published for the change shows exactly its state.
CREATE FUNCTION confab_change_result(outcome TEXT, message BIGINT, rev BIGINT)
RETURNS JSONB LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('outcome', outcome, 'rev', rev, 'message', to_jsonb(m),
                              'reactions', confab_reactions(m.id),
                              'attachments', (SELECT coalesce(jsonb_agg(to_jsonb(a)
                                                                ORDER BY a.created_at, a.id),
                                                       '[]'::jsonb)
                                              FROM attachments a WHERE a.message_id = m.id))
    FROM messages m WHERE m.id = message
$$;

-- Locks `conv` for a change by `actor`; whether the conversation exists and the actor is a
-- member of it.
CREATE FUNCTION confab_lock_for(conv UUID, actor UUID) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM conversations c WHERE c.id = conv FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM conversation_members m
                   WHERE m.conversation_id = conv AND m.user_id = actor);
END $$;

-- Whether `conv` is a DM with a block between `actor` and the other person.
CREATE FUNCTION confab_dm_blocked(conv UUID, actor UUID) RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM conversations c
                   JOIN conversation_members o ON o.conversation_id = c.id AND o.user_id <> actor
                   JOIN blocks b ON (b.blocker_id = actor AND b.blocked_id = o.user_id)
                                 OR (b.blocker_id = o.user_id AND b.blocked_id = actor)
                   WHERE c.id = conv AND c.kind = 'dm')
$$;

-- Locks `conv` for a change by `actor` and then reads message `msg` of it (with a fresh
-- snapshot, so it sees every change committed before the lock); NULL when the conversation,
-- the membership or the message is missing.
CREATE FUNCTION confab_message_for_change(conv UUID, actor UUID, msg BIGINT)
RETURNS messages LANGUAGE plpgsql AS $$
DECLARE
    m messages%ROWTYPE;
BEGIN
    IF NOT confab_lock_for(conv, actor) THEN
        RETURN NULL;
    END IF;
    SELECT * INTO m FROM messages x WHERE x.id = msg AND x.conversation_id = conv;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN m;
END $$;

CREATE FUNCTION confab_take_rev(conv UUID) RETURNS BIGINT LANGUAGE sql VOLATILE AS $$
    UPDATE conversations SET last_rev = last_rev + 1 WHERE id = conv RETURNING last_rev
$$;

-- `message:edit`: only the sender, never a tombstone.
CREATE FUNCTION confab_edit(conv UUID, actor UUID, msg BIGINT, new_body TEXT)
RETURNS JSONB LANGUAGE plpgsql AS $$
DECLARE
    m messages%ROWTYPE;
    next BIGINT;
BEGIN
    m := confab_message_for_change(conv, actor, msg);
    IF m.id IS NULL THEN
        RETURN jsonb_build_object('outcome', 'not_found');
    END IF;
    IF m.sender_id <> actor OR confab_dm_blocked(conv, actor) THEN
        RETURN jsonb_build_object('outcome', 'forbidden');
    END IF;
    IF m.deleted_at IS NOT NULL THEN
        RETURN jsonb_build_object('outcome', 'deleted');
    END IF;
    next := confab_take_rev(conv);
    UPDATE messages SET body = new_body, edited_at = now(), rev = next WHERE id = msg;
    RETURN confab_change_result('changed', msg, next);
END $$;

-- `message:delete`: the sender, or in a group an owner or admin. The row stays as a
-- tombstone (seqs stay gapless) without its body and reactions; its attachments are released.
CREATE FUNCTION confab_delete(conv UUID, actor UUID, msg BIGINT)
RETURNS JSONB LANGUAGE plpgsql AS $$
DECLARE
    m messages%ROWTYPE;
    next BIGINT;
BEGIN
    m := confab_message_for_change(conv, actor, msg);
    IF m.id IS NULL THEN
        RETURN jsonb_build_object('outcome', 'not_found');
    END IF;
    IF m.sender_id <> actor AND NOT EXISTS (
        SELECT 1 FROM conversations c JOIN conversation_members cm ON cm.conversation_id = c.id
        WHERE c.id = conv AND c.kind = 'group' AND cm.user_id = actor
          AND cm.role IN ('owner', 'admin')) THEN
        RETURN jsonb_build_object('outcome', 'forbidden');
    END IF;
    IF m.deleted_at IS NOT NULL THEN
        RETURN confab_change_result('unchanged', msg, m.rev);
    END IF;
    next := confab_take_rev(conv);
    UPDATE messages SET body = '', deleted_at = now(), edited_at = now(), rev = next
    WHERE id = msg;
    DELETE FROM reactions WHERE message_id = msg;
    UPDATE attachments SET released_at = now() WHERE message_id = msg;
    RETURN confab_change_result('changed', msg, next);
END $$;

-- `reaction:add` (`adding`) and `reaction:remove`: idempotent; at most `max_distinct`
-- distinct emoji per message; none on a tombstone.
CREATE FUNCTION confab_react(conv UUID, actor UUID, msg BIGINT, emo TEXT, adding BOOLEAN,
                             max_distinct INT)
RETURNS JSONB LANGUAGE plpgsql AS $$
DECLARE
    m messages%ROWTYPE;
    next BIGINT;
BEGIN
    m := confab_message_for_change(conv, actor, msg);
    IF m.id IS NULL THEN
        RETURN jsonb_build_object('outcome', 'not_found');
    END IF;
    IF confab_dm_blocked(conv, actor) THEN
        RETURN jsonb_build_object('outcome', 'forbidden');
    END IF;
    IF m.deleted_at IS NOT NULL THEN
        RETURN jsonb_build_object('outcome', 'deleted');
    END IF;
    IF adding THEN
        IF EXISTS (SELECT 1 FROM reactions r
                   WHERE r.message_id = msg AND r.user_id = actor AND r.emoji = emo) THEN
            RETURN confab_change_result('unchanged', msg, m.rev);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = msg AND r.emoji = emo)
           AND (SELECT count(DISTINCT r.emoji) FROM reactions r WHERE r.message_id = msg)
               >= max_distinct THEN
            RETURN jsonb_build_object('outcome', 'too_many');
        END IF;
        INSERT INTO reactions (message_id, user_id, emoji, emoji_order)
        VALUES (msg, actor, emo, coalesce(
            (SELECT min(r.emoji_order) FROM reactions r WHERE r.message_id = msg AND r.emoji = emo),
            (SELECT coalesce(max(r.emoji_order), 0) + 1 FROM reactions r WHERE r.message_id = msg)));
    ELSE
        DELETE FROM reactions r WHERE r.message_id = msg AND r.user_id = actor AND r.emoji = emo;
        IF NOT FOUND THEN
            RETURN confab_change_result('unchanged', msg, m.rev);
        END IF;
    END IF;
    next := confab_take_rev(conv);
    UPDATE messages SET rev = next WHERE id = msg;
    RETURN confab_change_result('changed', msg, next);
END $$;
