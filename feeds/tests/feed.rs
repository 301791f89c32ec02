//! The feed worker's connection handling: one connection limit shared with the core, a
//! decoder per connection that no other connection shares, reconnects that reset it.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arb_engine::event::{ConnState, MAX_CONNS_PER_VENUE};
use arb_engine::link::{self, FeedRx};
use arb_engine::metrics::stage_channel;
use arb_engine::ring::{Doorbell, FullPolicy};
use arb_engine::{Event, Exchange, SymbolRegistry};
use arb_feeds::FrameKind;
use arb_feeds::feed::{FeedStats, FeedWorker};

const SNAPSHOT: &[u8] = br#"{"topic":"orderbook.1.BTCUSDT","ts":1680652806504,"type":"snapshot","data":{"s":"BTCUSDT","b":[["28165.07","0.175231"]],"a":[["28165.08","0.996816"]],"u":20404754,"seq":4281281856}}"#;
const DELTA: &[u8] = br#"{"topic":"orderbook.1.BTCUSDT","ts":1680652806615,"type":"delta","data":{"s":"BTCUSDT","b":[["28165.07","0.166754"]],"a":[],"u":20404755,"seq":4281281875}}"#;

fn worker() -> (FeedWorker, FeedRx, Arc<FeedStats>) {
    let mut reg = SymbolRegistry::new();
    reg.insert(Exchange::Bybit, "BTCUSDT", "BTC", "USDT")
        .unwrap();
    let (tx, rx) = link::channel(64, 8, FullPolicy::DropNewest, Doorbell::new());
    let (rec, _col) = stage_channel(1_000_000_000, 1);
    let stats = FeedStats::new();
    (
        FeedWorker::new(Arc::new(reg), tx, rec, Arc::clone(&stats)),
        rx,
        stats,
    )
}

fn quotes(rx: &mut FeedRx) -> usize {
    std::iter::from_fn(|| rx.pop())
        .filter(|e| matches!(e.item, Event::Quote(_)))
        .count()
}

/// Issue 6, item 3: ids at and past the limit are refused with a clear error, never
/// folded into another connection's decoder.
#[test]
fn connection_ids_past_the_limit_are_refused() {
    let (mut w, mut rx, stats) = worker();
    let past = MAX_CONNS_PER_VENUE as u16;
    let err = w
        .on_connection(Exchange::Bybit, past, ConnState::Connected, 1)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "connection id 256 of bybit is past the limit of 256 connections per venue (ids 0..=255)"
    );
    w.on_frame(Exchange::Bybit, past, FrameKind::Text, 1, SNAPSHOT);
    w.finish();
    assert!(rx.pop().is_none(), "nothing from a refused connection");
    assert_eq!(stats.rejected_conn.load(Ordering::Relaxed), 2);
    // The last valid id works.
    w.on_connection(Exchange::Bybit, past - 1, ConnState::Connected, 1)
        .unwrap();
    w.on_frame(Exchange::Bybit, past - 1, FrameKind::Text, 2, SNAPSHOT);
    assert_eq!(quotes(&mut rx), 1);
}

/// Bybit deltas carry only the changed side: a delta on one connection must never merge
/// into the book another connection holds (ids 63 and 64 shared a decoder before).
#[test]
fn every_connection_has_its_own_decoder() {
    let (mut w, mut rx, stats) = worker();
    w.on_frame(Exchange::Bybit, 63, FrameKind::Text, 1, SNAPSHOT);
    w.on_frame(Exchange::Bybit, 64, FrameKind::Text, 2, DELTA);
    w.on_frame(Exchange::Bybit, 200, FrameKind::Text, 3, DELTA);
    w.finish();
    assert_eq!(quotes(&mut rx), 1, "only the snapshot's quote");
    let errors: u64 = stats.decode_errors_total();
    assert_eq!(errors, 2, "each lone delta is an empty-side error");
    // The connection that holds the book merges its own delta.
    w.on_frame(Exchange::Bybit, 63, FrameKind::Text, 4, DELTA);
    assert_eq!(quotes(&mut rx), 1);
}

/// A disconnect resets the connection's session (no stale book after a reconnect) and
/// reaches the core on the state lane, even with the data ring full.
#[test]
fn a_disconnect_resets_the_book_and_always_reaches_the_core() {
    let (mut w, mut rx, stats) = worker();
    for i in 0..100 {
        w.on_frame(Exchange::Bybit, 5, FrameKind::Text, i, SNAPSHOT);
    }
    w.on_connection(Exchange::Bybit, 5, ConnState::Disconnected, 200)
        .unwrap();
    w.on_connection(Exchange::Bybit, 5, ConnState::Connected, 300)
        .unwrap();
    let events: Vec<Event> = std::iter::from_fn(|| rx.pop()).map(|e| e.item).collect();
    assert_eq!(
        events.len(),
        64 + 2,
        "64 quotes fit the ring; both states got through"
    );
    assert!(
        matches!(events[64], Event::Venue(v) if v.state == ConnState::Disconnected),
        "{:?}",
        events[64]
    );
    assert!(matches!(events[65], Event::Venue(v) if v.state == ConnState::Connected));
    // The new session holds no book: a lone delta cannot make a quote from the old one.
    w.on_frame(Exchange::Bybit, 5, FrameKind::Text, 400, DELTA);
    w.finish();
    assert_eq!(quotes(&mut rx), 0);
    assert_eq!(stats.decode_errors_total(), 1);
}

/// Replayed receive times are whatever the file holds: extreme ones must not overflow the
/// exchange→receive latency arithmetic.
#[test]
fn extreme_receive_times_never_overflow() {
    let (mut w, mut rx, _stats) = worker();
    w.set_time_shift(i64::MAX);
    w.on_frame(Exchange::Bybit, 1, FrameKind::Text, i64::MIN, SNAPSHOT);
    w.set_time_shift(i64::MIN);
    w.on_frame(Exchange::Bybit, 1, FrameKind::Text, i64::MAX, SNAPSHOT);
    w.finish();
    assert_eq!(quotes(&mut rx), 2);
}
