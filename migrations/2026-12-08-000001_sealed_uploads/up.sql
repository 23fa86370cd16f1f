-- Checked uploads are immutable. `complete` copies an upload's object to a key of its own,
-- which no upload URL can write, checks the copy and makes it the row's `storage_key`: what
-- readers get is what was checked. Until then `storage_key` is the key the upload URL writes
-- (the attachment's id). Rows completed before keep their key and are read where they are.
--
-- The key an upload URL writes can be written again until the URL expires (S3 accepts a
-- presigned PUT until then), so its object is removed only once the URL is dead: garbage now
-- has a time at which it is due. `complete` also queues its copy before making it, so a copy
-- left by a node that stopped halfway goes too; it takes the entry back when it succeeds.
ALTER TABLE storage_garbage ADD COLUMN due_at TIMESTAMPTZ NOT NULL DEFAULT now();
DROP INDEX storage_garbage_queued;
CREATE INDEX storage_garbage_due ON storage_garbage (due_at);

-- Replaces confab_attachment_gone of migration 2026-12-01-000003_uploads (down.sql restores
-- it): a pending upload's object (its key is the URL's) is due once the URL and the grace
-- for a PUT that started in time have passed (10 minutes: `COMPLETE_GRACE` in
-- src/attachments/mod.rs); everything else is due at once.
CREATE OR REPLACE FUNCTION confab_attachment_gone() RETURNS TRIGGER LANGUAGE plpgsql AS $$
DECLARE
    due TIMESTAMPTZ := now();
BEGIN
    IF OLD.completed_at IS NULL THEN
        due := greatest(now(), OLD.upload_expires_at + interval '10 minutes');
    END IF;
    INSERT INTO storage_garbage (key, due_at) VALUES (OLD.storage_key, due)
        ON CONFLICT (key) DO UPDATE SET due_at = greatest(storage_garbage.due_at, EXCLUDED.due_at);
    IF OLD.thumbnail_key IS NOT NULL THEN
        INSERT INTO storage_garbage (key) VALUES (OLD.thumbnail_key) ON CONFLICT DO NOTHING;
    END IF;
    RETURN OLD;
END $$;
