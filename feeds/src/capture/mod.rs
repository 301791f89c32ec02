//! The capture format: an append-only binary file of raw WebSocket frames exactly as
//! received, with their local receive timestamps, plus the symbol table they refer to.
//!
//! Byte layout, guarantees and a reader in Python: `feeds/CAPTURE.md`.
//!
//! Guarantees a caller relies on:
//! - a capture written by [`CaptureWriter`] becomes visible under its final name only after
//!   [`CaptureWriter::finish`] flushed, fsynced and renamed it; until then it lives at
//!   `<path>.partial`, so a visible capture is always complete;
//! - reading is zero-copy: [`Record::payload`] borrows the memory map (or byte slice);
//! - every record carries a CRC32; reading stops at the first truncated or corrupt record and
//!   reports why ([`TailStatus`]), and the valid prefix before it still replays;
//! - the only unsafe code is the memory map in [`CaptureFile::open`], whose caller promises
//!   that the file is not truncated or modified while mapped.
//!
//! # Examples
//!
//! ```
//! use arb_engine::{Exchange, SymbolRegistry};
//! use arb_feeds::capture::{CaptureBuf, CaptureReader, Record, RecordKind, TailStatus};
//!
//! let mut symbols = SymbolRegistry::new();
//! symbols.insert(Exchange::Okx, "BTC-USDT", "BTC", "USDT").unwrap();
//!
//! let mut buf = CaptureBuf::new(&symbols, 1_767_225_600_000_000_000).unwrap();
//! buf.append(Record {
//!     recv_ts_ns: 1_767_225_600_000_000_001,
//!     exchange: Exchange::Okx,
//!     kind: RecordKind::Text,
//!     conn_id: 0,
//!     payload: b"pong",
//! })
//! .unwrap();
//!
//! let bytes = buf.into_bytes();
//! let reader = CaptureReader::new(&bytes).unwrap();
//! assert_eq!(reader.symbols().unwrap().len(), 1);
//! let mut records = reader.records();
//! assert_eq!(records.next().unwrap().payload, b"pong");
//! assert!(records.next().is_none());
//! assert_eq!(records.tail(), Some(TailStatus::Clean));
//! ```

mod error;
mod format;
mod mmap;
mod reader;
mod writer;

pub use error::CaptureError;
pub use format::{
    ALIGN_BYTES, CaptureHeader, FIXED_HEADER_BYTES, MAGIC, MAX_META_BYTES, MAX_PAYLOAD_BYTES,
    RECORD_HEADER_BYTES, Record, RecordKind, VERSION, encode_metadata, parse_metadata,
};
pub use mmap::CaptureFile;
pub use reader::{CaptureReader, CaptureStats, CorruptReason, Records, TailStatus};
pub use writer::{CaptureBuf, CaptureSummary, CaptureWriter};
