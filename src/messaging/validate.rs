//! What a message must be before it is stored: checked once, for the HTTP API and the sockets.

use uuid::Uuid;

use super::SendError;
use crate::config::Limits;

/// Checks a message body: 1 to `limits.message_max_chars` characters once trimmed.
/// Returns the trimmed body, which is what is stored.
pub fn body(body: &str, limits: &Limits) -> Result<String, SendError> {
    body_of(body, false, limits)
}

/// Checks the body of a new message, which may be empty when it has attachments.
pub fn new_body(body: &str, has_attachments: bool, limits: &Limits) -> Result<String, SendError> {
    body_of(body, has_attachments, limits)
}

fn body_of(body: &str, may_be_empty: bool, limits: &Limits) -> Result<String, SendError> {
    let trimmed = body.trim();
    let chars = trimmed.chars().count();
    if chars == 0 && !may_be_empty {
        return Err(SendError::Invalid(
            "body must not be empty (unless the message has attachments)".into(),
        ));
    }
    if chars > limits.message_max_chars {
        return Err(SendError::TooLarge(format!(
            "body must be at most {} characters",
            limits.message_max_chars
        )));
    }
    Ok(trimmed.to_string())
}

/// Checks a client message id: 1 to `limits.client_message_id_max_chars` characters.
pub fn client_message_id(id: &str, limits: &Limits) -> Result<String, SendError> {
    let chars = id.chars().count();
    if chars == 0 || chars > limits.client_message_id_max_chars || id.trim() != id {
        return Err(SendError::Invalid(format!(
            "clientMessageId must be 1-{} characters without surrounding spaces",
            limits.client_message_id_max_chars
        )));
    }
    Ok(id.to_string())
}

/// A message id from a client: a decimal string naming a positive id. Anything else names
/// no message (`not_found`, as for a message that does not exist).
pub fn message_id(id: &str) -> Result<i64, SendError> {
    let digits = !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| id.parse::<i64>().ok())
        .flatten()
        .filter(|id| *id > 0)
        .ok_or(SendError::NotFound("message not found"))
}

/// The message a send answers, if any (see [`message_id`]).
pub fn reply_to_id(id: Option<&str>) -> Result<Option<i64>, SendError> {
    id.map(message_id).transpose()
}

/// One emoji: a single extended grapheme cluster that Unicode lists as an emoji, skin-tone
/// and ZWJ sequences included. Returned in its fully qualified form, so that `❤` and `❤️`
/// are one reaction.
pub fn emoji(emoji: &str) -> Result<String, SendError> {
    const LONGEST: usize = 64;
    if emoji.len() <= LONGEST {
        if let Some(found) = emojis::get(emoji) {
            return Ok(found.as_str().to_string());
        }
    }
    Err(SendError::Invalid("emoji must be one emoji".into()))
}

/// Checks attachment ids: at most `limits.max_attachments`, each a UUID, no repeats.
pub fn attachment_ids(ids: &[String], limits: &Limits) -> Result<Vec<Uuid>, SendError> {
    if ids.len() > limits.max_attachments {
        return Err(SendError::Invalid(format!(
            "at most {} attachments per message",
            limits.max_attachments
        )));
    }
    let mut parsed = Vec::with_capacity(ids.len());
    for id in ids {
        let id = Uuid::parse_str(id)
            .map_err(|_| SendError::Invalid("attachmentIds must be attachment ids".into()))?;
        if parsed.contains(&id) {
            return Err(SendError::Invalid("attachmentIds must not repeat".into()));
        }
        parsed.push(id);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_actors::ErrorCode;

    fn limits() -> Limits {
        Limits {
            message_max_chars: 10,
            client_message_id_max_chars: 4,
            max_attachments: 2,
            group_max_members: 300,
            page_max: 100,
            send_rate_per_sec: 10.0,
            send_burst: 20.0,
            search_per_sec: 10.0,
            search_burst: 20.0,
            search_statement_timeout_ms: 300,
            search_db_ms_per_sec: 100.0,
            search_db_burst_ms: 1000.0,
            workspace_max_members: 1000,
            contact_requests_per_day: 50,
            workspaces_per_day: 10,
            invite_lookups_per_min: 30.0,
        }
    }

    #[test]
    fn bodies_are_trimmed_and_bounded_in_characters() {
        assert_eq!(body("  hi  ", &limits()).unwrap(), "hi");
        assert_eq!(
            body("   ", &limits()).unwrap_err().code(),
            ErrorCode::Invalid
        );
        assert_eq!(
            body("ééééééééééé", &limits()).unwrap_err().code(),
            ErrorCode::TooLarge
        );
        assert!(body(" éééééééééé ", &limits()).is_ok());
    }

    #[test]
    fn client_ids_and_attachments_are_bounded() {
        assert!(client_message_id("abcd", &limits()).is_ok());
        assert!(client_message_id("", &limits()).is_err());
        assert!(client_message_id("abcde", &limits()).is_err());
        let id = Uuid::new_v4().to_string();
        assert_eq!(
            attachment_ids(std::slice::from_ref(&id), &limits())
                .unwrap()
                .len(),
            1
        );
        assert!(attachment_ids(&[id.clone(), id.clone()], &limits()).is_err());
        let three = vec![Uuid::new_v4().to_string(); 3];
        assert_eq!(
            attachment_ids(&three, &limits()).unwrap_err().code(),
            ErrorCode::Invalid
        );
        assert!(attachment_ids(&["x".into()], &limits()).is_err());
    }

    #[test]
    fn message_ids_are_positive_decimal_strings() {
        assert_eq!(message_id("42").unwrap(), 42);
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "1.0",
            " 1",
            "x",
            "99999999999999999999",
        ] {
            assert_eq!(
                message_id(bad).unwrap_err().code(),
                ErrorCode::NotFound,
                "{bad}"
            );
        }
        assert_eq!(reply_to_id(None).unwrap(), None);
        assert_eq!(reply_to_id(Some("7")).unwrap(), Some(7));
    }

    #[test]
    fn an_emoji_is_one_emoji_in_its_qualified_form() {
        for one in ["👍", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "🇫🇷", "❤️"]
        {
            assert_eq!(emoji(one).unwrap(), one);
        }
        assert_eq!(emoji("\u{2764}").unwrap(), "\u{2764}\u{fe0f}");
        for bad in ["", "a", "👍👍", "👍 ", ":+1:", "\u{1f3fd}", "x\u{200d}y"] {
            assert_eq!(
                emoji(bad).unwrap_err().code(),
                ErrorCode::Invalid,
                "{bad:?}"
            );
        }
    }
}
