//! The spread core: the single writer that owns the latest quote of every (symbol, venue),
//! recomputes cross-venue spreads on every quote, feeds the per-pair windows, raises
//! signals and retires the quotes of dropped connections.
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
use crate::pair::{PAIRS, VenuePair};
use crate::symbol::SymbolRegistry;
use crate::window::{WindowConfig, WindowCursor, WindowStore};

const NO_WINDOW: u32 = u32::MAX;

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
    /// Window shape for every (symbol, pair).
    pub window: WindowConfig,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            stale_after_ns: 5_000_000_000,
            signal_entry_pct: 0.35,
            signal_exit_pct: 0.05,
            signal_cooldown_ns: 10_000_000_000,
            window: WindowConfig::default(),
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

#[derive(Debug, Clone, Copy)]
struct Slot {
    bid_px: f64,
    ask_px: f64,
    recv_ts_ns: i64,
    conn_id: u16,
    live: bool,
}

const EMPTY_SLOT: Slot = Slot {
    bid_px: 0.0,
    ask_px: 0.0,
    recv_ts_ns: 0,
    conn_id: 0,
    live: false,
};

/// Core-private state of one (symbol, pair): signal state and the window cursor, in one
/// cache line so a pair update loads one line of state.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
struct PairState {
    cursor: WindowCursor,
    /// Time of the last exit, for the cooldown; `i64::MIN` before any.
    last_exit_ns: i64,
    signal_active: bool,
}

#[cfg(test)]
mod layout_tests {
    #[test]
    fn pair_state_is_one_cache_line() {
        assert_eq!(size_of::<super::PairState>(), 64);
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
    /// `[symbol * PAIRS + pair]` → window index, `NO_WINDOW` where a venue does not list it.
    pair_window: Box<[u32]>,
    /// Indexed by window.
    pair_state: Box<[PairState]>,
    /// `[symbol * PAIRS + pair]`: best of the two executable spreads at the pair's last
    /// update with both legs fresh; `-inf` before any. Only a value whose two legs are
    /// still live and fresh counts (checked on read, [`SpreadCore::best_exec_pct`]); kept
    /// apart from `pair_state` so a symbol's ranking reads two cache lines, not 28 (f32:
    /// rankings need no more precision).
    pair_best: Box<[f32]>,
    windows: std::sync::Arc<WindowStore>,
    open_gaps: Box<[Option<OpenGap>]>,
    counters: CoreCounters,
}

impl SpreadCore {
    /// Returns the bytes [`SpreadCore::new`] reserves for `registry` and `config`.
    pub fn bytes_for(registry: &SymbolRegistry, config: &CoreConfig) -> usize {
        let n = registry.len();
        let windows = Self::count_windows(registry);
        n * Exchange::COUNT * size_of::<Slot>()
            + n * PAIRS * (size_of::<u32>() + size_of::<f32>())
            + windows * size_of::<PairState>()
            + Exchange::COUNT * MAX_CONNS_PER_VENUE * size_of::<Option<OpenGap>>()
            + WindowStore::bytes_for(windows, &config.window)
    }

    /// Returns the number of (symbol, pair) windows: pairs of venues that both list a symbol.
    pub fn count_windows(registry: &SymbolRegistry) -> usize {
        (0..registry.len())
            .map(|i| {
                let v = registry.venues(SymbolId(i as u32)).count();
                v * v.saturating_sub(1) / 2
            })
            .sum()
    }

    /// Sizes every table for `registry` and allocates the windows.
    pub fn new(registry: &SymbolRegistry, config: CoreConfig) -> Self {
        let n = registry.len();
        let mut pair_window = vec![NO_WINDOW; n * PAIRS].into_boxed_slice();
        let mut next = 0u32;
        for s in 0..n {
            let venues: Vec<Exchange> = registry.venues(SymbolId(s as u32)).collect();
            for (i, &a) in venues.iter().enumerate() {
                for &b in &venues[i + 1..] {
                    if let Some(p) = VenuePair::new(a, b) {
                        pair_window[s * PAIRS + p.index()] = next;
                        next += 1;
                    }
                }
            }
        }
        let windows = next as usize;
        SpreadCore {
            config,
            symbols: n,
            quotes: vec![EMPTY_SLOT; n * Exchange::COUNT].into_boxed_slice(),
            pair_window,
            pair_state: vec![
                PairState {
                    last_exit_ns: i64::MIN,
                    ..PairState::default()
                };
                windows
            ]
            .into_boxed_slice(),
            pair_best: vec![f32::NEG_INFINITY; n * PAIRS].into_boxed_slice(),
            windows: std::sync::Arc::new(WindowStore::new(windows, config.window)),
            open_gaps: vec![None; Exchange::COUNT * MAX_CONNS_PER_VENUE].into_boxed_slice(),
            counters: CoreCounters::default(),
        }
    }

    /// Returns the windows, shared with readers.
    pub fn windows(&self) -> &std::sync::Arc<WindowStore> {
        &self.windows
    }

    /// Returns the window index of `(symbol, pair)`, if both venues list the symbol.
    pub fn window_of(&self, symbol: SymbolId, pair: VenuePair) -> Option<usize> {
        let w = *self
            .pair_window
            .get(symbol.index() * PAIRS + pair.index())?;
        (w != NO_WINDOW).then_some(w as usize)
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
            fresh |= u8::from(slot.live && slot.recv_ts_ns >= oldest_ok) << i;
        }
        let bests = &self.pair_best[s * PAIRS..(s + 1) * PAIRS];
        // Pairs without a window (or never updated) hold -inf, so they never win.
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
        self.quotes[s * Exchange::COUNT + ex.index()] = Slot {
            bid_px: q.bid_px,
            ask_px: q.ask_px,
            recv_ts_ns: q.recv_ts_ns,
            conn_id: q.conn_id,
            live: true,
        };
        let mut update = QuoteUpdate {
            quote: *q,
            own_spread_pct: q.own_spread_pct(),
            spreads: PairSpreads::EMPTY,
        };
        let mut signals: [Option<Signal>; Exchange::COUNT - 1] = [None; Exchange::COUNT - 1];
        let stamp = self.windows.stamp(q.recv_ts_ns);

        let mine = Slot {
            bid_px: q.bid_px,
            ask_px: q.ask_px,
            recv_ts_ns: q.recv_ts_ns,
            conn_id: q.conn_id,
            live: true,
        };
        for other_ex in Exchange::ALL {
            if other_ex == ex {
                continue;
            }
            let other = self.quotes[s * Exchange::COUNT + other_ex.index()];
            if !other.live {
                continue;
            }
            let age = q.recv_ts_ns - other.recv_ts_ns;
            if age > self.config.stale_after_ns {
                self.counters.stale_legs += 1;
                continue;
            }
            let Some(pair) = VenuePair::new(ex, other_ex) else {
                continue;
            };
            let w = self.pair_window[s * PAIRS + pair.index()];
            if w == NO_WINDOW {
                continue;
            }
            let (a, b) = if pair.first == ex {
                (&mine, &other)
            } else {
                (&other, &mine)
            };
            let dev = (a.bid_px / b.bid_px - 1.0) * 100.0;
            let exec_ab = (b.bid_px - a.ask_px) / a.ask_px * 100.0;
            let exec_ba = (a.bid_px - b.ask_px) / b.ask_px * 100.0;
            let state = &mut self.pair_state[w as usize];
            self.windows
                .record_at(w as usize, &mut state.cursor, stamp, dev, exec_ab, exec_ba);
            self.counters.spreads += 1;
            let slot = update.spreads.len();
            update.spreads.push(PairSpread {
                pair,
                dev_pct: dev,
                exec_ab_pct: exec_ab,
                exec_ba_pct: exec_ba,
                other_age_ns: age.max(0),
            });
            self.pair_best[s * PAIRS + pair.index()] = exec_ab.max(exec_ba) as f32;
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
