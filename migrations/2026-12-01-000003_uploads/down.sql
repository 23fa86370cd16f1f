DROP FUNCTION confab_thumbnailed(UUID, TEXT);
CREATE OR REPLACE FUNCTION confab_change_result(outcome TEXT, message BIGINT, rev BIGINT)
RETURNS JSONB LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('outcome', outcome, 'rev', rev, 'message', to_jsonb(m),
                              'reactions', confab_reactions(m.id),
                              'attachments', (SELECT coalesce(jsonb_agg(to_jsonb(a)
                                                                ORDER BY a.created_at, a.id),
                                                       '[]'::jsonb)
                                              FROM attachments a WHERE a.message_id = m.id))
    FROM messages m WHERE m.id = message
$$;
DROP TRIGGER attachments_gone ON attachments;
DROP FUNCTION confab_attachment_gone();
DROP TABLE storage_garbage;
DROP INDEX attachments_unthumbnailed;
DROP INDEX attachments_released;
DROP INDEX attachments_unclaimed_since;
DROP INDEX attachments_unclaimed;
ALTER TABLE attachments
    DROP COLUMN thumbnailed_at,
    DROP COLUMN thumbnail_key,
    DROP COLUMN position,
    DROP COLUMN height,
    DROP COLUMN width,
    DROP COLUMN completed_at,
    DROP COLUMN upload_expires_at;
