pub mod complete;
pub mod create;
