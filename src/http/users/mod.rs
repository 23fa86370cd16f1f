pub mod get;
pub mod search;
