//! One file per table: the row type, its insert/update forms, and the queries on it.
//! Every function takes the connection (`&mut AsyncPgConnection`, or `&AsyncPgConnection`
//! where its statement is pipelined with others), so callers choose the transaction.

pub mod account;
pub mod attachment;
pub mod block;
pub mod change;
pub mod contact;
pub mod conversation;
pub mod invite;
pub mod login_failure;
pub mod member;
pub mod message;
pub mod reaction;
pub mod receipt;
pub mod refresh_token;
pub mod report;
pub mod user;
pub mod workspace;

/// `LIKE` pattern matching strings that start with `prefix` (wildcards in it escaped).
pub fn prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefix_patterns_escape_wildcards() {
        assert_eq!(super::prefix_pattern("ab"), "ab%");
        assert_eq!(super::prefix_pattern("a%b_c\\"), "a\\%b\\_c\\\\%");
    }
}
