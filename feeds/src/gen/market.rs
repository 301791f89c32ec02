//! The synthetic market: one random-walk mid price per symbol, a slowly wandering basis per
//! (symbol, venue), occasional dislocations of one venue, bid/ask a few ticks apart, and
//! the per-(symbol, venue) counters the wire formats carry (update ids, sequences, trade ids).
//!
//! Only `+ - * /`, `sqrt` and `floor` touch the floats, so a seed gives the same prices on
//! every platform.

use super::rng::Rng;
use super::universe::SymbolSpec;

/// Volatility of the mid per square-root second (about 95 % a year, a lively crypto).
const SIGMA_PER_SQRT_S: f64 = 1.7e-4;
/// Mean reversion of the basis per update, and its noise per update.
const BASIS_REVERSION: f64 = 0.02;
const BASIS_STEP: f64 = 0.15e-4;
/// Dislocation size, as a fraction of the price: 0.1 % .. 1 %.
const DISLOC_MIN: f64 = 0.001;
const DISLOC_MAX: f64 = 0.01;
/// Dislocation duration, and the mean gap between two on one symbol.
const DISLOC_MIN_NS: i64 = 1_000_000_000;
const DISLOC_MAX_NS: i64 = 15_000_000_000;
const DISLOC_MEAN_GAP_NS: i64 = 30_000_000_000;

/// A venue's top of book in integer ticks and lots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Touch {
    pub(crate) bid_ticks: u64,
    pub(crate) ask_ticks: u64,
    pub(crate) bid_lots: u64,
    pub(crate) ask_lots: u64,
}

/// An episode of one venue trading away from the others.
#[derive(Debug, Clone, Copy)]
struct Dislocation {
    /// Index into the chosen venues.
    venue: usize,
    start_ns: i64,
    end_ns: i64,
    /// Signed fraction of the price at full size.
    size: f64,
}

impl Dislocation {
    /// Returns the offset (a signed fraction of the price) at `ts`: ramps in over half a
    /// second, holds, and closes over the last 30 %.
    fn offset_at(&self, ts: i64) -> f64 {
        if ts < self.start_ns || ts >= self.end_ns {
            return 0.0;
        }
        let dur = (self.end_ns - self.start_ns) as f64;
        let ramp_in = (dur * 0.2).min(500_000_000.0);
        let ramp_out = dur * 0.3;
        let since = (ts - self.start_ns) as f64;
        let until = (self.end_ns - ts) as f64;
        let f = (since / ramp_in).min(until / ramp_out).min(1.0);
        self.size * f
    }
}

/// Per-symbol price state.
#[derive(Debug, Clone)]
struct SymbolState {
    mid: f64,
    last_ts_ns: i64,
    disloc: Option<Dislocation>,
    next_disloc_ns: i64,
}

/// Per-(symbol, venue) state: basis and the counters a venue's frames carry.
#[derive(Debug, Clone)]
pub(crate) struct Book {
    /// Signed fraction of the price this venue sits away from the mid.
    basis: f64,
    /// Order-book update id (`u`, `sequence`, `seqId` …).
    pub(crate) update_id: u64,
    /// A second, larger sequence (Bybit `seq`, Bitget `seq`).
    pub(crate) seq: u64,
    /// Last trade id.
    pub(crate) trade_id: u64,
    /// Last trade price (ticks) and size (lots), for tickers that echo them (KuCoin).
    pub(crate) last_px_ticks: u64,
    pub(crate) last_qty_lots: u64,
}

/// Statistics of what the market did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MarketStats {
    pub(crate) dislocations: u64,
}

/// The whole synthetic market.
#[derive(Debug)]
pub(crate) struct Market {
    rng: Rng,
    symbols: Vec<SymbolState>,
    /// `books[s * venues + v]`.
    books: Vec<Book>,
    venues: usize,
    pub(crate) stats: MarketStats,
}

impl Market {
    pub(crate) fn new(seed: u64, universe: &[SymbolSpec], venues: usize, start_ns: i64) -> Self {
        let mut rng = Rng::new(seed, 1);
        let symbols = universe
            .iter()
            .map(|s| SymbolState {
                // Start within ±5 % of the reference so seeds differ in level too.
                mid: s.price0 * rng.range_f64(0.95, 1.05),
                last_ts_ns: start_ns,
                disloc: None,
                next_disloc_ns: start_ns + (rng.unit() * DISLOC_MEAN_GAP_NS as f64) as i64,
            })
            .collect::<Vec<_>>();
        let mut books = Vec::with_capacity(universe.len() * venues);
        for (s, spec) in universe.iter().enumerate() {
            for _ in 0..venues {
                let px = (symbols[s].mid * spec.ticks_per_unit).floor().max(1.0) as u64;
                books.push(Book {
                    basis: rng.range_f64(-2e-4, 2e-4),
                    update_id: rng.range_u64(1_000_000, 9_000_000_000),
                    seq: rng.range_u64(10_000_000_000, 90_000_000_000),
                    trade_id: rng.range_u64(10_000_000, 900_000_000),
                    last_px_ticks: px,
                    last_qty_lots: 1 + rng.below(spec.typ_lots.max(1)),
                });
            }
        }
        Market {
            rng,
            symbols,
            books,
            venues,
            stats: MarketStats::default(),
        }
    }

    /// Returns the random stream the frame layer shares (ids, sides, sizes).
    pub(crate) fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Returns the random stream and the book of symbol `s` on chosen venue `v`.
    pub(crate) fn rng_and_book(&mut self, s: usize, v: usize) -> (&mut Rng, &mut Book) {
        (&mut self.rng, &mut self.books[s * self.venues + v])
    }

    /// Advances symbol `s` to `ts` and returns venue `v`'s touch.
    pub(crate) fn touch(&mut self, spec: &SymbolSpec, s: usize, v: usize, ts: i64) -> Touch {
        let rng = &mut self.rng;
        let st = &mut self.symbols[s];
        let dt_s = (ts - st.last_ts_ns).max(0) as f64 * 1e-9;
        if dt_s > 0.0 {
            let step = SIGMA_PER_SQRT_S * dt_s.sqrt() * rng.normalish();
            st.mid *= (1.0 + step).clamp(0.5, 2.0);
            st.last_ts_ns = ts;
        }
        if let Some(d) = st.disloc
            && ts >= d.end_ns
        {
            st.disloc = None;
        }
        if st.disloc.is_none() && ts >= st.next_disloc_ns && self.venues > 0 {
            let dur = rng.range_u64(DISLOC_MIN_NS as u64, DISLOC_MAX_NS as u64) as i64;
            let u = rng.unit();
            let size = DISLOC_MIN + (DISLOC_MAX - DISLOC_MIN) * u * u;
            let d = Dislocation {
                venue: rng.below(self.venues as u64) as usize,
                start_ns: ts,
                end_ns: ts + dur,
                size: if rng.chance(0.5) { size } else { -size },
            };
            st.disloc = Some(d);
            st.next_disloc_ns = d.end_ns + (rng.unit() * 2.0 * DISLOC_MEAN_GAP_NS as f64) as i64;
            self.stats.dislocations += 1;
        }
        let disloc = match st.disloc {
            Some(d) if d.venue == v => d.offset_at(ts),
            _ => 0.0,
        };
        let book = &mut self.books[s * self.venues + v];
        book.basis += -BASIS_REVERSION * book.basis + BASIS_STEP * rng.normalish();
        let mid_ticks = st.mid * (1.0 + book.basis + disloc) * spec.ticks_per_unit;
        let r = rng.next_u64();
        // Spread of 1 tick most of the time, 2 or 3 sometimes.
        let spread = match r & 0xF {
            0..=9 => 1,
            10..=13 => 2,
            _ => 3,
        };
        let bid = (mid_ticks - spread as f64 / 2.0).floor().max(1.0) as u64;
        let lots = |bits: u64| {
            // 2 % .. 400 % of the typical size, skewed small.
            let u = (bits & 0xFFFF) as f64 * (1.0 / 65536.0);
            ((spec.typ_lots as f64) * (0.02 + 4.0 * u * u * u)).max(1.0) as u64
        };
        Touch {
            bid_ticks: bid,
            ask_ticks: bid + spread,
            bid_lots: lots(r >> 8),
            ask_lots: lots(r >> 32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::r#gen::universe;

    #[test]
    fn touches_are_ordered_and_near_the_reference() {
        let u = universe::build(50);
        let mut m = Market::new(9, &u, 3, 0);
        for step in 1..20_000i64 {
            let s = (step % 50) as usize;
            let v = (step % 3) as usize;
            let t = m.touch(&u[s], s, v, step * 1_000_000);
            assert!(t.bid_ticks >= 1 && t.ask_ticks > t.bid_ticks);
            assert!(t.bid_lots >= 1 && t.ask_lots >= 1);
            let px = t.bid_ticks as f64 / u[s].ticks_per_unit;
            assert!(px > u[s].price0 * 0.8 && px < u[s].price0 * 1.2, "{px}");
        }
        assert!(m.stats.dislocations > 0);
    }

    #[test]
    fn dislocation_ramps_in_holds_and_closes() {
        let d = Dislocation {
            venue: 0,
            start_ns: 0,
            end_ns: 10_000_000_000,
            size: 0.005,
        };
        assert_eq!(d.offset_at(-1), 0.0);
        assert!(d.offset_at(100_000_000) > 0.0 && d.offset_at(100_000_000) < 0.005);
        assert_eq!(d.offset_at(5_000_000_000), 0.005);
        assert!(d.offset_at(9_000_000_000) < 0.005);
        assert_eq!(d.offset_at(10_000_000_000), 0.0);
    }
}
