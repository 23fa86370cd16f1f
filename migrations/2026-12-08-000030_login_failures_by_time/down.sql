DROP INDEX login_failures_time;
