//! Shared helpers of the feed tests: fixture loading, owned decode results, mutations, a
//! live feed on loopback.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::PathBuf;

use arb_engine::Side;
use arb_feeds::{ControlKind, Decoded, FrameDecoder, FrameKind, ParseError};

/// An owned copy of one decoded item, for assertions.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Quote {
        native: String,
        bid: f64,
        bid_qty: f64,
        ask: f64,
        ask_qty: f64,
        ts: i64,
    },
    Trade {
        native: String,
        px: f64,
        qty: f64,
        side: Side,
        id: String,
        ts: i64,
    },
    Control {
        kind: ControlKind,
        what: &'static str,
        id: Option<String>,
        code: Option<i64>,
        text: Option<String>,
    },
}

impl Item {
    pub fn from_decoded(d: Decoded<'_>) -> Item {
        match d {
            Decoded::Quote(q) => Item::Quote {
                native: q.native.to_owned(),
                bid: q.bid_px,
                bid_qty: q.bid_qty,
                ask: q.ask_px,
                ask_qty: q.ask_qty,
                ts: q.exch_ts_ns,
            },
            Decoded::Trade(t) => Item::Trade {
                native: t.native.to_owned(),
                px: t.px,
                qty: t.qty,
                side: t.side,
                id: t.trade_id.to_string(),
                ts: t.exch_ts_ns,
            },
            Decoded::Control(c) => Item::Control {
                kind: c.kind,
                what: c.what,
                id: c.id.map(str::to_owned),
                code: c.code,
                text: c.text.map(str::to_owned),
            },
        }
    }

    pub fn quote(native: &str, bid: f64, bid_qty: f64, ask: f64, ask_qty: f64, ts: i64) -> Item {
        Item::Quote {
            native: native.to_owned(),
            bid,
            bid_qty,
            ask,
            ask_qty,
            ts,
        }
    }

    pub fn trade(native: &str, px: f64, qty: f64, side: Side, id: &str, ts: i64) -> Item {
        Item::Trade {
            native: native.to_owned(),
            px,
            qty,
            side,
            id: id.to_owned(),
            ts,
        }
    }

    pub fn control_kind(&self) -> Option<ControlKind> {
        match self {
            Item::Control { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

/// Path of a fixture file under `feeds/tests/data/<venue>/`.
pub fn data_path(venue: &str, file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(venue)
        .join(file)
}

/// Non-empty, non-comment lines of a fixture file.
pub fn lines(venue: &str, file: &str) -> Vec<String> {
    let path = data_path(venue, file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Decodes one frame with the production path.
pub fn decode<D: FrameDecoder>(
    dec: &mut D,
    kind: FrameKind,
    frame: &[u8],
) -> (Vec<Item>, Result<(), ParseError>) {
    let mut items = Vec::new();
    let r = dec.decode(kind, frame, &mut |d| items.push(Item::from_decoded(d)));
    (items, r)
}

/// Decodes one frame with the validating path only.
pub fn decode_validating<D: FrameDecoder>(
    dec: &mut D,
    kind: FrameKind,
    frame: &[u8],
) -> (Vec<Item>, Result<(), ParseError>) {
    let mut items = Vec::new();
    let r = dec.decode_validating(kind, frame, &mut |d| items.push(Item::from_decoded(d)));
    (items, r)
}

/// Decodes with both paths (fresh decoders from `make`), asserts they agree, returns the
/// production result.
pub fn decode_both<D: FrameDecoder>(
    make: impl Fn() -> D,
    kind: FrameKind,
    frame: &[u8],
) -> (Vec<Item>, Result<(), ParseError>) {
    let fast = decode(&mut make(), kind, frame);
    let slow = decode_validating(&mut make(), kind, frame);
    assert_eq!(
        fast,
        slow,
        "fast and validating paths differ on {:?}",
        String::from_utf8_lossy(frame)
    );
    fast
}

/// Decodes a fixture line expected to hold exactly the given items, on both paths.
pub fn expect_items<D: FrameDecoder>(
    make: impl Fn() -> D,
    kind: FrameKind,
    frame: &[u8],
    expected: &[Item],
) {
    let (items, r) = decode_both(make, kind, frame);
    assert_eq!(r, Ok(()), "frame {:?}", String::from_utf8_lossy(frame));
    assert_eq!(
        items,
        expected,
        "frame {:?}",
        String::from_utf8_lossy(frame)
    );
}

/// Truncations at every byte and single-byte mutations of `frame`.
pub fn mutations(frame: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for cut in 0..frame.len() {
        out.push(frame[..cut].to_vec());
    }
    let replacements: &[u8] = b"\"{}[],:0-.9ex\\ \x00\xff";
    for i in 0..frame.len() {
        for &r in replacements {
            if frame[i] != r {
                let mut m = frame.to_vec();
                m[i] = r;
                out.push(m);
            }
        }
    }
    out
}

/// Runs every mutation of `frame` through both paths: no panics, identical results, and
/// every truncation is an error or yields nothing.
pub fn check_mutations<D: FrameDecoder>(make: impl Fn() -> D, kind: FrameKind, frame: &[u8]) {
    let mut fast = make();
    let mut slow = make();
    for m in mutations(frame) {
        let a = decode(&mut fast, kind, &m);
        let b = decode_validating(&mut slow, kind, &m);
        assert_eq!(
            a,
            b,
            "paths differ on mutation {:?}",
            String::from_utf8_lossy(&m)
        );
    }
    for cut in 1..frame.len() {
        let (items, r) = decode(&mut fast, kind, &frame[..cut]);
        assert!(
            r.is_err() || items.is_empty() || kind == FrameKind::Binary,
            "truncation decoded: {:?}",
            String::from_utf8_lossy(&frame[..cut])
        );
    }
}

/// Epoch ms to ns.
pub const fn ms(v: i64) -> i64 {
    v * 1_000_000
}

/// A live feed with one OKX connection to `url` subscribing `BTC-USDT`, its worker, the
/// core side of its ring and its counters (the live client tests).
pub fn okx_live_feed(
    url: String,
    tune: impl FnOnce(&mut arb_feeds::live::VenueRules),
) -> (
    arb_feeds::live::LiveFeed,
    arb_feeds::feed::FeedWorker,
    arb_engine::link::FeedRx,
    std::sync::Arc<arb_feeds::live::LinkStats>,
    std::sync::Arc<arb_feeds::feed::FeedStats>,
) {
    use arb_engine::ring::{Doorbell, FullPolicy};
    use arb_engine::{Exchange, SymbolRegistry};
    use std::sync::Arc;
    let mut reg = SymbolRegistry::new();
    reg.insert(Exchange::Okx, "BTC-USDT", "BTC", "USDT")
        .unwrap();
    let (tx, rx) = arb_engine::link::channel(1 << 16, 64, FullPolicy::DropNewest, Doorbell::new());
    let (rec, _col) = arb_engine::metrics::stage_channel(1_000_000_000, 1);
    let feed_stats = arb_feeds::feed::FeedStats::new();
    let worker = arb_feeds::feed::FeedWorker::new(Arc::new(reg), tx, rec, Arc::clone(&feed_stats));
    let mut rules = arb_feeds::live::VenueRules::defaults(Exchange::Okx);
    rules.ws_url = url;
    tune(&mut rules);
    let stats = arb_feeds::live::LinkStats::new();
    let plan = arb_feeds::live::VenuePlan {
        rules,
        natives: vec!["BTC-USDT".into()],
        endpoint: None,
    };
    let tls = arb_feeds::tls::client_config(&[]).unwrap();
    let feed = arb_feeds::live::LiveFeed::new(vec![plan], tls, Arc::clone(&stats), false).unwrap();
    (feed, worker, rx, stats, feed_stats)
}
