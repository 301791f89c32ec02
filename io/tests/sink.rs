//! The sinks: JSON lines stay valid JSON whatever the numbers, the worker counts every
//! output kind, and the output hash tells different runs apart.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arb_engine::metrics::stage_channel;
use arb_engine::ring::{Envelope, RingBuffer};
use arb_engine::spread::{
    CoreOut, GapRecord, PairSpread, PairSpreads, QuoteUpdate, Signal, SignalKind,
};
use arb_engine::{Event, Exchange, Quote, SpreadCore, SymbolId, SymbolRegistry, VenuePair};
use arb_io::jsonl::JsonlWriter;
use arb_io::sink::{OutputHash, SinkStats, SinkWorker};

fn registry(base: &str) -> Arc<SymbolRegistry> {
    let mut r = SymbolRegistry::new();
    r.insert(Exchange::Binance, "XUSDT", base, "USDT").unwrap();
    r.insert(Exchange::Okx, "X-USDT", base, "USDT").unwrap();
    Arc::new(r)
}

fn quote_update(dev: f64, exec_ab: f64, exec_ba: f64) -> CoreOut {
    let mut spreads = PairSpreads::EMPTY;
    spreads.push(PairSpread {
        pair: VenuePair::new(Exchange::Binance, Exchange::Okx).unwrap(),
        dev_pct: dev,
        exec_ab_pct: exec_ab,
        exec_ba_pct: exec_ba,
        other_age_ns: 5,
    });
    CoreOut::Quote(QuoteUpdate {
        quote: Quote {
            symbol: SymbolId(0),
            exchange: Exchange::Okx,
            conn_id: 0,
            bid_px: 1.0,
            bid_qty: 1.0,
            ask_px: 1.0,
            ask_qty: 1.0,
            exch_ts_ns: 0,
            recv_ts_ns: 7,
        },
        own_spread_pct: 0.0,
        spreads,
    })
}

fn lines(reg: Arc<SymbolRegistry>, outs: &[CoreOut]) -> Vec<serde_json::Value> {
    let mut w = JsonlWriter::new(Vec::new(), reg);
    for o in outs {
        w.write(o).unwrap();
    }
    let bytes = w.into_inner();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid JSON line {l}: {e}")))
        .collect()
}

/// Issue 6, item 5: NaN and infinities are not JSON; they must never reach a line.
#[test]
fn jsonl_writes_non_finite_numbers_as_null() {
    let signal = CoreOut::Signal(Signal {
        ts_ns: 9,
        symbol: SymbolId(0),
        pair: VenuePair::new(Exchange::Binance, Exchange::Okx).unwrap(),
        kind: SignalKind::Entry,
        dev_pct: f64::NEG_INFINITY,
    });
    let got = lines(
        registry("BTC"),
        &[quote_update(f64::NAN, f64::INFINITY, 0.25), signal],
    );
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["type"], "spread");
    assert!(got[0]["dev_pct"].is_null());
    assert!(got[0]["exec_ab_pct"].is_null());
    assert_eq!(got[0]["exec_ba_pct"], 0.25);
    assert_eq!(got[0]["symbol"], "BTC/USDT");
    assert!(got[1]["dev_pct"].is_null());
    assert_eq!(got[1]["kind"], "entry");
}

/// Extreme but valid prices reach the core, and whatever it computes is written as JSON.
#[test]
fn extreme_prices_through_the_core_stay_valid_json() {
    let reg = registry("MEME");
    let mut core = SpreadCore::new(&reg, Default::default());
    let mut outs = Vec::new();
    for (ex, bid, ask) in [
        (Exchange::Binance, 1e-320, 1e-320),
        (Exchange::Okx, 1e300, 1e308),
        (Exchange::Binance, 1e308, 1e308),
    ] {
        let q = Event::Quote(Quote {
            symbol: SymbolId(0),
            exchange: ex,
            conn_id: 0,
            bid_px: bid,
            bid_qty: 1.0,
            ask_px: ask,
            ask_qty: 1.0,
            exch_ts_ns: 0,
            recv_ts_ns: 1,
        });
        core.on_event(&q, &mut |o| outs.push(o));
    }
    let got = lines(reg, &outs);
    let spreads: Vec<_> = got.iter().filter(|l| l["type"] == "spread").collect();
    assert_eq!(spreads.len(), 2, "{got:?}");
    assert!(
        spreads[0]["exec_ab_pct"].is_null(),
        "(1e300 - 1e-320) / 1e-320 overflows to inf: {got:?}"
    );
}

#[test]
fn sink_worker_counts_every_kind_and_hashes_deterministically() {
    let outs = [
        quote_update(1.0, 2.0, 3.0),
        CoreOut::Signal(Signal {
            ts_ns: 9,
            symbol: SymbolId(0),
            pair: VenuePair::new(Exchange::Binance, Exchange::Okx).unwrap(),
            kind: SignalKind::Exit,
            dev_pct: 0.01,
        }),
        CoreOut::Gap(GapRecord {
            exchange: Exchange::Okx,
            conn_id: 2,
            symbols_affected: 1,
            start_ns: 1,
            end_ns: 2,
        }),
    ];
    let run = |outs: &[CoreOut]| {
        let (mut tx, rx) = RingBuffer::new(16);
        for o in outs {
            tx.push(Envelope {
                item: *o,
                stamp_ns: 0,
            })
            .unwrap();
        }
        drop(tx);
        let (rec, _col) = stage_channel(1_000_000_000, 1);
        let stats = Arc::new(SinkStats::default());
        let mut sink = SinkWorker::new(rx, rec, Arc::clone(&stats)).with_hash();
        while !sink.input_closed() {
            sink.pump();
        }
        let hash = sink.finish().unwrap().unwrap();
        let r = Ordering::Relaxed;
        let counts = [
            &stats.quotes,
            &stats.spreads,
            &stats.signals,
            &stats.gaps,
            &stats.trades,
        ]
        .map(|a| a.load(r));
        (hash, counts)
    };
    let (h1, counts) = run(&outs);
    assert_eq!(counts, [1, 1, 1, 1, 0]);
    assert_eq!(run(&outs).0, h1, "same outputs, same hash");
    let mut changed = outs;
    changed[0] = quote_update(1.0, 2.0, 3.000_000_000_000_001);
    assert_ne!(run(&changed).0, h1, "one ulp changes the hash");
    let mut h = OutputHash::default();
    h.add(&outs[0]);
    assert_ne!(h.value(), OutputHash::default().value());
}
