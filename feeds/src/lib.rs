//! Exchange adapters of arb: frame decoders and subscribe requests for the eight venues,
//! the feed worker that turns frames into engine events, the capture file format, the
//! synthetic capture generator, REST symbol discovery and the TLS roots of the live feeds.
//!
//! Guarantees a caller relies on:
//! - decoding never panics on any input: bad frames are [`ParseError`]s, counted by the caller;
//! - after warm-up, decoding a frame allocates nothing (each decoder owns its buffers);
//! - every JSON venue has a layout-specific fast path for its hot messages that falls back
//!   to the validating simd-json path, and both give identical results.
//!
//! # Examples
//!
//! ```
//! use arb_feeds::{Decoded, FrameDecoder, FrameKind, binance::BinanceDecoder};
//!
//! let mut dec = BinanceDecoder::new();
//! let frame = br#"{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"8010.5","B":"1","a":"8011","A":"2"}}"#;
//! let mut bids = Vec::new();
//! dec.decode(FrameKind::Text, frame, &mut |d| {
//!     if let Decoded::Quote(q) = d {
//!         bids.push(q.bid_px);
//!     }
//! })
//! .unwrap();
//! assert_eq!(bids, [8010.5]);
//! ```
#![deny(missing_docs, missing_debug_implementations)]

pub mod capture;
pub mod decode;
pub mod discover;
pub mod error;
pub mod feed;
pub mod r#gen;
pub mod json;
pub mod num;
pub mod scan;
pub mod tls;

pub mod live;
pub mod venue;

pub mod binance;
pub mod bingx;
pub mod bitget;
pub mod bybit;
pub mod gateio;
pub mod kucoin;
pub mod mexc;
pub mod okx;

pub use decode::{
    Control, ControlKind, Decoded, FrameDecoder, FrameKind, RawQuote, RawTrade, RawTradeId,
};
pub use error::ParseError;
pub use venue::AnyDecoder;
