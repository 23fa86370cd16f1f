//! Times as the contract writes them, without a date library in the actors crate.

use std::time::Duration;

/// `since_epoch` as RFC 3339 UTC with milliseconds: `2026-11-21T10:00:00.123Z`.
pub fn rfc3339_millis(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let millis = since_epoch.subsec_millis();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (hour, minute, second) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
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
