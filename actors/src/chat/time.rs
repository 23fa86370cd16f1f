//! Times as the contract writes them.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat};

/// `since_epoch` as RFC 3339 UTC with milliseconds: `2026-11-21T10:00:00.123Z`.
pub fn rfc3339_millis(since_epoch: Duration) -> String {
    let at = i64::try_from(since_epoch.as_millis())
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or_default();
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_contract() {
        assert_eq!(
            rfc3339_millis(Duration::from_millis(0)),
            "1970-01-01T00:00:00.000Z"
        );
        // 2026-11-21T10:00:00.123Z
        assert_eq!(
            rfc3339_millis(Duration::from_millis(1_795_255_200_123)),
            "2026-11-21T10:00:00.123Z"
        );
        // A leap day.
        assert_eq!(
            rfc3339_millis(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
