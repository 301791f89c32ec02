//! The Parquet store: every quote, trade, sampled pair spread, signal and gap the engine
//! sees, written by its own I/O thread as zstd Parquet under hive partitions
//! `<root>/<kind>/date=YYYY-MM-DD/hour=HH/`, published by rename only when complete.
//!
//! [`schema`] is the contract readers depend on; [`file`](mod@file) owns the root, the rename
//! protocol and crash recovery; [`worker`] is the thread that feeds them. [`read`] is the
//! reader, [`export`] writes raw rows out as CSV or JSON lines.

pub mod export;
pub mod file;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixture;
pub mod read;
pub mod rows;
pub mod schema;
pub mod worker;

pub use file::{FileConfig, Recovery, StoreError, StoreFiles, Written};
pub use schema::Kind;
pub use worker::{StoreConfig, StoreStats, StoreWorker};
