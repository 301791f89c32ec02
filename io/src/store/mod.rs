//! The Parquet store: every quote, trade, sampled pair spread, signal and gap the engine
//! sees, written by its own I/O thread as zstd Parquet under hive partitions
//! `<root>/<kind>/date=YYYY-MM-DD/hour=HH/`, published by rename only when complete.
//!
//! [`schema`] is the contract readers depend on.

pub mod schema;
