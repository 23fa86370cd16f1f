pub mod create;
pub mod delete;
