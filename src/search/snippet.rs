//! A result's snippet: plain text of at most 200 characters around the first match, and the
//! `[start, end)` ranges of the matched words in it, in UTF-16 code units (what a browser's
//! string methods count).

use super::query::{words, SearchQuery};

/// The most characters a snippet has.
pub const MAX_CHARS: usize = 200;

/// How many characters of context come before the first match when the body is cut.
const LEAD: usize = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<[usize; 2]>,
}

fn matches(word: &str, query: &SearchQuery) -> bool {
    match &query.prefix {
        Some(prefix) => word.starts_with(prefix.as_str()),
        None => query.terms.iter().any(|t| t == word),
    }
}

/// The snippet of `body` for `query`.
pub fn snippet(body: &str, query: &SearchQuery) -> Snippet {
    let chars: Vec<char> = body.chars().collect();
    let found = words(body);
    let first = found.iter().find(|(_, _, w)| matches(w, query));
    let (start, end) = if chars.len() <= MAX_CHARS {
        (0, chars.len())
    } else {
        let at = first.map_or(0, |(s, _, _)| *s);
        // Start at the first word that begins some way before the match, so the cut reads
        // well.
        let lead = at.saturating_sub(LEAD);
        let start = found
            .iter()
            .map(|(s, _, _)| *s)
            .find(|s| *s >= lead && *s <= at)
            .unwrap_or(at);
        (start, (start + MAX_CHARS).min(chars.len()))
    };
    let text: String = chars[start..end].iter().collect();
    // UTF-16 offsets of each character of the snippet.
    let mut offsets = Vec::with_capacity(end - start + 1);
    let mut unit = 0;
    for c in &chars[start..end] {
        offsets.push(unit);
        unit += c.len_utf16();
    }
    offsets.push(unit);
    let highlights = found
        .iter()
        .filter(|(s, e, w)| *s >= start && *e <= end && matches(w, query))
        .map(|(s, e, _)| [offsets[s - start], offsets[e - start]])
        .collect();
    Snippet { text, highlights }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::parse;

    /// The highlighted parts of `s`, cut by UTF-16 code units as a browser would.
    fn cut(s: &Snippet) -> Vec<String> {
        let units: Vec<u16> = s.text.encode_utf16().collect();
        s.highlights
            .iter()
            .map(|[a, b]| String::from_utf16(&units[*a..*b]).unwrap())
            .collect()
    }

    #[test]
    fn highlights_count_utf16_units_across_emoji_and_accents() {
        let q = parse("café or 東京").unwrap();
        let s = snippet("🎉🎉 Le Café du coin, près de 東京 😀 café!", &q);
        assert_eq!(s.text, "🎉🎉 Le Café du coin, près de 東京 😀 café!");
        assert_eq!(cut(&s), ["Café", "東京", "café"]);
        assert_eq!(s.highlights[0], [8, 12], "each 🎉 is two units");
    }

    #[test]
    fn a_prefix_highlights_the_longer_words_it_found() {
        let q = parse("deploy").unwrap();
        let s = snippet("Deployment done; we deploy again, redeploy never", &q);
        assert_eq!(cut(&s), ["Deployment", "deploy"]);
    }

    #[test]
    fn long_bodies_are_cut_around_the_first_match() {
        let q = parse("needle").unwrap();
        let body = format!("{} needle {}", "hay ".repeat(100), "straw ".repeat(100));
        let s = snippet(&body, &q);
        assert!(s.text.chars().count() <= MAX_CHARS);
        assert_eq!(cut(&s), ["needle"]);
        assert!(s.text.starts_with("hay "), "{:?}", s.text);
        let plain = snippet(&"x".repeat(500), &q);
        assert_eq!(plain.text.chars().count(), MAX_CHARS);
        assert!(plain.highlights.is_empty());
    }

    #[test]
    fn phrases_highlight_each_of_their_words() {
        let q = parse(r#""release notes" -draft"#).unwrap();
        let s = snippet("The release notes, not the draft notes", &q);
        assert_eq!(cut(&s), ["release", "notes", "notes"]);
    }
}
