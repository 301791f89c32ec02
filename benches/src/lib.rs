//! The benchmarks of arb: per-venue frame decoding against a serde_json baseline, the spread
//! core's per-quote update and the SPSC ring hop between threads.
//!
//! The library holds what the benches share and what must be unit-tested, so a bench can
//! never silently measure something else than it claims:
//! - [`fixtures`]: the representative frames per venue and message, taken from the feed
//!   fixtures in `feeds/tests/data/` (BingX also gzipped, MEXC as protobuf wire bytes);
//! - [`baseline`]: the decoder most Rust exchange libraries write (`serde_json::from_slice`
//!   into borrowed `#[derive(Deserialize)]` structs, then `str::parse::<f64>()`), tested to
//!   produce the same quotes and trades as arb's decoders on those frames.
//!
//! The benches themselves live in `benches/`: `decode` (fast path, validating simd-json
//! path and serde_json baseline side by side per venue and message) and `core` (spread core
//! per quote, ring hop). How to run them and the measured numbers: `README.md`.
//!
//! # Examples
//!
//! ```
//! use arb_benches::baseline::Baseline;
//! use arb_benches::fixtures;
//!
//! let frames = fixtures::frames().expect("fixtures");
//! let binance = &frames[0];
//! let mut base = Baseline::for_frame(binance).expect("a JSON frame has a baseline");
//! let item = base.decode(&binance.bytes).expect("baseline decodes its frame");
//! assert_eq!(fixtures::sink_value(&item), 8010.0);
//! ```
#![deny(missing_docs, missing_debug_implementations)]

pub mod baseline;
pub mod fixtures;
