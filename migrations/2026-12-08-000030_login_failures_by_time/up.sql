-- Counted login attempts are forgotten by time, whatever their key: a key that is never
-- claimed again (an address that gave up) would otherwise keep its rows for ever.
CREATE INDEX login_failures_time ON login_failures (failed_at);
