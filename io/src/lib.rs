//! Output sinks of arb: the I/O threads fed by the spread core.
//!
//! Today: a counting sink, a hashing sink (for determinism checks) and a JSON-lines
//! writer of spreads, signals and gaps, all driven by [`sink::SinkWorker`]. The Parquet
//! writer and the WebSocket/HTTP fan-out plug into the same worker in later issues.
#![deny(missing_docs, missing_debug_implementations)]

pub mod jsonl;
pub mod sink;
