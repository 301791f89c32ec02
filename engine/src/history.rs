//! Per-(symbol, venue) quote history: a raw ring of the last quotes and time buckets of
//! each venue's series, preallocated, written by the spread core with stores only and read
//! by any thread without blocking it. Pair series are derived from two venues' histories on
//! the reader's thread ([`crate::pairs`]).
//!
//! # What a series holds
//! - **Raw ring** (default 5 000 points): the history time (see below), bid and ask of each
//!   accepted quote, and a *down* marker (bid and ask `NaN`) when the venue's connection
//!   dropped and retired the quote. 16 bytes a point.
//! - **Buckets** (default 3 600 × 1 s): per bucket the last bid and ask, the lowest bid and
//!   the highest ask. 12 bytes a bucket: last bid and ask as `f32`; the extremes as
//!   fixed-point offsets from the last values (1/64 of a basis point, up to 10.2 %; wider
//!   reads as unbounded), rounded outward, so the extremes a reader decodes always bound
//!   the true ones (within `f32` precision).
//!   A bucket whose last point is a down marker has `NaN` last values.
//!
//! Prices are kept as `f32` (24-bit mantissa, relative error ≤ 6e-8): a deviation derived
//! from them differs from one computed in `f64` by at most ~1.2e-5 percentage points, far
//! below any signal threshold, and it is what lets 1 000 symbols × 8 venues × 1 h fit in
//! under 1 GiB ([`HistoryStore::bytes_for`]).
//!
//! # History time
//! The core stamps each point with its *history time*: the quote's receive time, made
//! strictly increasing per symbol in the order the core processed the quotes
//! ([`SymbolClock`]). Ordering two venues' points by history time therefore replays the
//! core's own processing order exactly, out-of-order and equal receive times included, so
//! the as-of merge of two series reproduces the pair spreads the core computed.
//!
//! # Concurrency
//! One writer (the spread core), any number of readers. Each series has a sequence counter
//! (a seqlock): odd while the writer is inside, even otherwise; readers copy and retry if
//! it moved. All words are atomics with `Relaxed` access fenced by the counter, so a torn
//! read is detected rather than undefined, and no `unsafe` is needed. Loom-checked in
//! `tests/loom.rs`.
//!
//! # Memory
//! `series * (raw_points * 16 + buckets * 12 + 64)` bytes, all in [`HistoryStore::new`];
//! appending allocates nothing.

use crate::event::{Exchange, SymbolId};
use crate::symbol::SymbolRegistry;
use crate::sync::{AtomicI64, AtomicU32, AtomicU64, Ordering, fence, spin_loop};

/// Bytes of per-series metadata (sequence, raw count, head bucket; one cache line).
const META_BYTES: usize = 64;
/// Bytes per raw point: history time (8), bid and ask as `f32` (8).
const RAW_BYTES: usize = 16;
/// Bytes per bucket: last bid and ask as `f32` (8), extremes as two fixed-point offsets (4).
const BUCKET_BYTES: usize = 12;
const NO_SERIES: u32 = u32::MAX;
/// Bit pattern of a down marker's price word: two `f32` quiet NaNs.
const DOWN_PX: u64 = (0x7fc0_0000_u64 << 32) | 0x7fc0_0000;

/// Shape of every series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryConfig {
    /// Buckets per series; default 3 600 (1 h at 1 s), the span of the legacy charts.
    pub buckets: usize,
    /// Bucket width in ns; default 1 s, the legacy charts' resolution.
    pub bucket_ns: i64,
    /// Raw points per series; default 5 000 (the legacy live chart showed 15 minutes of
    /// ticks; 5 000 covers that for a venue quoting a symbol every ~0.2 s).
    pub raw_points: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            buckets: 3600,
            bucket_ns: 1_000_000_000,
            raw_points: 5000,
        }
    }
}

/// Makes receive times strictly increasing per symbol, in processing order: the history
/// time of a quote is `max(recv_ts_ns, previous history time of the symbol + 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolClock {
    last_ns: i64,
}

impl Default for SymbolClock {
    fn default() -> Self {
        SymbolClock { last_ns: i64::MIN }
    }
}

impl SymbolClock {
    /// Returns the last history time given out; `i64::MIN` before any.
    pub fn last_ns(&self) -> i64 {
        self.last_ns
    }

    /// Returns the history time of an event received at `recv_ts_ns`, and advances.
    #[inline]
    pub fn advance(&mut self, recv_ts_ns: i64) -> i64 {
        let t = recv_ts_ns.max(self.last_ns.saturating_add(1));
        self.last_ns = t;
        t
    }
}

/// The writer's private state of one series: points written (the sequence counter is
/// twice that between appends), the head bucket and its running extremes. Lets the writer
/// append with stores only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesCursor {
    raw_written: u64,
    /// `i64::MIN` before the first point.
    head_bucket: i64,
    /// `head_bucket.rem_euclid(buckets)`.
    head_slot: u32,
    /// Lowest bid of the head bucket; `NaN` before its first quote.
    min_bid: f32,
    /// Highest ask of the head bucket; `NaN` before its first quote.
    max_ask: f32,
}

impl SeriesCursor {
    /// The cursor of a series nothing was written to.
    pub const EMPTY: SeriesCursor = SeriesCursor {
        raw_written: 0,
        head_bucket: i64::MIN,
        head_slot: 0,
        min_bid: f32::NAN,
        max_ask: f32::NAN,
    };
}

impl Default for SeriesCursor {
    fn default() -> Self {
        Self::EMPTY
    }
}

#[derive(Debug)]
#[repr(align(64))]
struct Meta {
    /// Even when stable, odd while the writer is inside.
    seq: AtomicU64,
    /// Points ever written; the ring holds the last `raw_points` of them.
    raw_written: AtomicU64,
    /// Highest bucket number written (`time / bucket_ns`), `i64::MIN` before the first.
    head_bucket: AtomicI64,
}

/// One raw point of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HistPoint {
    /// History time, ns since the epoch (see the module docs).
    pub ts_ns: i64,
    /// Best bid; `NaN` for a down marker.
    pub bid: f32,
    /// Best ask; `NaN` for a down marker.
    pub ask: f32,
}

impl HistPoint {
    /// Returns `true` for a down marker (the connection dropped, the quote was retired).
    pub fn is_down(&self) -> bool {
        self.bid.is_nan()
    }
}

/// One bucket of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HistBucket {
    /// Bucket number (`start_ns / bucket_ns`).
    pub bucket_no: i64,
    /// Last bid of the bucket; `NaN` if the venue was down at its end.
    pub last_bid: f32,
    /// Last ask of the bucket; `NaN` if the venue was down at its end.
    pub last_ask: f32,
    /// Lowest bid in the bucket (rounded down); `NaN` if unknown.
    pub min_bid: f32,
    /// Highest ask in the bucket (rounded up); `NaN` if unknown.
    pub max_ask: f32,
}

/// A consistent copy of one series, oldest first. Reused between reads.
#[derive(Debug, Clone, Default)]
pub struct SeriesSnapshot {
    /// The last raw points, oldest first.
    pub raw: Vec<HistPoint>,
    /// Non-empty buckets within the bucket span, oldest first.
    pub buckets: Vec<HistBucket>,
}

/// Error of a history read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The writer kept the series busy for every retry.
    #[error("series busy")]
    Busy,
    /// The venue does not list the symbol (no series), or no such series.
    #[error("no such series")]
    NoSeries,
}

/// Every series, in flat preallocated arrays.
#[derive(Debug)]
pub struct HistoryStore {
    config: HistoryConfig,
    /// `[symbol * 8 + venue]` → series, `NO_SERIES` where the venue does not list it.
    index: Box<[u32]>,
    meta: Box<[Meta]>,
    /// `series * raw_points` history times.
    raw_ts: Box<[AtomicI64]>,
    /// `series * raw_points` prices: bid bits `<< 32 | ask bits`.
    raw_px: Box<[AtomicU64]>,
    /// `series * buckets` last prices, as `raw_px`; 0 for an empty bucket.
    bucket_px: Box<[AtomicU64]>,
    /// `series * buckets` extremes: the lowest bid's offset below the last bid `<< 16 |` the
    /// highest ask's offset above the last ask, each in 1/64 basis point ([`encode_offset`]).
    bucket_ext: Box<[AtomicU32]>,
}

impl HistoryStore {
    /// Returns the bytes [`HistoryStore::new`] reserves for `series` series.
    pub const fn bytes_for(series: usize, config: &HistoryConfig) -> usize {
        series * (config.raw_points * RAW_BYTES + config.buckets * BUCKET_BYTES + META_BYTES)
    }

    /// Returns the number of series: the (symbol, venue) pairs the registry lists.
    pub fn count_series(registry: &SymbolRegistry) -> usize {
        (0..registry.len())
            .map(|i| registry.venues(SymbolId(i as u32)).count())
            .sum()
    }

    /// Allocates one empty series per (symbol, venue) the registry lists.
    ///
    /// # Panics
    /// If `config.buckets`, `config.raw_points` or `config.bucket_ns` is zero (validated
    /// configuration never is).
    pub fn new(registry: &SymbolRegistry, config: HistoryConfig) -> Self {
        assert!(
            config.buckets > 0 && config.raw_points > 0 && config.bucket_ns > 0,
            "empty history shape"
        );
        let n = registry.len();
        let mut index = vec![NO_SERIES; n * Exchange::COUNT].into_boxed_slice();
        let mut next = 0u32;
        for s in 0..n {
            for v in registry.venues(SymbolId(s as u32)) {
                index[s * Exchange::COUNT + v.index()] = next;
                next += 1;
            }
        }
        let series = next as usize;
        Self::with_index(index, series, config)
    }

    fn with_index(index: Box<[u32]>, series: usize, config: HistoryConfig) -> Self {
        let meta = crate::sys::huge_vec(series, || Meta {
            seq: AtomicU64::new(0),
            raw_written: AtomicU64::new(0),
            head_bucket: AtomicI64::new(i64::MIN),
        });
        let raw = series * config.raw_points;
        let buckets = series * config.buckets;
        HistoryStore {
            config,
            index,
            meta,
            raw_ts: crate::sys::huge_vec(raw, || AtomicI64::new(0)),
            raw_px: crate::sys::huge_vec(raw, || AtomicU64::new(0)),
            bucket_px: crate::sys::huge_vec(buckets, || AtomicU64::new(0)),
            bucket_ext: crate::sys::huge_vec(buckets, || AtomicU32::new(0)),
        }
    }

    /// A store of `series` series with no symbol index (tests and models address series
    /// by number).
    pub fn with_series(series: usize, config: HistoryConfig) -> Self {
        Self::with_index(Box::new([]), series, config)
    }

    /// Returns the shape of the series.
    pub fn config(&self) -> &HistoryConfig {
        &self.config
    }

    /// Returns the number of series.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// Returns `true` when there are no series.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// Returns the series of `(symbol, venue)`, if the venue lists the symbol.
    #[inline]
    pub fn series_of(&self, symbol: SymbolId, venue: Exchange) -> Option<usize> {
        let s = *self
            .index
            .get(symbol.index() * Exchange::COUNT + venue.index())?;
        (s != NO_SERIES).then_some(s as usize)
    }

    /// Appends a quote to series `s` at history time `ts_ns`. Single writer only; `cursor`
    /// must be the one this writer used for `s` last time.
    ///
    /// # Hot path
    /// Allocates never; syscalls none; may block no. About 8 relaxed stores; a bucket
    /// change after a silence also clears the skipped buckets (at most `buckets` stores).
    #[inline]
    pub fn append(&self, s: usize, cursor: &mut SeriesCursor, ts_ns: i64, bid: f64, ask: f64) {
        let (bid, ask) = (bid as f32, ask as f32);
        self.write(s, cursor, ts_ns, px_bits(bid, ask), Some((bid, ask)));
    }

    /// Appends a down marker (the venue's connection dropped; its quote no longer counts).
    pub fn append_down(&self, s: usize, cursor: &mut SeriesCursor, ts_ns: i64) {
        self.write(s, cursor, ts_ns, DOWN_PX, None);
    }

    #[inline]
    fn write(
        &self,
        s: usize,
        cursor: &mut SeriesCursor,
        ts_ns: i64,
        px: u64,
        quote: Option<(f32, f32)>,
    ) {
        let Some(meta) = self.meta.get(s) else { return };
        let cfg = &self.config;
        let seq = cursor.raw_written.wrapping_mul(2);
        meta.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // Orders the odd sequence before the data stores below (seqlock writer side).
        fence(Ordering::Release);

        // NB: most points land in the head bucket; checking that with a multiply skips the
        // 64-bit division and remainder (benches/instructions.sh, engine commit "engine:
        // move pair spreads off the core").
        let head_start = cursor.head_bucket.wrapping_mul(cfg.bucket_ns);
        let in_head = cursor.head_bucket != i64::MIN
            && ts_ns >= head_start
            && ts_ns.saturating_sub(head_start) < cfg.bucket_ns;
        let bucket_no = if in_head {
            cursor.head_bucket
        } else {
            ts_ns.div_euclid(cfg.bucket_ns)
        };
        if bucket_no >= cursor.head_bucket {
            let base = s * cfg.buckets;
            if bucket_no != cursor.head_bucket {
                if cursor.head_bucket != i64::MIN {
                    // Buckets skipped by a silence must read as empty, not as the data of
                    // `buckets` seconds earlier.
                    let skipped = bucket_no
                        .saturating_sub(cursor.head_bucket)
                        .saturating_sub(1)
                        .min(cfg.buckets as i64);
                    for k in 1..=skipped {
                        let slot = slot_of(cursor.head_bucket + k, cfg.buckets);
                        self.bucket_px[base + slot].store(0, Ordering::Relaxed);
                    }
                }
                cursor.head_bucket = bucket_no;
                cursor.head_slot = slot_of(bucket_no, cfg.buckets) as u32;
                cursor.min_bid = f32::NAN;
                cursor.max_ask = f32::NAN;
                meta.head_bucket.store(bucket_no, Ordering::Relaxed);
            }
            let slot = base + cursor.head_slot as usize;
            if let Some((bid, ask)) = quote {
                // f32::min / max ignore a NaN operand: the first quote sets both.
                cursor.min_bid = cursor.min_bid.min(bid);
                cursor.max_ask = cursor.max_ask.max(ask);
                self.bucket_ext[slot].store(
                    encode_ext(bid, cursor.min_bid, ask, cursor.max_ask),
                    Ordering::Relaxed,
                );
            }
            self.bucket_px[slot].store(px, Ordering::Relaxed);
        }

        let n = cursor.raw_written;
        let slot = s * cfg.raw_points + (n % cfg.raw_points as u64) as usize;
        self.raw_ts[slot].store(ts_ns, Ordering::Relaxed);
        self.raw_px[slot].store(px, Ordering::Relaxed);
        cursor.raw_written = n + 1;
        meta.raw_written.store(n + 1, Ordering::Relaxed);

        // Publishes the data stores above with the even sequence (seqlock writer side;
        // `PUBLISH` is Release, weakened only in the loom mutant build).
        meta.seq.store(seq.wrapping_add(2), crate::sync::PUBLISH);
    }

    /// Copies series `s` into `out`, retrying while the writer is inside it.
    ///
    /// # Errors
    /// [`HistoryError::Busy`] after the retries; [`HistoryError::NoSeries`].
    pub fn read(&self, s: usize, out: &mut SeriesSnapshot) -> Result<(), HistoryError> {
        let meta = self.meta.get(s).ok_or(HistoryError::NoSeries)?;
        for _ in 0..crate::sync::READ_RETRIES {
            // Acquire pairs with the writer's final Release store: data before it is visible.
            let s1 = meta.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                spin_loop();
                continue;
            }
            self.copy(s, meta, out);
            // Orders the relaxed data loads above before the re-check (seqlock reader side).
            fence(Ordering::Acquire);
            if meta.seq.load(Ordering::Relaxed) == s1 {
                return Ok(());
            }
        }
        Err(HistoryError::Busy)
    }

    /// The newest raw point of series `s` (a down marker after a disconnect), or `None`
    /// before the first; a seqlock read of one point, for tables that need only the
    /// latest quote of many series.
    ///
    /// # Errors
    /// [`HistoryError::Busy`] after the retries; [`HistoryError::NoSeries`].
    pub fn latest(&self, s: usize) -> Result<Option<HistPoint>, HistoryError> {
        let meta = self.meta.get(s).ok_or(HistoryError::NoSeries)?;
        let cfg = &self.config;
        for _ in 0..crate::sync::READ_RETRIES {
            // Same protocol as `read`.
            let s1 = meta.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                spin_loop();
                continue;
            }
            let n = meta.raw_written.load(Ordering::Relaxed);
            let point = (n > 0).then(|| {
                let slot = s * cfg.raw_points + ((n - 1) % cfg.raw_points as u64) as usize;
                let (bid, ask) = px_split(self.raw_px[slot].load(Ordering::Relaxed));
                HistPoint {
                    ts_ns: self.raw_ts[slot].load(Ordering::Relaxed),
                    bid,
                    ask,
                }
            });
            fence(Ordering::Acquire);
            if meta.seq.load(Ordering::Relaxed) == s1 {
                return Ok(point);
            }
        }
        Err(HistoryError::Busy)
    }

    fn copy(&self, s: usize, meta: &Meta, out: &mut SeriesSnapshot) {
        let cfg = &self.config;
        out.raw.clear();
        out.buckets.clear();
        let n = meta.raw_written.load(Ordering::Relaxed);
        let kept = n.min(cfg.raw_points as u64);
        for i in n - kept..n {
            let slot = s * cfg.raw_points + (i % cfg.raw_points as u64) as usize;
            let (bid, ask) = px_split(self.raw_px[slot].load(Ordering::Relaxed));
            out.raw.push(HistPoint {
                ts_ns: self.raw_ts[slot].load(Ordering::Relaxed),
                bid,
                ask,
            });
        }
        let head = meta.head_bucket.load(Ordering::Relaxed);
        if head == i64::MIN {
            return;
        }
        for bucket_no in head - cfg.buckets as i64 + 1..=head {
            let slot = s * cfg.buckets + slot_of(bucket_no, cfg.buckets);
            let px = self.bucket_px[slot].load(Ordering::Relaxed);
            if px == 0 {
                continue;
            }
            let (last_bid, last_ask) = px_split(px);
            let (min_bid, max_ask) = decode_ext(
                self.bucket_ext[slot].load(Ordering::Relaxed),
                last_bid,
                last_ask,
            );
            out.buckets.push(HistBucket {
                bucket_no,
                last_bid,
                last_ask,
                min_bid,
                max_ask,
            });
        }
    }
}

#[inline]
fn slot_of(bucket_no: i64, buckets: usize) -> usize {
    bucket_no.rem_euclid(buckets as i64) as usize
}

#[inline]
fn px_bits(bid: f32, ask: f32) -> u64 {
    u64::from(bid.to_bits()) << 32 | u64::from(ask.to_bits())
}

#[inline]
fn px_split(px: u64) -> (f32, f32) {
    (f32::from_bits((px >> 32) as u32), f32::from_bits(px as u32))
}

/// Offsets at or above this many basis points (10.2 %) are stored as unbounded.
const MAX_OFFSET_BPS: f32 = 1023.9;
/// An offset too wide (or unknown) to store: the reader treats the extreme as unbounded.
const UNBOUNDED: u16 = u16::MAX;

/// An offset in basis points as 1/64 bp, rounded up; [`UNBOUNDED`] past 10.2 % or NaN.
///
/// NB: fixed point rather than `f16`: two multiplies and a round instead of two software
/// half-precision conversions per quote (benches/instructions.sh, engine commit "engine:
/// fixed-point bucket extremes").
#[inline]
fn encode_offset(bps: f32) -> u16 {
    if bps <= MAX_OFFSET_BPS {
        // Rounds up without `ceilf` (a libm call on baseline x86-64).
        let x = bps.max(0.0) * 64.0;
        let t = x as u16;
        t + u16::from(f32::from(t) < x)
    } else {
        UNBOUNDED
    }
}

/// Encodes the bucket extremes as offsets from the last prices, rounded outward.
#[inline]
fn encode_ext(last_bid: f32, min_bid: f32, last_ask: f32, max_ask: f32) -> u32 {
    let below = (last_bid - min_bid) / last_bid * 1e4;
    let above = (max_ask - last_ask) / last_ask * 1e4;
    u32::from(encode_offset(below)) << 16 | u32::from(encode_offset(above))
}

fn decode_ext(ext: u32, last_bid: f32, last_ask: f32) -> (f32, f32) {
    let (below, above) = ((ext >> 16) as u16, ext as u16);
    // NB: rounded outward once more, so f32 rounding here cannot undo the encoding's.
    let min_bid = if below == UNBOUNDED {
        0.0
    } else {
        next_down((last_bid * (1.0 - f32::from(below) / 64.0 / 1e4)).max(0.0))
    };
    let max_ask = if above == UNBOUNDED {
        f32::INFINITY
    } else {
        next_up(last_ask * (1.0 + f32::from(above) / 64.0 / 1e4))
    };
    (min_bid, max_ask)
}

fn next_up(x: f32) -> f32 {
    if x.is_finite() && x > 0.0 {
        f32::from_bits(x.to_bits() + 1)
    } else {
        x
    }
}

fn next_down(x: f32) -> f32 {
    if x.is_finite() && x > 0.0 {
        f32::from_bits(x.to_bits() - 1)
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;

    fn small() -> HistoryStore {
        HistoryStore::with_series(
            2,
            HistoryConfig {
                buckets: 4,
                bucket_ns: SEC,
                raw_points: 3,
            },
        )
    }

    #[test]
    fn symbol_clock_is_strictly_increasing_in_processing_order() {
        let mut c = SymbolClock::default();
        assert_eq!(c.advance(10), 10);
        assert_eq!(c.advance(10), 11);
        assert_eq!(c.advance(5), 12);
        assert_eq!(c.advance(100), 100);
    }

    #[test]
    fn buckets_keep_last_and_bound_the_extremes() {
        let s = small();
        let mut c = SeriesCursor::default();
        s.append(0, &mut c, 10 * SEC, 100.0, 100.5);
        s.append(0, &mut c, 10 * SEC + 5, 99.5, 101.25);
        s.append(0, &mut c, 10 * SEC + 9, 100.2, 100.4);
        let mut snap = SeriesSnapshot::default();
        s.read(0, &mut snap).unwrap();
        assert_eq!(snap.buckets.len(), 1);
        let b = snap.buckets[0];
        assert_eq!((b.bucket_no, b.last_bid, b.last_ask), (10, 100.2, 100.4));
        assert!(
            b.min_bid <= 99.5 && b.min_bid > 99.5 * (1.0 - 1e-3),
            "{b:?}"
        );
        assert!(
            b.max_ask >= 101.25 && b.max_ask < 101.25 * (1.0 + 1e-3),
            "{b:?}"
        );
        assert_eq!(snap.raw.len(), 3);
        assert_eq!(
            snap.raw[2],
            HistPoint {
                ts_ns: 10 * SEC + 9,
                bid: 100.2,
                ask: 100.4
            }
        );
        // The other series is untouched.
        s.read(1, &mut snap).unwrap();
        assert!(snap.raw.is_empty() && snap.buckets.is_empty());
    }

    #[test]
    fn extremes_past_ten_percent_read_as_unbounded() {
        let s = small();
        let mut c = SeriesCursor::default();
        s.append(0, &mut c, SEC, 50.0, 200.0);
        s.append(0, &mut c, SEC + 1, 100.0, 100.5);
        let mut snap = SeriesSnapshot::default();
        s.read(0, &mut snap).unwrap();
        let b = snap.buckets[0];
        assert_eq!((b.min_bid, b.max_ask), (0.0, f32::INFINITY));
        assert_eq!((encode_offset(0.0), encode_offset(1.0 / 64.0)), (0, 1));
        assert_eq!(encode_offset(f32::NAN), UNBOUNDED);
    }

    #[test]
    fn raw_ring_wraps_and_down_markers_are_kept() {
        let s = small();
        let mut c = SeriesCursor::default();
        for k in 0..5 {
            s.append(0, &mut c, SEC + k, 1.0 + k as f64, 2.0 + k as f64);
        }
        s.append_down(0, &mut c, SEC + 10);
        let mut snap = SeriesSnapshot::default();
        s.read(0, &mut snap).unwrap();
        let ts: Vec<i64> = snap.raw.iter().map(|p| p.ts_ns - SEC).collect();
        assert_eq!(ts, [3, 4, 10]);
        assert!(snap.raw[2].is_down());
        assert!(
            snap.buckets[0].last_bid.is_nan(),
            "down at the bucket's end"
        );
    }

    #[test]
    fn a_silence_leaves_no_stale_buckets() {
        let s = small();
        let mut c = SeriesCursor::default();
        for t in [1, 2, 3] {
            s.append(0, &mut c, t * SEC, t as f64, t as f64 + 1.0);
        }
        // 6 s later: buckets 1..3 are out of the span; 4 and 5 were never written.
        s.append(0, &mut c, 7 * SEC, 7.0, 8.0);
        let mut snap = SeriesSnapshot::default();
        s.read(0, &mut snap).unwrap();
        assert_eq!(
            snap.buckets.iter().map(|b| b.bucket_no).collect::<Vec<_>>(),
            [7]
        );
        // 2 s later: bucket 8 skipped (cleared), bucket 9 written; 7 still in span.
        s.append(0, &mut c, 9 * SEC, 9.0, 10.0);
        s.read(0, &mut snap).unwrap();
        assert_eq!(
            snap.buckets.iter().map(|b| b.bucket_no).collect::<Vec<_>>(),
            [7, 9]
        );
    }

    #[test]
    fn late_points_enter_the_raw_ring_only() {
        let s = small();
        let mut c = SeriesCursor::default();
        s.append(0, &mut c, 5 * SEC, 5.0, 6.0);
        s.append(0, &mut c, 4 * SEC, 4.0, 5.0);
        let mut snap = SeriesSnapshot::default();
        s.read(0, &mut snap).unwrap();
        assert_eq!(snap.raw.len(), 2);
        assert_eq!(snap.buckets.len(), 1);
        assert_eq!(snap.buckets[0].last_bid, 5.0);
    }

    #[test]
    fn reserved_bytes_formula_matches_shape() {
        let cfg = HistoryConfig::default();
        // 1 000 symbols on 8 venues: 8 000 series.
        let bytes = HistoryStore::bytes_for(8000, &cfg);
        assert_eq!(bytes, 8000 * (5000 * 16 + 3600 * 12 + 64));
        assert!(bytes < 1 << 30, "{bytes}");
        assert_eq!(size_of::<Meta>(), META_BYTES);
    }
}

#[cfg(test)]
mod property_tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Decoded bucket extremes always bound the true lowest bid and highest ask, and
        /// stay within 0.01 % of them while prices move less than ±5 % within a bucket.
        #[test]
        fn prop_bucket_extremes_bound_the_truth(
            base in 1e-9f64..1e5,
            moves in proptest::collection::vec((-0.02f64..0.02, 0.0f64..0.02), 1..50),
        ) {
            let quotes: Vec<(f64, f64)> = moves.iter().map(|(m, w)| (base * (1.0 + m), *w)).collect();
            let s = HistoryStore::with_series(1, HistoryConfig { buckets: 2, bucket_ns: 1 << 40, raw_points: 4 });
            let mut c = SeriesCursor::default();
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            for (k, (bid, w)) in quotes.iter().enumerate() {
                let ask = bid * (1.0 + w);
                s.append(0, &mut c, k as i64, *bid, ask);
                lo = lo.min(*bid as f32);
                hi = hi.max(ask as f32);
            }
            let mut snap = SeriesSnapshot::default();
            s.read(0, &mut snap).unwrap();
            let b = snap.buckets[0];
            prop_assert!(b.min_bid <= lo && b.min_bid >= lo * 0.9999, "{:?} vs {}", b, lo);
            prop_assert!(b.max_ask >= hi && b.max_ask <= hi * 1.0001, "{:?} vs {}", b, hi);
        }
    }
}
