//! Pair spreads of every quote, derived off the spread core from its output stream: a
//! latest-quote table an I/O thread keeps for itself (JSON lines, the output hash, later
//! storage and serving), applying the core's own rule, so the core computes only what its
//! signals need.
//!
//! For each accepted quote ([`CoreOut::Quote`]) the table yields one [`SpreadUpdate`] per
//! other venue whose latest quote is live (its connection has not dropped since:
//! [`CoreOut::Venue`]) and at most `stale_after_ns` older by history time — the same
//! values, in the same order, as the core computed when it carried them in its outputs.
//!
//! # Memory
//! `symbols * 8 * 32` bytes, allocated in [`LivePairs::new`]; applying an output allocates
//! nothing.

use crate::event::{ConnState, Exchange};
use crate::pair::VenuePair;
use crate::spread::{CoreOut, SpreadUpdate};

#[derive(Debug, Clone, Copy, Default)]
struct Leg {
    bid_px: f64,
    ask_px: f64,
    /// History time of the quote.
    ts_ns: i64,
    conn_id: u16,
    live: bool,
}

/// The latest quote of every (symbol, venue), as the core's outputs describe it.
#[derive(Debug, Clone)]
pub struct LivePairs {
    stale_after_ns: i64,
    /// `[symbol * 8 + venue]`.
    legs: Box<[Leg]>,
}

impl LivePairs {
    /// A table for `symbols` symbols judging staleness as the core does
    /// (`CoreConfig::stale_after_ns`).
    pub fn new(symbols: usize, stale_after_ns: i64) -> Self {
        LivePairs {
            stale_after_ns,
            legs: vec![Leg::default(); symbols * Exchange::COUNT].into_boxed_slice(),
        }
    }

    /// Returns the bytes [`LivePairs::new`] reserves.
    pub const fn bytes_for(symbols: usize) -> usize {
        symbols * Exchange::COUNT * size_of::<Leg>()
    }

    /// Applies one core output; for a quote, calls `f` with each of its pair spreads, in
    /// venue order.
    ///
    /// # Hot path
    /// Allocates never; syscalls none; may block no. A disconnect walks every symbol.
    #[inline]
    pub fn apply(&mut self, o: &CoreOut, mut f: impl FnMut(&SpreadUpdate)) {
        match o {
            CoreOut::Quote(u) => {
                let q = &u.quote;
                let s = q.symbol.index() * Exchange::COUNT;
                let Some(row) = self.legs.get_mut(s..s + Exchange::COUNT) else {
                    return;
                };
                let ts = u.history_ts_ns;
                row[q.exchange.index()] = Leg {
                    bid_px: q.bid_px,
                    ask_px: q.ask_px,
                    ts_ns: ts,
                    conn_id: q.conn_id,
                    live: true,
                };
                for other_ex in Exchange::ALL {
                    if other_ex == q.exchange {
                        continue;
                    }
                    let other = row[other_ex.index()];
                    if !other.live || ts.saturating_sub(other.ts_ns) > self.stale_after_ns {
                        continue;
                    }
                    let Some((pair, _)) = VenuePair::lookup(q.exchange, other_ex) else {
                        continue;
                    };
                    let ((bid_a, ask_a), (bid_b, ask_b)) = if pair.first == q.exchange {
                        ((q.bid_px, q.ask_px), (other.bid_px, other.ask_px))
                    } else {
                        ((other.bid_px, other.ask_px), (q.bid_px, q.ask_px))
                    };
                    f(&SpreadUpdate {
                        ts_ns: q.recv_ts_ns,
                        symbol: q.symbol,
                        pair,
                        trigger: q.exchange,
                        dev_pct: (bid_a / bid_b - 1.0) * 100.0,
                        exec_ab_pct: (bid_b - ask_a) / ask_a * 100.0,
                        exec_ba_pct: (bid_a - ask_b) / ask_b * 100.0,
                        other_age_ns: ts.saturating_sub(other.ts_ns).max(0),
                    });
                }
            }
            CoreOut::Venue(v) if v.state == ConnState::Disconnected => {
                for leg in self
                    .legs
                    .iter_mut()
                    .skip(v.exchange.index())
                    .step_by(Exchange::COUNT)
                {
                    if leg.live && leg.conn_id == v.conn_id {
                        leg.live = false;
                    }
                }
            }
            CoreOut::Venue(_) | CoreOut::Trade(_) | CoreOut::Signal(_) | CoreOut::Gap(_) => {}
        }
    }
}
