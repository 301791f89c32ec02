//! Pair series derived on read from the per-venue history equal what the per-pair windows
//! of the first engine (kept as the reference model in `tests/util/pair_window.rs`) hold for
//! the same input: tick by tick over the raw horizon, and bucket by bucket on last values.
#![allow(clippy::unwrap_used)]

mod util;

use proptest::prelude::*;

use arb_engine::event::{ConnState, VenueState};
use arb_engine::history::HistoryConfig;
use arb_engine::live_pairs::LivePairs;
use arb_engine::pairs::{Horizon, PairQuery, PairReader, PairSeries};
use arb_engine::spread::CoreOut;
use arb_engine::{
    CoreConfig, Event, Exchange, Quote, SpreadCore, SymbolId, SymbolRegistry, VenuePair,
};
use util::pair_window::{WindowConfig, WindowSnapshot, WindowStore};

const SEC: i64 = 1_000_000_000;
const VENUES: [Exchange; 3] = [Exchange::Binance, Exchange::Okx, Exchange::Gateio];

fn registry(symbols: u32) -> SymbolRegistry {
    let mut r = SymbolRegistry::new();
    for s in 0..symbols {
        for v in VENUES {
            r.insert(
                v,
                &format!("S{s}USDT-{}", v.as_str()),
                &format!("S{s}"),
                "USDT",
            )
            .unwrap();
        }
    }
    r
}

#[derive(Debug, Clone)]
enum Step {
    /// symbol, venue, connection, bid, ask - bid (negative: crossed), zero bid, time step
    /// in units of 100 ms (negative: out of order; 0: equal receive times).
    Quote(u32, usize, u16, f64, f64, bool, i64),
    /// Connection `(venue, conn)` dropped.
    Down(usize, u16),
}

fn step(downs: bool) -> impl Strategy<Value = Step> {
    let q = (
        0u32..2,
        0usize..3,
        0u16..2,
        1.0f64..2.0,
        -0.02f64..0.05,
        proptest::bool::weighted(0.05),
        -3i64..12,
    )
        .prop_map(|(s, v, c, b, w, z, dt)| Step::Quote(s, v, c, b, w, z, dt));
    let d = (0usize..3, 0u16..2).prop_map(|(v, c)| Step::Down(v, c));
    let w = if downs { 1 } else { 0 };
    prop_oneof![8 => q, w => d]
}

/// Drives the core and, beside it, the reference windows: every pair spread of a quote is
/// recorded in the pair's window at the quote's history time, as the first engine did.
fn run(steps: &[Step], core_cfg: CoreConfig, win_cfg: WindowConfig) -> (SpreadCore, WindowStore) {
    let reg = registry(2);
    let mut core = SpreadCore::new(&reg, core_cfg);
    let windows = WindowStore::new(2 * 28, win_cfg);
    // The pair spreads the first engine recorded in its windows, derived from the core's
    // outputs as the I/O threads do.
    let mut live = LivePairs::new(2, core_cfg.stale_after_ns);
    let mut ts = 100 * SEC;
    for st in steps {
        let mut out = Vec::new();
        match *st {
            Step::Quote(sym, v, conn, bid, width, zero, dt) => {
                ts = (ts + dt * SEC / 10).max(0);
                let (bid, ask) = if zero {
                    (0.0, bid + width.abs())
                } else {
                    (bid, bid + width)
                };
                let e = Event::Quote(Quote {
                    symbol: SymbolId(sym),
                    exchange: VENUES[v],
                    conn_id: conn,
                    bid_px: bid,
                    bid_qty: 1.0,
                    ask_px: ask,
                    ask_qty: 1.0,
                    exch_ts_ns: 0,
                    recv_ts_ns: ts,
                });
                core.on_event(&e, &mut |o| out.push(o));
                for o in &out {
                    if let CoreOut::Quote(u) = o {
                        let hts = u.history_ts_ns;
                        live.apply(o, |p| {
                            windows.record(
                                sym as usize * 28 + p.pair.index(),
                                hts,
                                p.dev_pct,
                                p.exec_ab_pct,
                                p.exec_ba_pct,
                            );
                        });
                    }
                }
            }
            Step::Down(v, conn) => {
                let e = Event::Venue(VenueState {
                    exchange: VENUES[v],
                    conn_id: conn,
                    state: ConnState::Disconnected,
                    ts_ns: ts,
                });
                core.on_event(&e, &mut |o| out.push(o));
                for o in &out {
                    live.apply(o, |_| {});
                }
            }
        }
    }
    (core, windows)
}

fn close(got: f64, want: f32) -> bool {
    // History prices are f32: a derived spread may differ from the f64-computed one by
    // ~1.2e-5 percentage points; the window stored that one rounded to f32.
    (got - f64::from(want)).abs() <= 3e-5 + 1e-6 * f64::from(want).abs()
}

fn pairs() -> Vec<VenuePair> {
    let mut v = Vec::new();
    for (i, &a) in VENUES.iter().enumerate() {
        for &b in &VENUES[i + 1..] {
            v.push(VenuePair::new(a, b).unwrap());
        }
    }
    v
}

fn check_raw(
    series: &PairSeries,
    snap: &WindowSnapshot,
    complete: bool,
) -> Result<(), TestCaseError> {
    let n = series.len().min(snap.raw.len());
    if complete {
        prop_assert_eq!(series.len(), snap.raw.len(), "no ring wrapped: same length");
    }
    let (ds, dw) = (series.len() - n, snap.raw.len() - n);
    for k in 0..n {
        let (i, w) = (ds + k, &snap.raw[dw + k]);
        prop_assert_eq!(series.ts_ns[i], w.ts_ns, "point {}", k);
        prop_assert!(
            close(series.dev_pct[i], w.dev),
            "dev {} vs {}",
            series.dev_pct[i],
            w.dev
        );
        prop_assert!(
            close(series.exec_ab_pct[i], w.exec_ab),
            "ab {} vs {}",
            series.exec_ab_pct[i],
            w.exec_ab
        );
        prop_assert!(
            close(series.exec_ba_pct[i], w.exec_ba),
            "ba {} vs {}",
            series.exec_ba_pct[i],
            w.exec_ba
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Hostile input (crossed and zero books, stale legs, dropped connections, out-of-order
    /// and equal receive times): over the raw horizon the derived series is the windows'
    /// raw ring, point for point; when no history ring wrapped, all of it.
    #[test]
    fn prop_raw_pair_series_equal_the_reference_windows(
        steps in proptest::collection::vec(step(true), 1..250),
        raw_points in prop_oneof![Just(6usize), Just(40), Just(1000)],
    ) {
        let core_cfg = CoreConfig {
            stale_after_ns: 2 * SEC,
            history: HistoryConfig { buckets: 64, bucket_ns: SEC, raw_points },
            ..CoreConfig::default()
        };
        let win_cfg = WindowConfig { buckets: 64, bucket_ns: SEC, raw_points: 10_000 };
        let (core, windows) = run(&steps, core_cfg, win_cfg);
        let mut reader = PairReader::default();
        let mut snap = WindowSnapshot::default();
        for sym in 0..2u32 {
            for pair in pairs() {
                let mut q = PairQuery::new(SymbolId(sym), pair, Horizon::Raw);
                q.stale_after_ns = 2 * SEC;
                let series = reader.read(core.history(), &q).unwrap();
                windows.read(sym as usize * 28 + pair.index(), &mut snap).unwrap();
                check_raw(series, &snap, raw_points == 1000)?;
            }
        }
    }

    /// Calm input (no drops, no staleness): the 1 s buckets of the derived series and of the
    /// windows are the same buckets with the same last values.
    #[test]
    fn prop_bucket_pair_series_agree_on_last_values(
        steps in proptest::collection::vec(step(false), 1..250),
    ) {
        let core_cfg = CoreConfig {
            stale_after_ns: 3600 * SEC,
            history: HistoryConfig { buckets: 4096, bucket_ns: SEC, raw_points: 16 },
            ..CoreConfig::default()
        };
        let win_cfg = WindowConfig { buckets: 4096, bucket_ns: SEC, raw_points: 16 };
        let (core, windows) = run(&steps, core_cfg, win_cfg);
        let mut reader = PairReader::default();
        let mut snap = WindowSnapshot::default();
        for sym in 0..2u32 {
            for pair in pairs() {
                let mut q = PairQuery::new(SymbolId(sym), pair, Horizon::Buckets);
                q.stale_after_ns = 3600 * SEC;
                let series = reader.read(core.history(), &q).unwrap();
                windows.read(sym as usize * 28 + pair.index(), &mut snap).unwrap();
                let got: Vec<i64> = series.ts_ns.clone();
                let want: Vec<i64> = snap.buckets.iter().map(|b| b.start_ns).collect();
                prop_assert_eq!(&got, &want);
                for (i, b) in snap.buckets.iter().enumerate() {
                    prop_assert!(close(series.dev_pct[i], b.dev.last), "dev {} vs {}", series.dev_pct[i], b.dev.last);
                    prop_assert!(close(series.exec_ab_pct[i], b.exec_ab.last));
                    prop_assert!(close(series.exec_ba_pct[i], b.exec_ba.last));
                }
            }
        }
    }
}

/// The reference windows and the derived series on one stream worked through by hand.
#[test]
fn derived_series_match_the_windows_on_a_small_stream() {
    let steps = [
        Step::Quote(0, 0, 0, 100.0, 0.5, false, 0),
        Step::Quote(0, 1, 0, 101.0, 0.2, false, 1),
        Step::Quote(0, 0, 0, 100.5, 0.5, false, 1),
        Step::Down(1, 0),
        Step::Quote(0, 0, 0, 100.4, 0.5, false, 1),
        Step::Quote(0, 1, 0, 101.5, 0.2, false, 1),
    ];
    let cfg = CoreConfig::default();
    let (core, windows) = run(&steps, cfg, WindowConfig::default());
    let pair = VenuePair::new(Exchange::Binance, Exchange::Okx).unwrap();
    let mut reader = PairReader::default();
    let series = reader
        .read(
            core.history(),
            &PairQuery::new(SymbolId(0), pair, Horizon::Raw),
        )
        .unwrap()
        .clone();
    let mut snap = WindowSnapshot::default();
    windows.read(pair.index(), &mut snap).unwrap();
    // OKX's first quote, Binance's second, (OKX down: Binance's third has no pair), OKX back.
    assert_eq!(series.len(), 3);
    assert_eq!(snap.raw.len(), 3);
    let want_dev = [
        (100.0 / 101.0 - 1.0) * 100.0,
        (100.5 / 101.0 - 1.0) * 100.0,
        (100.4 / 101.5 - 1.0) * 100.0,
    ];
    for (k, w) in want_dev.iter().enumerate() {
        assert!(
            (series.dev_pct[k] - w).abs() < 2e-5,
            "{k}: {} vs {w}",
            series.dev_pct[k]
        );
        assert_eq!(series.ts_ns[k], snap.raw[k].ts_ns);
    }
}

#[test]
fn latest_is_the_newest_raw_point_of_a_full_read() {
    use arb_engine::history::{HistoryStore, SeriesCursor, SeriesSnapshot};
    let reg = registry(1);
    let cfg = HistoryConfig {
        buckets: 8,
        bucket_ns: 1_000_000_000,
        raw_points: 4,
    };
    let store = HistoryStore::new(&reg, cfg);
    let s = store
        .series_of(arb_engine::SymbolId(0), arb_engine::Exchange::Binance)
        .unwrap();
    assert_eq!(store.latest(s), Ok(None));
    let mut c = SeriesCursor::EMPTY;
    let mut snap = SeriesSnapshot::default();
    // Past the raw ring's size, so the newest point sits in a wrapped slot.
    for i in 0..7 {
        store.append(s, &mut c, 1_000 + i, 10.0 + i as f64, 11.0 + i as f64);
        store.read(s, &mut snap).unwrap();
        assert_eq!(store.latest(s).unwrap(), snap.raw.last().copied());
    }
    store.append_down(s, &mut c, 2_000);
    assert!(store.latest(s).unwrap().unwrap().is_down());
    assert!(store.latest(usize::MAX).is_err());
}
