//! The sinks: JSON lines stay valid JSON whatever the numbers, the worker counts every
//! output kind and derives pair spreads off the core, and the output hash tells different
//! runs apart.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use arb_engine::live_pairs::LivePairs;
use arb_engine::metrics::stage_channel;
use arb_engine::ring::{Envelope, RingBuffer};
use arb_engine::spread::{CoreOut, GapRecord, QuoteUpdate, Signal, SignalKind, SpreadUpdate};
use arb_engine::{Event, Exchange, Quote, SpreadCore, SymbolId, SymbolRegistry, VenuePair};
use arb_io::jsonl::JsonlWriter;
use arb_io::sink::{OutputHash, SinkStats, SinkWorker};

fn registry(base: &str) -> Arc<SymbolRegistry> {
    let mut r = SymbolRegistry::new();
    r.insert(Exchange::Binance, "XUSDT", base, "USDT").unwrap();
    r.insert(Exchange::Okx, "X-USDT", base, "USDT").unwrap();
    Arc::new(r)
}

fn pair() -> VenuePair {
    VenuePair::new(Exchange::Binance, Exchange::Okx).unwrap()
}

fn spread(dev: f64, exec_ab: f64, exec_ba: f64) -> SpreadUpdate {
    SpreadUpdate {
        ts_ns: 7,
        symbol: SymbolId(0),
        pair: pair(),
        trigger: Exchange::Okx,
        dev_pct: dev,
        exec_ab_pct: exec_ab,
        exec_ba_pct: exec_ba,
        other_age_ns: 5,
    }
}

fn raw_quote(ex: Exchange, bid: f64, ask: f64, ts: i64) -> Quote {
    Quote {
        symbol: SymbolId(0),
        exchange: ex,
        conn_id: 0,
        bid_px: bid,
        bid_qty: 1.0,
        ask_px: ask,
        ask_qty: 1.0,
        exch_ts_ns: 0,
        recv_ts_ns: ts,
    }
}

fn quote(ex: Exchange, bid: f64, ask: f64, ts: i64) -> CoreOut {
    CoreOut::Quote(QuoteUpdate {
        quote: raw_quote(ex, bid, ask, ts),
        own_spread_pct: 0.0,
        history_ts_ns: ts,
    })
}

fn parse(bytes: Vec<u8>) -> Vec<serde_json::Value> {
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid JSON line {l}: {e}")))
        .collect()
}

/// Issue 6, item 5: NaN and infinities are not JSON; they must never reach a line.
#[test]
fn jsonl_writes_non_finite_numbers_as_null() {
    let mut w = JsonlWriter::new(Vec::new(), registry("BTC"));
    w.write_spread(&spread(f64::NAN, f64::INFINITY, 0.25))
        .unwrap();
    w.write(&CoreOut::Signal(Signal {
        ts_ns: 9,
        symbol: SymbolId(0),
        pair: pair(),
        kind: SignalKind::Entry,
        dev_pct: f64::NEG_INFINITY,
    }))
    .unwrap();
    let got = parse(w.into_inner());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["type"], "spread");
    assert!(got[0]["dev_pct"].is_null());
    assert!(got[0]["exec_ab_pct"].is_null());
    assert_eq!(got[0]["exec_ba_pct"], 0.25);
    assert_eq!(got[0]["symbol"], "BTC/USDT");
    assert!(got[1]["dev_pct"].is_null());
    assert_eq!(got[1]["kind"], "entry");
}

/// Extreme but valid prices reach the core, and whatever is derived from them is written
/// as JSON.
#[test]
fn extreme_prices_through_the_core_stay_valid_json() {
    let reg = registry("MEME");
    let cfg = arb_engine::CoreConfig::default();
    let mut core = SpreadCore::new(&reg, cfg);
    let mut outs = Vec::new();
    for (ex, bid, ask) in [
        (Exchange::Binance, 1e-320, 1e-320),
        (Exchange::Okx, 1e300, 1e308),
        (Exchange::Binance, 1e308, 1e308),
    ] {
        let q = Event::Quote(raw_quote(ex, bid, ask, 1));
        core.on_event(&q, &mut |o| outs.push(o));
    }
    let mut live = LivePairs::new(reg.len(), cfg.stale_after_ns);
    let mut w = JsonlWriter::new(Vec::new(), Arc::clone(&reg));
    for o in &outs {
        w.write(o).unwrap();
        live.apply(o, |s| w.write_spread(s).unwrap());
    }
    let got = parse(w.into_inner());
    let spreads: Vec<_> = got.iter().filter(|l| l["type"] == "spread").collect();
    assert_eq!(spreads.len(), 2, "{got:?}");
    assert!(
        spreads[0]["exec_ab_pct"].is_null(),
        "(1e300 - 1e-320) / 1e-320 overflows to inf: {got:?}"
    );
}

fn run_sink(outs: &[CoreOut]) -> (u64, [u64; 5], Vec<serde_json::Value>) {
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
    let path = std::env::temp_dir().join(format!(
        "arb-io-sink-{}-{}.jsonl",
        std::process::id(),
        outs.len()
    ));
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut sink = SinkWorker::new(rx, rec, Arc::clone(&stats))
        .with_spreads(LivePairs::new(1, 5_000_000_000))
        .with_hash()
        .with_jsonl(JsonlWriter::new(file, registry("BTC")));
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
    let lines = parse(std::fs::read(&path).unwrap());
    let _ = std::fs::remove_file(&path);
    (hash, counts, lines)
}

#[test]
fn sink_worker_derives_spreads_counts_every_kind_and_hashes_deterministically() {
    let outs = [
        quote(Exchange::Binance, 100.0, 100.5, 1),
        quote(Exchange::Okx, 101.0, 101.2, 2),
        CoreOut::Signal(Signal {
            ts_ns: 9,
            symbol: SymbolId(0),
            pair: pair(),
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
    let (h1, counts, lines) = run_sink(&outs);
    assert_eq!(counts, [2, 1, 1, 1, 0]);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["type"], "spread");
    assert_eq!(lines[0]["trigger"], "okx");
    let dev = lines[0]["dev_pct"].as_f64().unwrap();
    assert!((dev - (100.0 / 101.0 - 1.0) * 100.0).abs() < 1e-12);
    assert_eq!(run_sink(&outs).0, h1, "same outputs, same hash");
    let mut changed = outs;
    changed[1] = quote(Exchange::Okx, 101.0, 101.200_000_000_000_01, 2);
    assert_ne!(run_sink(&changed).0, h1, "one ulp changes the hash");
    let mut h = OutputHash::default();
    h.add_spread(&spread(1.0, 2.0, 3.0));
    assert_ne!(h.value(), OutputHash::default().value());
}
