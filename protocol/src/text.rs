//! Text that JSON can carry but the rest of the system cannot: NUL characters (PostgreSQL text
//! refuses them) and unpaired UTF-16 surrogates (`"\ud83d"`, what JavaScript produces when it
//! cuts an emoji in half; UTF-8 cannot hold them, so a JSON parser refuses the whole document).
//!
//! Both are found once at the edge and refused with `invalid`, naming the field, never by
//! closing the connection: [`parse_json`] reads a document with its unpaired surrogates
//! replaced by NUL, and [`find_nul`] names the first field that holds one.

use serde_json::Value;

/// What a field's message says of either character.
pub const NOT_ALLOWED: &str = "must not contain NUL characters or unpaired surrogates";

/// Parses a JSON document. One whose only fault is an unpaired surrogate escape is read with
/// each such escape turned into `\u0000`, for [`find_nul`] to refuse by name.
pub fn parse_json(json: &str) -> Result<Value, serde_json::Error> {
    match serde_json::from_str(json) {
        Ok(value) => Ok(value),
        Err(err) => match replace_unpaired_surrogates(json) {
            Some(repaired) => serde_json::from_str(&repaired),
            None => Err(err),
        },
    }
}

/// `json` with every `\uXXXX` escape of an unpaired surrogate replaced by `\u0000`, or `None`
/// when it has none.
pub fn replace_unpaired_surrogates(json: &str) -> Option<String> {
    let bytes = json.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = escape_at(bytes, i) else {
            // Any other escape is two bytes; `\\` must not be read as the start of another.
            i += 2;
            continue;
        };
        let paired = match unit {
            0xD800..=0xDBFF => {
                escape_at(bytes, i + 6).is_some_and(|low| (0xDC00..=0xDFFF).contains(&low))
            }
            0xDC00..=0xDFFF => false,
            _ => {
                i += 6;
                continue;
            }
        };
        if paired {
            i += 12;
            continue;
        }
        let out = out.get_or_insert_with(|| String::with_capacity(json.len()));
        out.push_str(&json[copied..i]);
        out.push_str("\\u0000");
        i += 6;
        copied = i;
    }
    out.map(|mut out| {
        out.push_str(&json[copied..]);
        out
    })
}

/// The code unit of a `\uXXXX` escape starting at `at`.
fn escape_at(bytes: &[u8], at: usize) -> Option<u32> {
    let escape = bytes.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    u32::from_str_radix(hex, 16).ok()
}

/// The path of the first string (or object key) in `value` that holds a NUL: `body`,
/// `userIds[3]`, or `""` for the value itself.
pub fn find_nul(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_nul(item).map(|rest| format!("[{i}]{}", dotted(&rest)))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                return Some(key.replace('\0', "\\u0000"));
            }
            find_nul(item).map(|rest| format!("{key}{}", dotted(&rest)))
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

fn dotted(rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('[') {
        rest.to_string()
    } else {
        format!(".{rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unpaired_surrogates_become_nul_and_pairs_stay() {
        assert_eq!(replace_unpaired_surrogates(r#"{"a":"x"}"#), None);
        assert_eq!(replace_unpaired_surrogates(r#""\ud83d\ude00""#), None);
        assert_eq!(
            replace_unpaired_surrogates(r#""a\ud83d""#).as_deref(),
            Some(r#""a\u0000""#)
        );
        assert_eq!(
            replace_unpaired_surrogates(r#""\ude00\ud83dx\ud83d\ude00""#).as_deref(),
            Some(r#""\u0000\u0000x\ud83d\ude00""#)
        );
        // An escaped backslash followed by `ud83d` is text, not an escape.
        assert_eq!(replace_unpaired_surrogates(r#""\\ud83d""#), None);
        assert_eq!(
            replace_unpaired_surrogates(r#""\\\ud83d""#).as_deref(),
            Some(r#""\\\u0000""#)
        );
        // A high surrogate followed by another high one is unpaired.
        assert_eq!(
            replace_unpaired_surrogates(r#""\ud83d\ud83d\ude00""#).as_deref(),
            Some(r#""\u0000\ud83d\ude00""#)
        );
    }

    #[test]
    fn a_document_with_unpaired_surrogates_parses_with_nul_in_their_place() {
        let value = parse_json(r#"{"body":"cut \ud83d"}"#).unwrap();
        assert_eq!(value["body"], "cut \0");
        assert!(parse_json(r#"{"body":"#).is_err());
        assert!(parse_json(r#"{"body":"\ud83d"#).is_err());
    }

    #[test]
    fn the_first_field_with_nul_is_named() {
        assert_eq!(find_nul(&json!({ "a": "ok", "n": 1 })), None);
        assert_eq!(find_nul(&json!({ "body": "a\0" })).as_deref(), Some("body"));
        assert_eq!(
            find_nul(&json!({ "userIds": ["a", "b\0"] })).as_deref(),
            Some("userIds[1]")
        );
        assert_eq!(
            find_nul(&json!({ "settings": { "x": ["\0"] } })).as_deref(),
            Some("settings.x[0]")
        );
        assert_eq!(find_nul(&json!({ "k\0": 1 })).as_deref(), Some("k\\u0000"));
        assert_eq!(find_nul(&json!("\0")).as_deref(), Some(""));
    }
}
