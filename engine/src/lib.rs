//! The engine of arb: event model, symbol registry, clock seam, the single-writer spread
//! core with its preallocated per-venue history (pair series derived on read), SPSC rings
//! with explicit full policies, lock-free stage metrics, and the NATS wire encoding of
//! events.
//!
//! Guarantees a caller relies on:
//! - every event type is a small `Copy` struct with interned ids ([`SymbolId`],
//!   [`Exchange`]) and both timestamps in nanoseconds; no `String` travels with a tick;
//! - symbol lookups on the hot path ([`SymbolRegistry::lookup`]) never allocate;
//! - time is read through one seam, [`clock`], so replays can substitute captured time;
//! - [`SpreadCore::on_event`] allocates nothing, takes no lock and makes no syscall; every
//!   table and history series is sized in [`SpreadCore::new`] ([`SpreadCore::bytes_for`]
//!   says how much);
//! - readers of the history and the ranking never block the core (seqlocks over atomics);
//!   pair series (deviation, executable spreads, bands) are derived on the reader's thread
//!   by [`pairs::PairReader`];
//! - events cross machines (collectors → NATS → engine) in the versioned, fixed-size,
//!   little-endian batches of [`wire`] (spec: `engine/WIRE.md`); decoding never panics and
//!   validates a whole batch before any record is handed out.
//!
//! This crate has no network, no async runtime and no storage dependency.
//!
//! # Examples
//!
//! ```
//! use arb_engine::{Exchange, SymbolRegistry};
//!
//! let mut reg = SymbolRegistry::new();
//! let btc = reg.insert(Exchange::Binance, "BTCUSDT", "BTC", "USDT").unwrap();
//! assert_eq!(reg.insert(Exchange::Okx, "BTC-USDT", "BTC", "USDT").unwrap(), btc);
//! assert_eq!(reg.lookup(Exchange::Okx, "BTC-USDT"), Some(btc));
//! assert_eq!(reg.name(btc), "BTC/USDT");
//! ```
#![deny(missing_docs, missing_debug_implementations)]

pub mod clock;
pub mod event;
pub mod history;
pub mod link;
pub mod live_pairs;
pub mod metrics;
pub mod pair;
pub mod pairs;
pub mod ranking;
pub mod ring;
pub mod spread;
pub mod symbol;
pub mod sync;
mod sys;
pub mod wire;
pub mod worker;

pub use event::{Event, Exchange, Quote, Side, SymbolId, Trade, TradeId};
pub use history::{HistoryConfig, HistoryStore};
pub use pair::VenuePair;
pub use spread::{CoreConfig, CoreOut, SpreadCore};
pub use symbol::{SymbolError, SymbolRegistry};
