//! Output sinks of arb: the I/O threads fed by the spread core.
//!
//! A counting sink, a hashing sink (for determinism checks) and a JSON-lines writer of
//! spreads, signals and gaps, all driven by [`sink::SinkWorker`]; the Parquet store
//! ([`store`]) on its own thread and ring, and its readers ([`store::read`], [`history`]).
//! The WebSocket/HTTP fan-out ([`serve`]) and the NATS scale-out roles ([`nats`]: a
//! collector's publisher, an engine's receiver) run on their own I/O threads too.
#![deny(missing_docs, missing_debug_implementations)]

pub mod history;
pub mod jsonl;
pub mod names;
pub mod nats;
pub mod serve;
pub mod sink;
pub mod store;
