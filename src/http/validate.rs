//! Field checks shared by the handlers; each failure names the field.

use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// `value` trimmed, required to hold `min..=max` characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> ApiResult<String> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars < min || chars > max {
        return Err(ApiError::invalid(format!(
            "{field} must be {min}-{max} characters"
        )));
    }
    Ok(trimmed.to_string())
}

/// A page size: `default` when absent, else `1..=max`.
pub fn limit(value: Option<i64>, default: i64, max: i64) -> ApiResult<i64> {
    match value {
        None => Ok(default.min(max)),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::invalid(format!("limit must be 1-{max}"))),
    }
}

/// A UUID field of a request body.
pub fn uuid(field: &str, value: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(value).map_err(|_| ApiError::invalid(format!("{field} must be a UUID")))
}

/// A `userIds` list: 1 to `max` UUIDs, duplicates dropped, in the order given.
pub fn user_ids(values: &[String], max: usize) -> ApiResult<Vec<Uuid>> {
    if values.is_empty() || values.len() > max {
        return Err(ApiError::invalid(format!(
            "userIds must hold 1-{max} user ids"
        )));
    }
    let mut ids: Vec<Uuid> = Vec::with_capacity(values.len());
    for id in values {
        let id = uuid("userIds", id)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Whether a member with role `mine` may remove one with role `theirs` (not themself): owners
/// remove anyone, admins remove plain members.
pub fn may_remove(mine: &str, theirs: &str) -> ApiResult<()> {
    use crate::models::member::{ADMIN, MEMBER, OWNER};
    if mine != OWNER && mine != ADMIN {
        return Err(ApiError::forbidden(
            "only owners and admins remove other members",
        ));
    }
    if mine != OWNER && theirs != MEMBER {
        return Err(ApiError::forbidden("admins remove members only"));
    }
    Ok(())
}

/// An id in a path: an unknown or malformed id is simply not found.
pub fn path_id(value: &str, not_found: fn() -> ApiError) -> ApiResult<Uuid> {
    Uuid::parse_str(value).map_err(|_| not_found())
}

/// An email address: one `@`, something on each side, a dot in the domain, no spaces.
pub fn email(value: &str) -> ApiResult<String> {
    let email = value.trim();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            }
            None => false,
        };
    if !valid {
        return Err(ApiError::invalid("email must be a valid email address"));
    }
    Ok(email.to_string())
}

/// A username: 3-32 characters of ASCII letters, digits, `_`, `.` and `-`.
pub fn username(value: &str) -> ApiResult<String> {
    let valid = (3..=32).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        return Err(ApiError::invalid(
            "username must be 3-32 letters, digits, '_', '.' or '-'",
        ));
    }
    Ok(value.to_string())
}

/// A password: 8-72 bytes (bcrypt's limit; longer would be silently cut).
pub fn password(value: &str) -> ApiResult<String> {
    if value.chars().count() < 8 || value.len() > 72 {
        return Err(ApiError::invalid(
            "password must be at least 8 characters and at most 72 bytes",
        ));
    }
    Ok(value.to_string())
}

/// An avatar URL: an http(s) URL with a host (as the URL standard parses it), at most 2,048
/// characters, no white space.
pub fn avatar_url(value: &str) -> ApiResult<String> {
    let url = value.trim();
    let parses = || {
        url::Url::parse(url)
            .is_ok_and(|parsed| matches!(parsed.scheme(), "http" | "https") && parsed.has_host())
    };
    let valid = url.chars().count() <= 2048
        && (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(char::is_whitespace)
        && parses();
    if !valid {
        return Err(ApiError::invalid(
            "avatarUrl must be an http(s) URL of at most 2048 characters",
        ));
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_counts_characters_after_trimming() {
        assert_eq!(text("t", "  ab ", 1, 2).unwrap(), "ab");
        assert!(text("t", "   ", 1, 2).is_err());
        assert!(text("t", "abc", 1, 2).is_err());
    }

    #[test]
    fn emails_usernames_and_passwords() {
        assert!(email("a@b.co").is_ok());
        for bad in ["", "a", "a@b", "@b.co", "a b@c.de", "a@.co", "a@b.co@d.ef"] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(username("al_ice.9").is_ok());
        for bad in ["al", "a l", "ålice", &"x".repeat(33)] {
            assert!(username(bad).is_err(), "{bad}");
        }
        assert!(password("12345678").is_ok());
        assert!(password("1234567").is_err());
        assert!(password(&"x".repeat(73)).is_err());
    }

    #[test]
    fn limits_and_urls() {
        assert_eq!(limit(None, 20, 100).unwrap(), 20);
        assert_eq!(limit(Some(100), 20, 100).unwrap(), 100);
        assert!(limit(Some(0), 20, 100).is_err());
        assert!(limit(Some(101), 20, 100).is_err());
        assert!(avatar_url("https://cdn.example/a.png").is_ok());
        assert!(avatar_url("javascript:alert(1)").is_err());
        assert!(avatar_url("http://a").is_ok());
        // Found by fuzzing: no host a URL parser accepts.
        assert!(avatar_url("http://[abc").is_err());
        assert!(avatar_url("http://").is_err());
    }
}
