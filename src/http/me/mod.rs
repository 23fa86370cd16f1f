pub mod get;
pub mod update;
