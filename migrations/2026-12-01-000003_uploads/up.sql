-- Uploads (PROTOCOL.md v1.1 sections 4 and 7). An upload is pending from `POST /uploads`
-- until `complete` has checked its stored object, then ready (`completed_at` is set); a
-- message claims ready uploads in its own commit and keeps them in the order it named them
-- (`position`).
ALTER TABLE attachments
    ADD COLUMN upload_expires_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN completed_at TIMESTAMPTZ,
    ADD COLUMN width INT CHECK (width > 0),
    ADD COLUMN height INT CHECK (height > 0),
    ADD COLUMN position SMALLINT,
    -- Set once the thumbnail exists; `thumbnailed_at` also when none can be made.
    ADD COLUMN thumbnail_key TEXT,
    ADD COLUMN thumbnailed_at TIMESTAMPTZ;
-- Rows from before uploads could be made are ready as they are.
UPDATE attachments SET completed_at = created_at;

-- A user's uploads not yet part of a message (bounded per user), and the cleanup's queues.
CREATE INDEX attachments_unclaimed ON attachments (uploader_id) WHERE message_id IS NULL;
CREATE INDEX attachments_unclaimed_since ON attachments (created_at) WHERE message_id IS NULL;
CREATE INDEX attachments_released ON attachments (released_at) WHERE released_at IS NOT NULL;
CREATE INDEX attachments_unthumbnailed ON attachments (completed_at)
    WHERE completed_at IS NOT NULL AND thumbnailed_at IS NULL;

-- Objects whose rows are gone, waiting for the cleanup job to remove them from storage. Every
-- way an attachment row goes (cleanup, a rejected upload, a conversation or user deleted with
-- their messages) leaves its objects here, in the same commit.
CREATE TABLE storage_garbage (
    key       TEXT PRIMARY KEY,
    queued_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX storage_garbage_queued ON storage_garbage (queued_at);

CREATE FUNCTION confab_attachment_gone() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO storage_garbage (key) VALUES (OLD.storage_key) ON CONFLICT DO NOTHING;
    IF OLD.thumbnail_key IS NOT NULL THEN
        INSERT INTO storage_garbage (key) VALUES (OLD.thumbnail_key) ON CONFLICT DO NOTHING;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER attachments_gone AFTER DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION confab_attachment_gone();

-- Replaces confab_change_result of migration 2026-12-01-000001_revisions (down.sql restores
-- it): change results list attachments in the order the message named them.
CREATE OR REPLACE FUNCTION confab_change_result(outcome TEXT, message BIGINT, rev BIGINT)
RETURNS JSONB LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('outcome', outcome, 'rev', rev, 'message', to_jsonb(m),
                              'reactions', confab_reactions(m.id),
                              'attachments', (SELECT coalesce(jsonb_agg(to_jsonb(a)
                                                                ORDER BY a.position, a.id),
                                                       '[]'::jsonb)
                                              FROM attachments a WHERE a.message_id = m.id))
    FROM messages m WHERE m.id = message
$$;

-- A thumbnail was stored as `thumb` for upload `att`. Before the upload is part of a message
-- that is all; once it is, the message changes (it shows the thumbnail), so it takes the
-- conversation's next rev under the conversation's lock, which is taken first, as a send
-- takes it before it claims its uploads. Outcome `changed` (with the message), `unclaimed`,
-- `unchanged` (a tombstone, or a thumbnail already there) or `gone`.
CREATE FUNCTION confab_thumbnailed(att UUID, thumb TEXT) RETURNS JSONB LANGUAGE plpgsql AS $$
DECLARE
    msg BIGINT;
    conv UUID;
    released TIMESTAMPTZ;
    next BIGINT;
BEGIN
    UPDATE attachments SET thumbnail_key = thumb, thumbnailed_at = now()
    WHERE id = att AND message_id IS NULL AND thumbnailed_at IS NULL;
    IF FOUND THEN
        RETURN jsonb_build_object('outcome', 'unclaimed');
    END IF;
    -- Claimed by a message (perhaps a moment ago), thumbnailed already, or gone.
    SELECT a.message_id INTO msg FROM attachments a WHERE a.id = att;
    IF NOT FOUND THEN
        RETURN jsonb_build_object('outcome', 'gone');
    END IF;
    IF msg IS NULL THEN
        RETURN jsonb_build_object('outcome', 'unchanged');
    END IF;
    SELECT m.conversation_id INTO conv FROM messages m WHERE m.id = msg;
    PERFORM 1 FROM conversations c WHERE c.id = conv FOR NO KEY UPDATE;
    -- Recorded even for a deleted message's upload, so that the cleanup removes it too.
    UPDATE attachments SET thumbnail_key = thumb, thumbnailed_at = now()
    WHERE id = att AND thumbnailed_at IS NULL
    RETURNING released_at INTO released;
    IF NOT FOUND OR released IS NOT NULL
       OR EXISTS (SELECT 1 FROM messages WHERE id = msg AND deleted_at IS NOT NULL) THEN
        RETURN jsonb_build_object('outcome', 'unchanged');
    END IF;
    next := confab_take_rev(conv);
    UPDATE messages SET rev = next WHERE id = msg;
    RETURN confab_change_result('changed', msg, next);
END $$;
