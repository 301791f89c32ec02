//! The spread core: the single writer that owns the latest quote of every (symbol, venue),
//! recomputes cross-venue spreads on every quote for signals and the ranking, appends each
//! quote once to its venue's history, and retires the quotes of dropped connections.
//!
//! Charts never cost the core: pair series are derived from two venues' histories on the
//! reader's thread ([`crate::pairs`]).
//!
//! # Formulas
//! For the unordered pair `(A, B)`, `A` alphabetically first ([`VenuePair`]):
//! - deviation (the chart metric): `(bid_A / bid_B - 1) * 100`;
//! - executable, buy on A sell on B: `(bid_B - ask_A) / ask_A * 100` (`exec_ab`);
//! - executable, buy on B sell on A: `(bid_A - ask_B) / ask_B * 100` (`exec_ba`);
//! - each venue's own spread: `(ask - bid) / ask * 100`.
//!
//! # Hot path
//! [`SpreadCore::on_event`] allocates never, takes no lock and makes no syscall: all
//! tables are sized in [`SpreadCore::new`] from the registry and the config.

use crate::event::{
    ConnState, Event, Exchange, MAX_CONNS_PER_VENUE, Quote, SymbolId, Trade, VenueState, conn_slot,
};
use crate::history::{HistoryConfig, HistoryStore, SeriesCursor, SymbolClock};
use crate::pair::{PAIRS, VenuePair};
use crate::symbol::SymbolRegistry;

const NO_SERIES: u32 = u32::MAX;

/// Spread-core settings (validated by the caller's config stage).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoreConfig {
    /// A leg older than this (by receive time, relative to the quote being processed) is
    /// skipped and counted; default 5 s: beyond that a venue's quote no longer describes
    /// a price one could trade against.
    pub stale_after_ns: i64,
    /// Signal entry threshold on |deviation| in percent; default 0.35, the legacy value.
    pub signal_entry_pct: f64,
    /// Signal exit threshold on |deviation| in percent; default 0.05, the legacy neutral zone.
    pub signal_exit_pct: f64,
    /// Minimum time between a pair's exit and its next entry; default 10 s, the legacy cooldown.
    pub signal_cooldown_ns: i64,
    /// History shape of every (symbol, venue) series.
    pub history: HistoryConfig,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            stale_after_ns: 5_000_000_000,
            signal_entry_pct: 0.35,
            signal_exit_pct: 0.05,
            signal_cooldown_ns: 10_000_000_000,
            history: HistoryConfig::default(),
        }
    }
}

/// A quote the core accepted, with the venue's own spread and its history time. Its
/// pair spreads are not carried: consumers that want them derive them from the output
/// stream with [`crate::live_pairs::LivePairs`], by the core's own rule, off the core.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuoteUpdate {
    /// The quote.
    pub quote: Quote,
    /// `(ask - bid) / ask * 100`.
    pub own_spread_pct: f64,
    /// History time the core gave the quote (receive time made strictly increasing per
    /// symbol, [`crate::history::SymbolClock`]); staleness is judged on it.
    pub history_ts_ns: i64,
}

/// One pair's spreads after a quote of either leg ([`crate::live_pairs::LivePairs`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpreadUpdate {
    /// Receive time of the quote that triggered the update.
    pub ts_ns: i64,
    /// Symbol.
    pub symbol: SymbolId,
    /// The pair, alphabetical.
    pub pair: VenuePair,
    /// Which venue's quote triggered it.
    pub trigger: Exchange,
    /// `(bid_A / bid_B - 1) * 100`.
    pub dev_pct: f64,
    /// Buy on A (first), sell on B: `(bid_B - ask_A) / ask_A * 100`.
    pub exec_ab_pct: f64,
    /// Buy on B, sell on A: `(bid_A - ask_B) / ask_B * 100`.
    pub exec_ba_pct: f64,
    /// Age of the other leg at this moment (receive-time difference), ns.
    pub other_age_ns: i64,
}

/// Signal edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// |deviation| reached the entry threshold.
    Entry,
    /// |deviation| fell back into the exit zone.
    Exit,
}

/// A signal on a pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signal {
    /// When, ns since the epoch (receive time of the triggering quote).
    pub ts_ns: i64,
    /// Symbol.
    pub symbol: SymbolId,
    /// Pair.
    pub pair: VenuePair,
    /// Entry or exit.
    pub kind: SignalKind,
    /// Deviation at the edge, percent.
    pub dev_pct: f64,
}

/// A period during which a connection was down and its quotes did not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapRecord {
    /// Venue.
    pub exchange: Exchange,
    /// Connection.
    pub conn_id: u16,
    /// Symbols whose live quote was retired when the connection dropped.
    pub symbols_affected: u32,
    /// Disconnect time, ns since the epoch.
    pub start_ns: i64,
    /// Reconnect time, ns since the epoch.
    pub end_ns: i64,
}

/// What the core hands to the I/O threads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CoreOut {
    /// An accepted quote (for storage, charts and derived pair spreads).
    Quote(QuoteUpdate),
    /// A connection state change, after the core applied it (a disconnect retired the
    /// connection's quotes at this point of the stream).
    Venue(VenueState),
    /// A trade, passed through (for storage).
    Trade(Trade),
    /// A signal edge.
    Signal(Signal),
    /// A closed connection gap.
    Gap(GapRecord),
}

/// Counters the core keeps; plain integers on the core thread, published by the caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreCounters {
    /// Quotes processed (accepted or not).
    pub quotes: u64,
    /// Trades passed through.
    pub trades: u64,
    /// Quotes with a zero or missing side, skipped.
    pub zero_book: u64,
    /// Quotes with bid above ask, skipped.
    pub crossed: u64,
    /// Other legs skipped for being older than `stale_after_ns`.
    pub stale_legs: u64,
    /// Pairs evaluated against a live, fresh other leg (deviation for the signals).
    pub spreads: u64,
    /// Signals raised (entries and exits).
    pub signals: u64,
    /// Events for symbols outside the table (never expected: the feeds intern first).
    pub unknown_symbol: u64,
    /// Connection drops seen.
    pub disconnects: u64,
    /// Quotes retired by connection drops.
    pub retired_quotes: u64,
    /// Venue-state events with a connection id past `MAX_CONNS_PER_VENUE`, ignored.
    pub bad_conn: u64,
}

/// The latest quote of one (symbol, venue) with its history cursor: one cache line, so a
/// quote's own update and its history append touch one line of core state.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
struct Slot {
    bid_px: f64,
    ask_px: f64,
    /// History time of the quote ([`SymbolClock`]): staleness and ages use it.
    ts_ns: i64,
    cursor: SeriesCursor,
    /// The venue's series in the history; `NO_SERIES` where it does not list the symbol.
    series: u32,
    conn_id: u16,
    live: bool,
}

const EMPTY_SLOT: Slot = Slot {
    bid_px: 0.0,
    ask_px: 0.0,
    ts_ns: 0,
    cursor: SeriesCursor::EMPTY,
    series: NO_SERIES,
    conn_id: 0,
    live: false,
};

/// Signal state of one (symbol, pair).
#[derive(Debug, Clone, Copy)]
struct PairState {
    /// Time of the last exit, for the cooldown; `i64::MIN` before any.
    last_exit_ns: i64,
    signal_active: bool,
}

#[cfg(test)]
mod layout_tests {
    #[test]
    fn core_state_is_compact() {
        assert_eq!(size_of::<super::Slot>(), 64);
        assert_eq!(size_of::<super::PairState>(), 16);
    }
}

#[derive(Debug, Clone, Copy)]
struct OpenGap {
    start_ns: i64,
    symbols_affected: u32,
}

/// The single-writer spread core.
#[derive(Debug)]
pub struct SpreadCore {
    config: CoreConfig,
    symbols: usize,
    /// `[symbol * 8 + venue]`.
    quotes: Box<[Slot]>,
    /// Per symbol: history time in processing order.
    clocks: Box<[SymbolClock]>,
    /// `[symbol * PAIRS + pair]`.
    pair_state: Box<[PairState]>,
    history: std::sync::Arc<HistoryStore>,
    open_gaps: Box<[Option<OpenGap>]>,
    counters: CoreCounters,
}

impl SpreadCore {
    /// Returns the bytes [`SpreadCore::new`] reserves for `registry` and `config`.
    pub fn bytes_for(registry: &SymbolRegistry, config: &CoreConfig) -> usize {
        let n = registry.len();
        n * Exchange::COUNT * size_of::<Slot>()
            + n * size_of::<SymbolClock>()
            + n * PAIRS * size_of::<PairState>()
            + Exchange::COUNT * MAX_CONNS_PER_VENUE * size_of::<Option<OpenGap>>()
            + HistoryStore::bytes_for(HistoryStore::count_series(registry), &config.history)
    }

    /// Sizes every table for `registry` and allocates the history.
    pub fn new(registry: &SymbolRegistry, config: CoreConfig) -> Self {
        let n = registry.len();
        let history = HistoryStore::new(registry, config.history);
        let mut quotes = vec![EMPTY_SLOT; n * Exchange::COUNT].into_boxed_slice();
        for s in 0..n {
            for v in Exchange::ALL {
                if let Some(series) = history.series_of(SymbolId(s as u32), v) {
                    quotes[s * Exchange::COUNT + v.index()].series = series as u32;
                }
            }
        }
        SpreadCore {
            config,
            symbols: n,
            quotes,
            clocks: vec![SymbolClock::default(); n].into_boxed_slice(),
            pair_state: vec![
                PairState {
                    last_exit_ns: i64::MIN,
                    signal_active: false,
                };
                n * PAIRS
            ]
            .into_boxed_slice(),
            history: std::sync::Arc::new(history),
            open_gaps: vec![None; Exchange::COUNT * MAX_CONNS_PER_VENUE].into_boxed_slice(),
            counters: CoreCounters::default(),
        }
    }

    /// Returns the per-venue history, shared with readers (derive pair series from it with
    /// [`crate::pairs::PairReader`]).
    pub fn history(&self) -> &std::sync::Arc<HistoryStore> {
        &self.history
    }

    /// Returns the history time of the symbol's latest event, if any ([`SymbolClock`]).
    pub fn history_time(&self, symbol: SymbolId) -> Option<i64> {
        let t = self.clocks.get(symbol.index())?.last_ns();
        (t != i64::MIN).then_some(t)
    }

    /// Returns the counters.
    pub fn counters(&self) -> &CoreCounters {
        &self.counters
    }

    /// Returns the best executable spread of a symbol at `now_ns` (receive-time clock) over
    /// the pairs whose two legs are both live (connection up) and fresh (received within
    /// `stale_after_ns` of `now_ns`), if any. A venue that goes quiet without
    /// disconnecting drops out of the ranking once its last quote is older than that.
    ///
    /// Cold path (ranking, status): the symbol's 8 quote slots, up to 28 pairs, computed
    /// from the latest quotes at the time asked.
    pub fn best_exec_pct(&self, symbol: SymbolId, now_ns: i64) -> Option<f64> {
        let s = symbol.index();
        let row = self
            .quotes
            .get(s * Exchange::COUNT..(s + 1) * Exchange::COUNT)?;
        let oldest_ok = now_ns.saturating_sub(self.config.stale_after_ns);
        let fresh = |q: &Slot| q.live && q.ts_ns >= oldest_ok;
        let mut best = f64::NEG_INFINITY;
        for (i, a) in row.iter().enumerate() {
            if !fresh(a) {
                continue;
            }
            for b in row[i + 1..].iter().filter(|b| fresh(b)) {
                // Buy where the ask is, sell where the bid is, both directions.
                let ab = (b.bid_px - a.ask_px) / a.ask_px * 100.0;
                let ba = (a.bid_px - b.ask_px) / b.ask_px * 100.0;
                best = best.max(ab).max(ba);
            }
        }
        (best != f64::NEG_INFINITY).then_some(best)
    }

    /// Fills `out` with the `n` symbols with the highest best executable spread at
    /// `now_ns`, best first; only pairs with both legs live and fresh count
    /// ([`SpreadCore::best_exec_pct`]).
    ///
    /// Cold path (ranking board, status, API): O(symbols × pairs).
    pub fn top_opportunities(&self, now_ns: i64, n: usize, out: &mut Vec<(SymbolId, f64)>) {
        out.clear();
        out.extend((0..self.symbols).filter_map(|i| {
            let id = SymbolId(i as u32);
            self.best_exec_pct(id, now_ns).map(|v| (id, v))
        }));
        let best_first =
            |a: &(SymbolId, f64), b: &(SymbolId, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if n < out.len() {
            // O(symbols) partition, then sort only the top n.
            out.select_nth_unstable_by(n, best_first);
            out.truncate(n);
        }
        out.sort_unstable_by(best_first);
    }

    /// Processes one event, emitting outputs into `out`.
    ///
    /// # Hot path
    /// Allocates never; syscalls none; may block no.
    #[inline]
    pub fn on_event<F: FnMut(CoreOut)>(&mut self, event: &Event, out: &mut F) {
        match event {
            Event::Quote(q) => self.on_quote(q, out),
            Event::Trade(t) => {
                self.counters.trades += 1;
                out(CoreOut::Trade(*t));
            }
            Event::Venue(v) => self.on_venue(v, out),
        }
    }

    fn on_quote<F: FnMut(CoreOut)>(&mut self, q: &Quote, out: &mut F) {
        self.counters.quotes += 1;
        let s = q.symbol.index();
        if s >= self.symbols {
            self.counters.unknown_symbol += 1;
            return;
        }
        if !(q.bid_px > 0.0 && q.ask_px > 0.0) {
            self.counters.zero_book += 1;
            return;
        }
        if q.bid_px > q.ask_px {
            self.counters.crossed += 1;
            return;
        }
        let ex = q.exchange;
        let mine_idx = s * Exchange::COUNT + ex.index();
        if self.quotes[mine_idx].series == NO_SERIES {
            // The venue does not list the symbol (feeds only intern listed ones).
            self.counters.unknown_symbol += 1;
            return;
        }
        let ts = self.clocks[s].advance(q.recv_ts_ns);
        let slot = &mut self.quotes[mine_idx];
        slot.bid_px = q.bid_px;
        slot.ask_px = q.ask_px;
        slot.ts_ns = ts;
        slot.conn_id = q.conn_id;
        slot.live = true;
        self.history.append(
            slot.series as usize,
            &mut slot.cursor,
            ts,
            q.bid_px,
            q.ask_px,
        );
        out(CoreOut::Quote(QuoteUpdate {
            quote: *q,
            own_spread_pct: q.own_spread_pct(),
            history_ts_ns: ts,
        }));
        // Signals only need the deviation: the executable spreads are derived off the core
        // (ranking on read from the latest quotes, outputs by `LivePairs`).
        let mine_bid = q.bid_px;
        for other_ex in Exchange::ALL {
            if other_ex == ex {
                continue;
            }
            let other = &self.quotes[s * Exchange::COUNT + other_ex.index()];
            if !other.live {
                continue;
            }
            if ts.saturating_sub(other.ts_ns) > self.config.stale_after_ns {
                self.counters.stale_legs += 1;
                continue;
            }
            let Some((pair, pair_idx)) = VenuePair::lookup(ex, other_ex) else {
                continue;
            };
            let dev = if pair.first == ex {
                (mine_bid / other.bid_px - 1.0) * 100.0
            } else {
                (other.bid_px / mine_bid - 1.0) * 100.0
            };
            self.counters.spreads += 1;
            let state = &mut self.pair_state[s * PAIRS + pair_idx];
            let abs = dev.abs();
            let edge = if !state.signal_active
                && abs >= self.config.signal_entry_pct
                && q.recv_ts_ns.saturating_sub(state.last_exit_ns) >= self.config.signal_cooldown_ns
            {
                state.signal_active = true;
                Some(SignalKind::Entry)
            } else if state.signal_active && abs <= self.config.signal_exit_pct {
                state.signal_active = false;
                state.last_exit_ns = q.recv_ts_ns;
                Some(SignalKind::Exit)
            } else {
                None
            };
            if let Some(kind) = edge {
                self.counters.signals += 1;
                out(CoreOut::Signal(Signal {
                    ts_ns: q.recv_ts_ns,
                    symbol: q.symbol,
                    pair,
                    kind,
                    dev_pct: dev,
                }));
            }
        }
    }

    fn on_venue<F: FnMut(CoreOut)>(&mut self, v: &VenueState, out: &mut F) {
        let Ok(gap_slot) = conn_slot(v.exchange, v.conn_id) else {
            // The feeds refuse such ids before they get here; never fold it into another
            // connection's gap.
            self.counters.bad_conn += 1;
            return;
        };
        match v.state {
            ConnState::Disconnected => {
                out(CoreOut::Venue(*v));
                self.counters.disconnects += 1;
                let mut affected = 0u32;
                for s in 0..self.symbols {
                    let slot = &mut self.quotes[s * Exchange::COUNT + v.exchange.index()];
                    if slot.live && slot.conn_id == v.conn_id {
                        slot.live = false;
                        affected += 1;
                        // The history says so too: pair series derived from it stop
                        // using this quote at the same point the core did.
                        let ts = self.clocks[s].advance(v.ts_ns);
                        slot.ts_ns = ts;
                        self.history
                            .append_down(slot.series as usize, &mut slot.cursor, ts);
                    }
                }
                self.counters.retired_quotes += u64::from(affected);
                if self.open_gaps[gap_slot].is_none() {
                    self.open_gaps[gap_slot] = Some(OpenGap {
                        start_ns: v.ts_ns,
                        symbols_affected: affected,
                    });
                }
            }
            ConnState::Connected | ConnState::Resubscribed => {
                out(CoreOut::Venue(*v));
                if let Some(gap) = self.open_gaps[gap_slot].take() {
                    out(CoreOut::Gap(GapRecord {
                        exchange: v.exchange,
                        conn_id: v.conn_id,
                        symbols_affected: gap.symbols_affected,
                        start_ns: gap.start_ns,
                        end_ns: v.ts_ns,
                    }));
                }
            }
        }
    }

    /// Closes every open gap at `end_ns` (shutdown), so storage sees each one.
    pub fn close_gaps<F: FnMut(CoreOut)>(&mut self, end_ns: i64, out: &mut F) {
        for (i, g) in self.open_gaps.iter_mut().enumerate() {
            if let Some(gap) = g.take() {
                let exchange =
                    Exchange::from_u8((i / MAX_CONNS_PER_VENUE) as u8).unwrap_or(Exchange::Binance);
                out(CoreOut::Gap(GapRecord {
                    exchange,
                    conn_id: (i % MAX_CONNS_PER_VENUE) as u16,
                    symbols_affected: gap.symbols_affected,
                    start_ns: gap.start_ns,
                    end_ns,
                }));
            }
        }
    }
}
