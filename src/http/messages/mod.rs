pub mod change;
pub mod changes;
pub mod create;
pub mod list;
pub mod receipts;
