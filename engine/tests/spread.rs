//! Spread-core behaviour: formulas, staleness, bad books, gaps, signals, and a reference model.
#![allow(clippy::unwrap_used)]

use arb_engine::event::{ConnState, VenueState};
use arb_engine::history::SymbolClock;
use arb_engine::live_pairs::LivePairs;
use arb_engine::spread::{CoreOut, GapRecord, SignalKind};
use arb_engine::{
    CoreConfig, Event, Exchange, Quote, SpreadCore, SymbolId, SymbolRegistry, VenuePair,
};

const SEC: i64 = 1_000_000_000;

fn registry(venues: &[Exchange], symbols: usize) -> SymbolRegistry {
    let mut r = SymbolRegistry::new();
    for s in 0..symbols {
        for &v in venues {
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

fn quote(sym: u32, ex: Exchange, bid: f64, ask: f64, ts: i64) -> Event {
    Event::Quote(Quote {
        symbol: SymbolId(sym),
        exchange: ex,
        conn_id: 0,
        bid_px: bid,
        bid_qty: 1.0,
        ask_px: ask,
        ask_qty: 1.0,
        exch_ts_ns: 0,
        recv_ts_ns: ts,
    })
}

fn run(core: &mut SpreadCore, events: &[Event]) -> Vec<CoreOut> {
    let mut out = Vec::new();
    for e in events {
        core.on_event(e, &mut |o| out.push(o));
    }
    out
}

/// The pair spreads of a run's outputs, derived as the I/O threads do
/// ([`LivePairs`], default staleness).
fn spreads(out: &[CoreOut]) -> Vec<arb_engine::spread::SpreadUpdate> {
    live_spreads(
        &mut LivePairs::new(16, CoreConfig::default().stale_after_ns),
        out,
    )
}

/// The pair spreads of more outputs of a run whose earlier outputs `live` has seen.
fn live_spreads(live: &mut LivePairs, out: &[CoreOut]) -> Vec<arb_engine::spread::SpreadUpdate> {
    let mut v = Vec::new();
    for o in out {
        live.apply(o, |s| v.push(*s));
    }
    v
}

#[test]
fn spread_formulas_follow_alphabetical_pair() {
    let reg = registry(&[Exchange::Okx, Exchange::Binance], 1);
    let mut core = SpreadCore::new(&reg, CoreConfig::default());
    let out = run(
        &mut core,
        &[
            quote(0, Exchange::Okx, 101.0, 101.5, SEC),
            quote(0, Exchange::Binance, 100.0, 100.2, 2 * SEC),
        ],
    );
    let s = spreads(&out);
    assert_eq!(s.len(), 1);
    let s = s[0];
    assert_eq!(
        s.pair,
        VenuePair {
            first: Exchange::Binance,
            second: Exchange::Okx
        }
    );
    assert_eq!(s.trigger, Exchange::Binance);
    assert_eq!(s.dev_pct, (100.0 / 101.0 - 1.0) * 100.0);
    assert_eq!(s.exec_ab_pct, (101.0 - 100.2) / 100.2 * 100.0);
    assert_eq!(s.exec_ba_pct, (100.0 - 101.5) / 101.5 * 100.0);
    assert_eq!(s.other_age_ns, SEC);
    assert!(
        matches!(out[0], CoreOut::Quote(q) if (q.own_spread_pct - (0.5 / 101.5 * 100.0)).abs() < 1e-12)
    );
    assert_eq!(
        core.best_exec_pct(SymbolId(0), 2 * SEC),
        Some(s.exec_ab_pct)
    );
    let mut top = Vec::new();
    core.top_opportunities(2 * SEC, 5, &mut top);
    assert_eq!(top, vec![(SymbolId(0), s.exec_ab_pct)]);
}

#[test]
fn stale_legs_zero_and_crossed_books_are_skipped_and_counted() {
    let reg = registry(&[Exchange::Bybit, Exchange::Gateio], 1);
    let mut core = SpreadCore::new(&reg, CoreConfig::default());
    let out = run(
        &mut core,
        &[
            quote(0, Exchange::Bybit, 10.0, 10.1, 0),
            quote(0, Exchange::Gateio, 10.0, 10.1, 6 * SEC),
            quote(0, Exchange::Gateio, 0.0, 10.1, 6 * SEC),
            quote(0, Exchange::Gateio, 10.2, 10.1, 6 * SEC),
        ],
    );
    assert!(spreads(&out).is_empty());
    let c = core.counters();
    assert_eq!(
        (c.quotes, c.stale_legs, c.zero_book, c.crossed, c.spreads),
        (4, 1, 1, 1, 0)
    );
}

#[test]
fn dropped_connection_stops_counting_at_once_and_reports_a_gap() {
    let reg = registry(&[Exchange::Kucoin, Exchange::Mexc], 3);
    let mut core = SpreadCore::new(&reg, CoreConfig::default());
    let down = Event::Venue(VenueState {
        exchange: Exchange::Mexc,
        conn_id: 0,
        state: ConnState::Disconnected,
        ts_ns: 3 * SEC,
    });
    let up = Event::Venue(VenueState {
        exchange: Exchange::Mexc,
        conn_id: 0,
        state: ConnState::Resubscribed,
        ts_ns: 4 * SEC,
    });
    let out = run(
        &mut core,
        &[
            quote(0, Exchange::Mexc, 10.0, 10.1, SEC),
            quote(1, Exchange::Mexc, 10.0, 10.1, SEC),
            quote(0, Exchange::Kucoin, 10.0, 10.1, 2 * SEC),
            down,
            quote(0, Exchange::Kucoin, 10.0, 10.1, 3 * SEC + 1),
            up,
        ],
    );
    assert_eq!(spreads(&out).len(), 1, "no spread against the dead venue");
    assert_eq!(
        core.best_exec_pct(SymbolId(0), 3 * SEC + 1),
        None,
        "a dead venue's quote is never best"
    );
    let gaps: Vec<GapRecord> = out
        .iter()
        .filter_map(|o| {
            if let CoreOut::Gap(g) = o {
                Some(*g)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        gaps,
        [GapRecord {
            exchange: Exchange::Mexc,
            conn_id: 0,
            symbols_affected: 2,
            start_ns: 3 * SEC,
            end_ns: 4 * SEC
        }]
    );
    assert_eq!(core.counters().retired_quotes, 2);
}

#[test]
fn signals_enter_exit_and_respect_cooldown() {
    let reg = registry(&[Exchange::Binance, Exchange::Bybit], 1);
    let mut core = SpreadCore::new(&reg, CoreConfig::default());
    let b = |bid: f64, ts: i64| quote(0, Exchange::Binance, bid, bid + 0.01, ts);
    let y = quote(0, Exchange::Bybit, 100.0, 100.01, 0);
    let out = run(
        &mut core,
        &[
            y,
            b(100.2, SEC),                                      // 0.2 %: nothing
            b(100.4, 2 * SEC),                                  // 0.4 %: entry
            b(100.5, 3 * SEC),                                  // still in
            b(100.03, 4 * SEC),                                 // 0.03 %: exit
            b(100.5, 5 * SEC),                                  // within cooldown: no entry
            quote(0, Exchange::Bybit, 100.0, 100.01, 13 * SEC), // fresh leg
            b(100.5, 14 * SEC),                                 // after cooldown: entry
        ],
    );
    let sig: Vec<(SignalKind, i64)> = out
        .iter()
        .filter_map(|o| {
            if let CoreOut::Signal(s) = o {
                Some((s.kind, s.ts_ns / SEC))
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        sig,
        [
            (SignalKind::Entry, 2),
            (SignalKind::Exit, 4),
            (SignalKind::Entry, 14)
        ]
    );
}

#[test]
fn every_accepted_quote_enters_its_venues_history_once() {
    let reg = registry(&[Exchange::Binance, Exchange::Okx, Exchange::Bitget], 1);
    let mut core = SpreadCore::new(&reg, CoreConfig::default());
    run(
        &mut core,
        &[
            quote(0, Exchange::Binance, 10.0, 10.1, SEC),
            quote(0, Exchange::Okx, 10.05, 10.1, SEC),
            quote(0, Exchange::Bitget, 10.02, 10.1, SEC),
            quote(0, Exchange::Okx, 10.2, 10.1, 2 * SEC), // crossed: skipped
        ],
    );
    assert_eq!(core.counters().spreads, 3);
    let h = core.history();
    let mut snap = arb_engine::history::SeriesSnapshot::default();
    let times: Vec<Vec<i64>> = [Exchange::Binance, Exchange::Okx, Exchange::Bitget]
        .iter()
        .map(|&v| {
            h.read(h.series_of(SymbolId(0), v).unwrap(), &mut snap)
                .unwrap();
            snap.raw.iter().map(|p| p.ts_ns).collect()
        })
        .collect();
    // Equal receive times become strictly increasing history times, in processing order.
    assert_eq!(times, [vec![SEC], vec![SEC + 1], vec![SEC + 2]]);
    let pair = VenuePair::new(Exchange::Binance, Exchange::Okx).unwrap();
    let mut reader = arb_engine::pairs::PairReader::default();
    let series = reader
        .read(
            h,
            &arb_engine::pairs::PairQuery::new(SymbolId(0), pair, arb_engine::pairs::Horizon::Raw),
        )
        .unwrap();
    assert_eq!(series.ts_ns, [SEC + 1]);
    assert!((series.dev_pct[0] - (10.0 / 10.05 - 1.0) * 100.0).abs() < 1e-5);
}

mod property_tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// The model's latest quote of a (symbol, venue): bid, ask, receive time, connection, live.
    type Latest = (f64, f64, i64, u16, bool);

    #[derive(Debug, Clone)]
    enum Step {
        /// Quote: symbol, venue, connection, bid, ask - bid (negative: crossed), zero side,
        /// time step in half seconds (negative: out of order).
        Quote(u32, usize, u16, f64, f64, bool, i64),
        /// Connection `(venue, conn)` dropped.
        Down(usize, u16),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            8 => (0u32..2, 0usize..3, 0u16..2, 1.0f64..2.0, -0.02f64..0.05, proptest::bool::weighted(0.05), -1i64..4)
                .prop_map(|(s, v, c, b, w, z, dt)| Step::Quote(s, v, c, b, w, z, dt)),
            1 => (0usize..3, 0u16..2).prop_map(|(v, c)| Step::Down(v, c)),
        ]
    }

    proptest! {
        /// Hostile input — crossed and zero books, stale legs, dropped connections,
        /// out-of-order and equal timestamps: the core emits exactly the spreads of the
        /// live, fresh, sane legs, and its ranking counts only pairs whose legs are both
        /// live and fresh at the moment asked.
        #[test]
        fn prop_core_matches_model_on_hostile_input(steps in proptest::collection::vec(step(), 1..300)) {
            let venues = [Exchange::Binance, Exchange::Okx, Exchange::Gateio];
            let stale = 2 * SEC;
            let reg = registry(&venues, 2);
            let mut core = SpreadCore::new(&reg, CoreConfig { stale_after_ns: stale, ..CoreConfig::default() });
            let mut live = LivePairs::new(2, stale);
            let mut latest: HashMap<(u32, Exchange), Latest> = HashMap::new();
            // (symbol, pair) -> best executable at the pair's last computed update
            let mut ts = 10 * SEC;
            // History time per symbol, as the core keeps it (strictly increasing).
            let mut clocks = [SymbolClock::default(); 2];
            for st in steps {
                let mut out = Vec::new();
                let mut expected = Vec::new();
                match st {
                    Step::Quote(sym, v, conn, bid, width, zero, dt) => {
                        ts = (ts + dt * SEC / 2).max(0);
                        let ex = venues[v];
                        let (bid, ask) = if zero { (0.0, bid + width.abs()) } else { (bid, bid + width) };
                        let mut q = quote(sym, ex, bid, ask, ts);
                        if let Event::Quote(q) = &mut q { q.conn_id = conn; }
                        core.on_event(&q, &mut |o| out.push(o));
                        if bid > 0.0 && ask > 0.0 && bid <= ask {
                            let ts = clocks[sym as usize].advance(ts);
                            latest.insert((sym, ex), (bid, ask, ts, conn, true));
                            for other in Exchange::ALL {
                                if other == ex { continue; }
                                let Some(&(ob, oa, ot, _, live)) = latest.get(&(sym, other)) else { continue };
                                if !live || ts - ot > stale { continue; }
                                let pair = VenuePair::new(ex, other).unwrap();
                                let ((ab, aa), (bb, ba)) = if pair.first == ex { ((bid, ask), (ob, oa)) } else { ((ob, oa), (bid, ask)) };
                                let e = ((ab / bb - 1.0) * 100.0, (bb - aa) / aa * 100.0, (ab - ba) / ba * 100.0);
                                expected.push((pair, e.0, e.1, e.2));
                            }
                        }
                    }
                    Step::Down(v, conn) => {
                        let ex = venues[v];
                        core.on_event(&Event::Venue(VenueState { exchange: ex, conn_id: conn, state: ConnState::Disconnected, ts_ns: ts }), &mut |o| out.push(o));
                        // Retired in symbol order, each advancing its symbol's clock.
                        for sym in 0..2u32 {
                            if let Some(slot) = latest.get_mut(&(sym, ex))
                                && slot.4 && slot.3 == conn
                            {
                                slot.4 = false;
                                slot.2 = clocks[sym as usize].advance(ts);
                            }
                        }
                    }
                }
                let got: Vec<_> = live_spreads(&mut live, &out).iter().map(|s| (s.pair, s.dev_pct, s.exec_ab_pct, s.exec_ba_pct)).collect();
                prop_assert_eq!(got, expected);
                for sym in 0..2u32 {
                    let fresh = |ex: Exchange| latest.get(&(sym, ex)).is_some_and(|l| l.4 && l.2 >= ts - stale);
                    // Best executable over the pairs of fresh live legs, from the latest quotes.
                    let mut want: Option<f64> = None;
                    for (i, &x) in venues.iter().enumerate() {
                        for &y in &venues[i + 1..] {
                            if !(fresh(x) && fresh(y)) { continue; }
                            let (a, b) = (latest[&(sym, x)], latest[&(sym, y)]);
                            let v = ((b.0 - a.1) / a.1 * 100.0).max((a.0 - b.1) / b.1 * 100.0);
                            want = Some(want.map_or(v, |m| m.max(v)));
                        }
                    }
                    prop_assert_eq!(core.best_exec_pct(SymbolId(sym), ts), want, "symbol {}", sym);
                }
            }
        }
    }

    proptest! {
        /// Every spread the core emits equals the formula applied to a plain map of the
        /// latest quotes, and the core emits one for exactly the live, fresh other legs.
        #[test]
        fn prop_spreads_match_reference_model(
            steps in proptest::collection::vec((0u32..3, 0usize..4, 1.0f64..2.0, 0.0f64..0.05, 0i64..3), 1..300)
        ) {
            let venues = [Exchange::Binance, Exchange::Okx, Exchange::Gateio, Exchange::Bingx];
            let reg = registry(&venues, 3);
            let mut core = SpreadCore::new(&reg, CoreConfig { stale_after_ns: 2 * SEC, ..CoreConfig::default() });
            let mut live = LivePairs::new(3, 2 * SEC);
            let mut model: HashMap<(u32, Exchange), (f64, f64, i64)> = HashMap::new();
            let mut ts = 0;
            let mut clocks = [SymbolClock::default(); 3];
            for (sym, v, bid, width, dt) in steps {
                ts += dt * SEC / 2;
                let ex = venues[v];
                let ask = bid + width;
                let mut out = Vec::new();
                core.on_event(&quote(sym, ex, bid, ask, ts), &mut |o| out.push(o));
                let ts = clocks[sym as usize].advance(ts);
                model.insert((sym, ex), (bid, ask, ts));
                let mut expected = Vec::new();
                for other in Exchange::ALL {
                    if other == ex { continue; }
                    let Some(&(ob, oa, ot)) = model.get(&(sym, other)) else { continue };
                    if ts - ot > 2 * SEC { continue; }
                    let pair = VenuePair::new(ex, other).unwrap();
                    let ((ab, aa), (bb, ba)) = if pair.first == ex { ((bid, ask), (ob, oa)) } else { ((ob, oa), (bid, ask)) };
                    expected.push((pair, (ab / bb - 1.0) * 100.0, (bb - aa) / aa * 100.0, (ab - ba) / ba * 100.0));
                }
                let got: Vec<_> = live_spreads(&mut live, &out).iter().map(|s| (s.pair, s.dev_pct, s.exec_ab_pct, s.exec_ba_pct)).collect();
                prop_assert_eq!(got, expected);
            }
        }
    }
}

#[test]
fn ranking_keeps_the_best_n_symbols_best_first() {
    let reg = registry(&[Exchange::Binance, Exchange::Okx], 10);
    let mut core = SpreadCore::new(&reg, CoreConfig::default());
    let mut events = Vec::new();
    for s in 0..10u32 {
        // Symbol s: Binance bids above OKX's ask by s * 0.01 %.
        events.push(quote(s, Exchange::Okx, 99.9, 100.0, SEC));
        events.push(quote(
            s,
            Exchange::Binance,
            100.0 + f64::from(s) * 0.01,
            100.1 + f64::from(s) * 0.01,
            SEC,
        ));
    }
    run(&mut core, &events);
    let mut top = Vec::new();
    core.top_opportunities(SEC, 3, &mut top);
    let ids: Vec<u32> = top.iter().map(|(s, _)| s.0).collect();
    assert_eq!(ids, [9, 8, 7]);
    assert!(top[0].1 > top[1].1 && top[1].1 > top[2].1);
    let board = arb_engine::ranking::RankingBoard::new(3);
    board.publish(SEC, &top);
    let mut read = Vec::new();
    assert_eq!(board.read(&mut read), Some(SEC));
    assert_eq!(read, top);
}

/// Receive times come from files and clocks: extreme ones must not overflow any age,
/// staleness or bucket arithmetic (a panic in debug builds, a wrong answer in release).
#[test]
fn extreme_receive_times_never_overflow() {
    let reg = registry(&[Exchange::Binance, Exchange::Okx], 1);
    let mut core = SpreadCore::new(
        &reg,
        CoreConfig {
            history: arb_engine::HistoryConfig {
                buckets: 4,
                bucket_ns: SEC,
                raw_points: 4,
            },
            ..CoreConfig::default()
        },
    );
    let mut live = LivePairs::new(1, CoreConfig::default().stale_after_ns);
    for (ex, ts) in [
        (Exchange::Binance, i64::MIN),
        (Exchange::Okx, i64::MAX - 1),
        (Exchange::Binance, i64::MIN + 1),
        (Exchange::Okx, 0),
        (Exchange::Binance, i64::MAX),
    ] {
        let out = run(&mut core, &[quote(0, ex, 10.0, 10.1, ts)]);
        live_spreads(&mut live, &out);
    }
    core.top_opportunities(i64::MIN, 5, &mut Vec::new());
    core.top_opportunities(i64::MAX, 5, &mut Vec::new());
    let pair = VenuePair::new(Exchange::Binance, Exchange::Okx).unwrap();
    for horizon in [
        arb_engine::pairs::Horizon::Raw,
        arb_engine::pairs::Horizon::Buckets,
    ] {
        arb_engine::pairs::PairReader::default()
            .read(
                core.history(),
                &arb_engine::pairs::PairQuery::new(SymbolId(0), pair, horizon),
            )
            .unwrap();
    }
}
