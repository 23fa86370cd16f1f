//! What a search box's text asks for. PostgreSQL's `websearch_to_tsquery` reads the text
//! (words, `"phrases"`, `-exclusions`, `or`); this reads the same text for what it must find,
//! to highlight it, and to refuse a text with nothing to find.

/// A checked search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The text as given (for `websearch_to_tsquery`).
    pub text: String,
    /// A single word, also found as the prefix of longer words.
    pub prefix: Option<String>,
    /// The words to find, lowercased (not the excluded ones).
    pub terms: Vec<String>,
}

impl SearchQuery {
    /// The text bound to the query's tsquery parameter: the websearch text, or `word:*`.
    pub fn sql_text(&self) -> String {
        match &self.prefix {
            Some(word) => format!("{word}:*"),
            None => self.text.clone(),
        }
    }
}

/// The longest search, in characters.
pub const MAX_CHARS: usize = 200;

/// The shortest word a search is made of, in characters, and so the shortest prefix: one
/// letter begins too many words to be worth an index (PROTOCOL.md v1.2 §14).
pub const MIN_WORD_CHARS: usize = 2;

/// The words of `text`: runs of letters and digits (what PostgreSQL's parser keeps of them),
/// lowercased, each with its position in characters.
pub fn words(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut start = None;
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i, chars[s..i].iter().collect::<String>().to_lowercase()));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((
            s,
            chars.len(),
            chars[s..].iter().collect::<String>().to_lowercase(),
        ));
    }
    out
}

/// Checks `q` (1 to 200 characters with at least one word of 2 or more characters to find)
/// and reads it.
pub fn parse(q: &str) -> Result<SearchQuery, &'static str> {
    let chars = q.chars().count();
    if q.trim().is_empty() || chars > MAX_CHARS {
        return Err("q must be 1-200 characters");
    }
    if q.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err("q must not contain control characters (such as NUL)");
    }
    let mut terms = Vec::new();
    let mut rest = q;
    let mut plain_words = 0usize;
    let mut operators = false;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let negated = c == '-';
        let body = if negated { &rest[1..] } else { rest };
        let (chunk, after, quoted) = match body.strip_prefix('"') {
            Some(inner) => match inner.find('"') {
                Some(end) => (&inner[..end], &inner[end + 1..], true),
                None => (inner, "", true),
            },
            None => {
                let end = body.find(char::is_whitespace).unwrap_or(body.len());
                (&body[..end], &body[end..], false)
            }
        };
        rest = after;
        if !quoted && !negated && chunk.eq_ignore_ascii_case("or") {
            operators = true;
            continue;
        }
        operators |= negated || quoted;
        let found = words(chunk);
        if !negated {
            plain_words += found.len();
            terms.extend(found.into_iter().map(|(_, _, word)| word));
        }
    }
    if terms.is_empty() {
        return Err("q must name at least one word to find");
    }
    if terms.iter().all(|t| t.chars().count() < MIN_WORD_CHARS) {
        return Err("q must name at least one word of 2 or more characters");
    }
    terms.dedup();
    let single = !operators && plain_words == 1 && words(q).len() == 1;
    let prefix = single.then(|| terms[0].clone());
    Ok(SearchQuery {
        text: q.to_string(),
        prefix,
        terms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_word_is_a_prefix() {
        let q = parse("  Deploy ").unwrap();
        assert_eq!(q.prefix.as_deref(), Some("deploy"));
        assert_eq!(q.sql_text(), "deploy:*");
        assert_eq!(parse("東京").unwrap().prefix.as_deref(), Some("東京"));
        // Punctuation around one word leaves one word.
        assert_eq!(parse("deploy!").unwrap().prefix.as_deref(), Some("deploy"));
    }

    #[test]
    fn phrases_exclusions_and_or_are_read_as_postgres_reads_them() {
        let q = parse(r#""release notes" -draft or Привет"#).unwrap();
        assert_eq!(q.prefix, None);
        assert_eq!(q.terms, ["release", "notes", "привет"]);
        assert_eq!(q.sql_text(), r#""release notes" -draft or Привет"#);
        assert_eq!(parse("two words").unwrap().terms, ["two", "words"]);
        assert_eq!(parse("two words").unwrap().prefix, None);
    }

    #[test]
    fn nothing_to_find_is_refused() {
        for bad in [
            "", "   ", "-foo", "or", "\"\"", "!!! ???", "- - -", "-\"a b\"", "a\0b",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&"a".repeat(200)).is_ok());
        // Words of one character alone are too broad to look for.
        for short in ["a", "a b", "\"x y\"", "é -foo", "東", "7 or 8"] {
            assert!(parse(short).is_err(), "{short:?}");
        }
        assert_eq!(parse("ab").unwrap().prefix.as_deref(), Some("ab"));
        assert_eq!(parse("a bc").unwrap().terms, ["a", "bc"]);
        assert!(parse(&"a".repeat(201)).is_err());
        assert!(parse(&"é".repeat(200)).is_ok(), "characters, not bytes");
    }

    #[test]
    fn words_are_runs_of_letters_and_digits() {
        let found: Vec<String> = words("Hello, wörld! foo_bar 3.14 東京タワー")
            .into_iter()
            .map(|w| w.2)
            .collect();
        assert_eq!(
            found,
            ["hello", "wörld", "foo", "bar", "3", "14", "東京タワー"]
        );
    }
}
