CREATE OR REPLACE FUNCTION confab_attachment_gone() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO storage_garbage (key) VALUES (OLD.storage_key) ON CONFLICT DO NOTHING;
    IF OLD.thumbnail_key IS NOT NULL THEN
        INSERT INTO storage_garbage (key) VALUES (OLD.thumbnail_key) ON CONFLICT DO NOTHING;
    END IF;
    RETURN OLD;
END $$;
DROP INDEX storage_garbage_due;
CREATE INDEX storage_garbage_queued ON storage_garbage (queued_at);
ALTER TABLE storage_garbage DROP COLUMN due_at;
