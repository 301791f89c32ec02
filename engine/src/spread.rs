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

/// For each pair index, the bit mask of its two venues (bit = `Exchange::index()`).
const PAIR_MASKS: [u8; PAIRS] = {
    let mut m = [0u8; PAIRS];
    let mut p = 0;
    while p < PAIRS {
        if let Some(pair) = VenuePair::from_index_fast(p) {
            m[p] = (1 << pair.first as u8) | (1 << pair.second as u8);
        }
        p += 1;
    }
    m
};

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

/// A quote the core accepted, with the venue's own spread and every pair spread it
/// produced: one ring slot per quote instead of one per pair (the pair results share the
/// quote's time, symbol and venue).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuoteUpdate {
    /// The quote.
    pub quote: Quote,
    /// `(ask - bid) / ask * 100`.
    pub own_spread_pct: f64,
    /// The pair spreads against every live, fresh other venue.
    pub spreads: PairSpreads,
}

impl QuoteUpdate {
    /// Returns each pair result as a self-contained [`SpreadUpdate`].
    pub fn spread_updates(&self) -> impl Iterator<Item = SpreadUpdate> + '_ {
        self.spreads.iter().map(|p| SpreadUpdate {
            ts_ns: self.quote.recv_ts_ns,
            symbol: self.quote.symbol,
            pair: p.pair,
            trigger: self.quote.exchange,
            dev_pct: p.dev_pct,
            exec_ab_pct: p.exec_ab_pct,
            exec_ba_pct: p.exec_ba_pct,
            other_age_ns: p.other_age_ns,
        })
    }
}

/// One pair's spreads, as carried inside a [`QuoteUpdate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairSpread {
    /// The pair, alphabetical.
    pub pair: VenuePair,
    /// `(bid_A / bid_B - 1) * 100`.
    pub dev_pct: f64,
    /// Buy on A (first), sell on B: `(bid_B - ask_A) / ask_A * 100`.
    pub exec_ab_pct: f64,
    /// Buy on B, sell on A: `(bid_A - ask_B) / ask_B * 100`.
    pub exec_ba_pct: f64,
    /// Age of the other leg (receive-time difference), ns.
    pub other_age_ns: i64,
}

/// Up to seven pair results (one per other venue), inline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairSpreads {
    /// Invariant: `len <= items.len()`.
    len: u8,
    items: [PairSpread; Exchange::COUNT - 1],
}

impl PairSpreads {
    /// No pair results.
    pub const EMPTY: PairSpreads = PairSpreads {
        len: 0,
        items: [PairSpread {
            pair: VenuePair {
                first: Exchange::Binance,
                second: Exchange::Bingx,
            },
            dev_pct: 0.0,
            exec_ab_pct: 0.0,
            exec_ba_pct: 0.0,
            other_age_ns: 0,
        }; Exchange::COUNT - 1],
    };

    /// Appends a result; ignores it past seven (cannot happen: one per other venue).
    #[inline]
    pub fn push(&mut self, p: PairSpread) {
        if let Some(slot) = self.items.get_mut(usize::from(self.len)) {
            *slot = p;
            self.len += 1;
        }
    }

    /// Returns the results.
    #[inline]
    pub fn as_slice(&self) -> &[PairSpread] {
        &self.items[..usize::from(self.len)]
    }

    /// Iterates the results.
    pub fn iter(&self) -> std::slice::Iter<'_, PairSpread> {
        self.as_slice().iter()
    }

    /// Number of results.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Returns `true` without results.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One pair's spreads after a quote of either leg, self-contained (see
/// [`QuoteUpdate::spread_updates`]).
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
#[expect(
    clippy::large_enum_variant,
    reason = "ring slots are fixed-size anyway; boxing would allocate per quote"
)]
pub enum CoreOut {
    /// An accepted quote with its pair spreads (for storage and charts).
    Quote(QuoteUpdate),
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
    /// Pair updates computed.
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
    /// `[symbol * PAIRS + pair]`: best of the two executable spreads at the pair's last
    /// update with both legs fresh; `-inf` before any. Only a value whose two legs are
    /// still live and fresh counts (checked on read, [`SpreadCore::best_exec_pct`]); kept
    /// apart from `pair_state` so a symbol's ranking reads two cache lines, not 28 (f32:
    /// rankings need no more precision).
    pair_best: Box<[f32]>,
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
            + n * PAIRS * (size_of::<PairState>() + size_of::<f32>())
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
            pair_best: vec![f32::NEG_INFINITY; n * PAIRS].into_boxed_slice(),
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
    /// Cold path (ranking, status): reads the symbol's 8 quote slots and 28 pair bests.
    pub fn best_exec_pct(&self, symbol: SymbolId, now_ns: i64) -> Option<f64> {
        let s = symbol.index();
        let row = self
            .quotes
            .get(s * Exchange::COUNT..(s + 1) * Exchange::COUNT)?;
        let oldest_ok = now_ns.saturating_sub(self.config.stale_after_ns);
        let mut fresh: u8 = 0;
        for (i, slot) in row.iter().enumerate() {
            fresh |= u8::from(slot.live && slot.ts_ns >= oldest_ok) << i;
        }
        let bests = &self.pair_best[s * PAIRS..(s + 1) * PAIRS];
        // Pairs never updated (or whose venues do not both list the symbol) hold -inf, so they never win.
        let mut best = f32::NEG_INFINITY;
        for (mask, &v) in PAIR_MASKS.iter().zip(bests) {
            if fresh & mask == *mask && v > best {
                best = v;
            }
        }
        (best != f32::NEG_INFINITY).then_some(f64::from(best))
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
        let mine = *slot;
        let mut update = QuoteUpdate {
            quote: *q,
            own_spread_pct: q.own_spread_pct(),
            spreads: PairSpreads::EMPTY,
        };
        let mut signals: [Option<Signal>; Exchange::COUNT - 1] = [None; Exchange::COUNT - 1];
        for other_ex in Exchange::ALL {
            if other_ex == ex {
                continue;
            }
            let other = self.quotes[s * Exchange::COUNT + other_ex.index()];
            if !other.live {
                continue;
            }
            let age = ts - other.ts_ns;
            if age > self.config.stale_after_ns {
                self.counters.stale_legs += 1;
                continue;
            }
            let Some((pair, pair_idx)) = VenuePair::lookup(ex, other_ex) else {
                continue;
            };
            let (a, b) = if pair.first == ex {
                (&mine, &other)
            } else {
                (&other, &mine)
            };
            let dev = (a.bid_px / b.bid_px - 1.0) * 100.0;
            let exec_ab = (b.bid_px - a.ask_px) / a.ask_px * 100.0;
            let exec_ba = (a.bid_px - b.ask_px) / b.ask_px * 100.0;
            let state = &mut self.pair_state[s * PAIRS + pair_idx];
            self.counters.spreads += 1;
            let slot = update.spreads.len();
            update.spreads.push(PairSpread {
                pair,
                dev_pct: dev,
                exec_ab_pct: exec_ab,
                exec_ba_pct: exec_ba,
                other_age_ns: age.max(0),
            });
            self.pair_best[s * PAIRS + pair_idx] = exec_ab.max(exec_ba) as f32;
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
                signals[slot.min(signals.len() - 1)] = Some(Signal {
                    ts_ns: q.recv_ts_ns,
                    symbol: q.symbol,
                    pair,
                    kind,
                    dev_pct: dev,
                });
            }
        }
        out(CoreOut::Quote(update));
        for signal in signals.into_iter().flatten() {
            out(CoreOut::Signal(signal));
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
