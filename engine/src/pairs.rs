//! Pair series derived on read: deviation, both executable spreads and percentile bands of a
//! venue pair, from an as-of merge of the two venues' histories, computed on the reader's
//! thread (the server's, `arb query`'s), never on the core.
//!
//! # The read API
//! `(symbol, venue pair, horizon) → timestamps, deviation, exec both ways, upper and lower
//! band`, into a caller-owned [`PairReader`]: after its buffers have grown to the largest
//! series once, a read allocates nothing.
//!
//! - [`Horizon::Raw`]: tick by tick over the two raw rings. Points are merged in history
//!   time, which is the core's processing order ([`crate::history::SymbolClock`]); at each
//!   point of either venue the other venue's latest point counts if it is a quote (not a
//!   down marker) and at most `stale_after_ns` older — the core's own rule, so the series
//!   equals the pair spreads the core computed (up to the `f32` prices the history keeps).
//!   The series starts where both rings have data (before that, the other leg's state is
//!   no longer known).
//! - [`Horizon::Buckets`]: one point per bucket in which either venue quoted, from the
//!   buckets' last prices; the other leg counts if its last bucket is live (not ending
//!   down) and at most `stale_after_ns` older by bucket start. This is the pair's state at
//!   each bucket's end; it agrees with the raw series' last point of the bucket whenever
//!   no leg went down or stale inside the bucket.
//!
//! Formulas (pair `(A, B)`, `A` alphabetically first, as [`crate::VenuePair`]):
//! deviation `(bid_A / bid_B - 1) * 100`; buy A sell B `(bid_B - ask_A) / ask_A * 100`;
//! buy B sell A `(bid_A - ask_B) / ask_B * 100`. Bands: for each point, the 97 % and 3 %
//! nearest-rank quantiles of the trailing 200 finite deviations ([`percentile_bands`]).
//!
//! # Examples
//!
//! ```
//! use arb_engine::history::{HistoryConfig, HistoryStore, SeriesCursor, SymbolClock};
//! use arb_engine::pairs::{Horizon, PairQuery, PairReader};
//! use arb_engine::{Exchange, SymbolRegistry, VenuePair};
//!
//! let mut reg = SymbolRegistry::new();
//! let btc = reg.insert(Exchange::Binance, "BTCUSDT", "BTC", "USDT").unwrap();
//! reg.insert(Exchange::Okx, "BTC-USDT", "BTC", "USDT").unwrap();
//! let store = HistoryStore::new(&reg, HistoryConfig::default());
//! // The writer (the spread core) appends each venue's quotes.
//! let (mut clock, mut cb, mut co) = (SymbolClock::default(), SeriesCursor::default(), SeriesCursor::default());
//! let b = store.series_of(btc, Exchange::Binance).unwrap();
//! let o = store.series_of(btc, Exchange::Okx).unwrap();
//! store.append(b, &mut cb, clock.advance(1_000), 100.0, 100.5);
//! store.append(o, &mut co, clock.advance(2_000), 101.0, 101.2);
//! // Any thread reads the pair.
//! let mut reader = PairReader::default();
//! let query = PairQuery::new(btc, VenuePair::new(Exchange::Okx, Exchange::Binance).unwrap(), Horizon::Raw);
//! let series = reader.read(&store, &query).unwrap();
//! assert_eq!(series.ts_ns, [2_000]);
//! assert!((series.dev_pct[0] - (100.0 / 101.0 - 1.0) * 100.0).abs() < 1e-5);
//! ```

use crate::event::SymbolId;
use crate::history::{HistBucket, HistPoint, HistoryError, HistoryStore, SeriesSnapshot};
use crate::pair::VenuePair;

/// Trailing points of the legacy bands.
pub const BAND_TRAILING: usize = 200;
/// Upper band quantile (legacy: 97 %).
pub const BAND_UPPER_Q: f64 = 0.97;
/// Lower band quantile (legacy: 3 %).
pub const BAND_LOWER_Q: f64 = 0.03;

/// Which part of the history a pair series is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Horizon {
    /// Tick by tick, over the raw rings (recent: the last `raw_points` of each venue).
    Raw,
    /// One point per bucket, over the buckets (default: the last hour at 1 s).
    Buckets,
}

/// What to read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairQuery {
    /// Symbol.
    pub symbol: SymbolId,
    /// Venue pair (alphabetical).
    pub pair: VenuePair,
    /// Raw or buckets.
    pub horizon: Horizon,
    /// Keep points at or after this time (ns since the epoch); `i64::MIN` keeps all.
    pub since_ns: i64,
    /// The other leg counts if at most this much older; default 5 s, the core's default.
    pub stale_after_ns: i64,
}

impl PairQuery {
    /// A query of everything the horizon holds, with the core's default staleness.
    pub fn new(symbol: SymbolId, pair: VenuePair, horizon: Horizon) -> Self {
        PairQuery {
            symbol,
            pair,
            horizon,
            since_ns: i64::MIN,
            stale_after_ns: 5_000_000_000,
        }
    }
}

/// A derived pair series, column by column, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairSeries {
    /// Time of each point: history time (raw) or bucket start (buckets), ns since the epoch.
    pub ts_ns: Vec<i64>,
    /// `(bid_A / bid_B - 1) * 100`.
    pub dev_pct: Vec<f64>,
    /// Buy on A, sell on B: `(bid_B - ask_A) / ask_A * 100`.
    pub exec_ab_pct: Vec<f64>,
    /// Buy on B, sell on A: `(bid_A - ask_B) / ask_B * 100`.
    pub exec_ba_pct: Vec<f64>,
    /// 97 % band of the trailing 200 deviations; `NaN` where none is finite.
    pub upper_band: Vec<f64>,
    /// 3 % band of the trailing 200 deviations; `NaN` where none is finite.
    pub lower_band: Vec<f64>,
}

impl PairSeries {
    fn clear(&mut self) {
        self.ts_ns.clear();
        self.dev_pct.clear();
        self.exec_ab_pct.clear();
        self.exec_ba_pct.clear();
        self.upper_band.clear();
        self.lower_band.clear();
    }

    fn push(&mut self, ts_ns: i64, a: (f32, f32), b: (f32, f32)) {
        let (bid_a, ask_a) = (f64::from(a.0), f64::from(a.1));
        let (bid_b, ask_b) = (f64::from(b.0), f64::from(b.1));
        self.ts_ns.push(ts_ns);
        self.dev_pct.push((bid_a / bid_b - 1.0) * 100.0);
        self.exec_ab_pct.push((bid_b - ask_a) / ask_a * 100.0);
        self.exec_ba_pct.push((bid_a - ask_b) / ask_b * 100.0);
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.ts_ns.len()
    }

    /// Returns `true` without points.
    pub fn is_empty(&self) -> bool {
        self.ts_ns.is_empty()
    }
}

/// Reusable buffers of a reader thread.
#[derive(Debug, Default)]
pub struct PairReader {
    a: SeriesSnapshot,
    b: SeriesSnapshot,
    series: PairSeries,
    scratch: Vec<f64>,
}

impl PairReader {
    /// Derives the pair series `query` asks for from `store`.
    ///
    /// Cold path (chart requests). Allocates only while its buffers grow.
    ///
    /// # Errors
    /// [`HistoryError::NoSeries`] when a venue of the pair does not list the symbol;
    /// [`HistoryError::Busy`] when the writer kept a series busy for every retry.
    pub fn read(
        &mut self,
        store: &HistoryStore,
        query: &PairQuery,
    ) -> Result<&PairSeries, HistoryError> {
        let sa = store
            .series_of(query.symbol, query.pair.first)
            .ok_or(HistoryError::NoSeries)?;
        let sb = store
            .series_of(query.symbol, query.pair.second)
            .ok_or(HistoryError::NoSeries)?;
        store.read(sa, &mut self.a)?;
        store.read(sb, &mut self.b)?;
        self.series.clear();
        match query.horizon {
            Horizon::Raw => merge_raw(
                &self.a.raw,
                &self.b.raw,
                query.stale_after_ns,
                &mut self.series,
            ),
            Horizon::Buckets => merge_buckets(
                &self.a.buckets,
                &self.b.buckets,
                store.config().bucket_ns,
                query.stale_after_ns,
                &mut self.series,
            ),
        }
        if query.since_ns != i64::MIN {
            let keep_from = self.series.ts_ns.partition_point(|&t| t < query.since_ns);
            let s = &mut self.series;
            for v in [&mut s.dev_pct, &mut s.exec_ab_pct, &mut s.exec_ba_pct] {
                v.drain(..keep_from);
            }
            s.ts_ns.drain(..keep_from);
        }
        let s = &mut self.series;
        percentile_bands(
            &s.dev_pct,
            BAND_TRAILING,
            BAND_UPPER_Q,
            BAND_LOWER_Q,
            &mut self.scratch,
            &mut s.upper_band,
            &mut s.lower_band,
        );
        Ok(&self.series)
    }
}

/// As-of merge of two raw rings (`a` the pair's first venue), appending to `out`.
pub fn merge_raw(a: &[HistPoint], b: &[HistPoint], stale_after_ns: i64, out: &mut PairSeries) {
    let (Some(a0), Some(b0)) = (a.first(), b.first()) else {
        return;
    };
    // Before both rings have data, the other leg's state is unknown.
    let start = a0.ts_ns.max(b0.ts_ns);
    let (mut i, mut j) = (0, 0);
    let mut last_a: Option<HistPoint> = None;
    let mut last_b: Option<HistPoint> = None;
    while i < a.len() || j < b.len() {
        let take_a = j >= b.len() || (i < a.len() && a[i].ts_ns < b[j].ts_ns);
        let (p, mine_is_a) = if take_a {
            i += 1;
            (a[i - 1], true)
        } else {
            j += 1;
            (b[j - 1], false)
        };
        if mine_is_a {
            last_a = Some(p);
        } else {
            last_b = Some(p);
        }
        if p.is_down() || p.ts_ns < start {
            continue;
        }
        let other = if mine_is_a { last_b } else { last_a };
        let Some(o) = other else { continue };
        if o.is_down() || p.ts_ns.saturating_sub(o.ts_ns) > stale_after_ns {
            continue;
        }
        let (pa, pb) = if mine_is_a { (p, o) } else { (o, p) };
        out.push(p.ts_ns, (pa.bid, pa.ask), (pb.bid, pb.ask));
    }
}

/// As-of merge of two bucket lists (`a` the pair's first venue), appending to `out`.
pub fn merge_buckets(
    a: &[HistBucket],
    b: &[HistBucket],
    bucket_ns: i64,
    stale_after_ns: i64,
    out: &mut PairSeries,
) {
    let (mut i, mut j) = (0, 0);
    let mut last_a: Option<HistBucket> = None;
    let mut last_b: Option<HistBucket> = None;
    while i < a.len() || j < b.len() {
        let no = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.bucket_no.min(y.bucket_no),
            (Some(x), None) => x.bucket_no,
            (None, Some(y)) => y.bucket_no,
            (None, None) => break,
        };
        if a.get(i).is_some_and(|x| x.bucket_no == no) {
            last_a = a.get(i).copied();
            i += 1;
        }
        if b.get(j).is_some_and(|y| y.bucket_no == no) {
            last_b = b.get(j).copied();
            j += 1;
        }
        let (Some(x), Some(y)) = (last_a, last_b) else {
            continue;
        };
        let fresh = |bucket: &HistBucket| {
            !bucket.last_bid.is_nan()
                && no
                    .saturating_sub(bucket.bucket_no)
                    .saturating_mul(bucket_ns)
                    <= stale_after_ns
        };
        if fresh(&x) && fresh(&y) {
            out.push(
                no.saturating_mul(bucket_ns),
                (x.last_bid, x.last_ask),
                (y.last_bid, y.last_ask),
            );
        }
    }
}

/// Rolling percentile bands as the legacy charts drew them: for each point, the `upper_q`
/// and `lower_q` quantiles of the trailing `trailing` values, nearest rank (`index =
/// ceil(n * q) - 1` of the sorted finite values), non-finite values ignored. Points with no
/// finite value in their span get `NaN` bands.
///
/// Cold path (chart requests); `scratch` is reused between calls. The window slides: each
/// point inserts its value into a sorted copy of the window and removes the one that left
/// it (two binary searches and two moves of at most `trailing` values), O(n · trailing)
/// instead of sorting every window, O(n · trailing · log trailing): about 30× faster for
/// the 200-point bands on a 10 000-point chart.
pub fn percentile_bands(
    values: &[f64],
    trailing: usize,
    upper_q: f64,
    lower_q: f64,
    scratch: &mut Vec<f64>,
    upper: &mut Vec<f64>,
    lower: &mut Vec<f64>,
) {
    let trailing = trailing.max(1);
    upper.clear();
    lower.clear();
    scratch.clear();
    for (i, &v) in values.iter().enumerate() {
        if i >= trailing {
            let old = values[i - trailing];
            if old.is_finite() {
                let pos = scratch.partition_point(|x| x.total_cmp(&old).is_lt());
                scratch.remove(pos);
            }
        }
        if v.is_finite() {
            let pos = scratch.partition_point(|x| x.total_cmp(&v).is_lt());
            scratch.insert(pos, v);
        }
        if scratch.is_empty() {
            upper.push(f64::NAN);
            lower.push(f64::NAN);
        } else {
            upper.push(nearest_rank(scratch, upper_q));
            lower.push(nearest_rank(scratch, lower_q));
        }
    }
}

/// Nearest-rank quantile of sorted, non-empty `sorted`: `sorted[ceil(n * q) - 1]`, clamped.
pub fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let rank = (n as f64 * q).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, window by window, as the sliding version must reproduce it.
    fn bands_by_sorting(
        values: &[f64],
        trailing: usize,
        q_hi: f64,
        q_lo: f64,
    ) -> (Vec<f64>, Vec<f64>) {
        let (mut hi, mut lo) = (Vec::new(), Vec::new());
        for i in 0..values.len() {
            let start = (i + 1).saturating_sub(trailing.max(1));
            let mut w: Vec<f64> = values[start..=i]
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            if w.is_empty() {
                hi.push(f64::NAN);
                lo.push(f64::NAN);
                continue;
            }
            w.sort_unstable_by(f64::total_cmp);
            hi.push(nearest_rank(&w, q_hi));
            lo.push(nearest_rank(&w, q_lo));
        }
        (hi, lo)
    }

    #[test]
    fn sliding_bands_equal_sorting_every_window() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut values = Vec::new();
        for i in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match i % 97 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => -0.0,
                3 => 0.0,
                _ => ((x >> 11) % 2000) as f64 / 1000.0 - 1.0,
            };
            values.push(v);
        }
        for trailing in [1, 2, 7, 200, 700] {
            let (want_hi, want_lo) = bands_by_sorting(&values, trailing, 0.97, 0.03);
            let (mut s, mut hi, mut lo) = (Vec::new(), Vec::new(), Vec::new());
            percentile_bands(&values, trailing, 0.97, 0.03, &mut s, &mut hi, &mut lo);
            let same =
                |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same(&hi, &want_hi) && hi.len() == want_hi.len(),
                "upper, trailing {trailing}"
            );
            assert!(
                same(&lo, &want_lo) && lo.len() == want_lo.len(),
                "lower, trailing {trailing}"
            );
        }
    }

    fn p(ts_ns: i64, bid: f32, ask: f32) -> HistPoint {
        HistPoint { ts_ns, bid, ask }
    }

    fn down(ts_ns: i64) -> HistPoint {
        p(ts_ns, f32::NAN, f32::NAN)
    }

    #[test]
    fn raw_merge_applies_the_cores_rules() {
        let a = [
            p(10, 100.0, 100.5),
            p(30, 100.0, 100.5),
            down(40),
            p(60, 99.0, 99.5),
        ];
        let b = [
            p(5, 101.0, 101.2),
            p(20, 101.0, 101.2),
            p(50, 101.0, 101.2),
            p(70, 98.0, 98.1),
        ];
        let mut out = PairSeries::default();
        merge_raw(&a, &b, 15, &mut out);
        // 10: b@5 fresh (age 5); 20: a@10 (10); 30: b@20 (10); 50: a down; 60: b@50 (10);
        // 70: a@60 (10). b@5 is before a's first point: unknown a state, skipped.
        assert_eq!(out.ts_ns, [10, 20, 30, 60, 70]);
        assert!((out.dev_pct[0] - (100.0 / 101.0 - 1.0) * 100.0).abs() < 1e-5);
        assert!((out.exec_ab_pct[0] - (101.0 - 100.5) / 100.5 * 100.0).abs() < 1e-5);
        assert!((out.exec_ba_pct[0] - (100.0 - 101.2) / 101.2 * 100.0).abs() < 1e-5);
        // Staleness: with 9 ns, only pairs 5 apart remain.
        let mut strict = PairSeries::default();
        merge_raw(&a, &b, 9, &mut strict);
        assert_eq!(strict.ts_ns, [10]);
    }

    #[test]
    fn bands_use_nearest_rank_and_skip_non_finite() {
        let vals: Vec<f64> = (1..=100).map(f64::from).collect();
        let (mut s, mut up, mut lo) = (Vec::new(), Vec::new(), Vec::new());
        percentile_bands(&vals, 200, 0.97, 0.03, &mut s, &mut up, &mut lo);
        assert_eq!((up[99], lo[99]), (97.0, 3.0));
        assert_eq!((up[0], lo[0]), (1.0, 1.0));
        percentile_bands(&[f64::NAN, 2.0], 200, 0.97, 0.03, &mut s, &mut up, &mut lo);
        assert!(up[0].is_nan());
        assert_eq!(up[1], 2.0);
    }
}
