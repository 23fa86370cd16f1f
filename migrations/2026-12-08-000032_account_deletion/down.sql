DROP FUNCTION confab_tombstone_sender(UUID, UUID);
ALTER TABLE users DROP COLUMN deleted_at;
