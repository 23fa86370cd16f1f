DROP FUNCTION confab_advance(UUID, UUID, BIGINT, BOOLEAN);
DROP TABLE receipt_moves;
ALTER TABLE users DROP COLUMN presence_visible;
ALTER TABLE users DROP COLUMN read_receipts;
