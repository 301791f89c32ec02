//! Preallocated per-pair circular windows: 1-second (configurable) buckets of last / min /
//! max / count of the deviation and both executable spreads, plus a raw ring of the last
//! N points, readable by other threads without ever blocking the writer.
//!
//! # Concurrency
//! One writer (the spread core) and any number of readers. Each window has a sequence
//! counter (a seqlock): the writer makes it odd, writes, makes it even; a reader copies
//! the window and retries if the counter moved. All window words are atomics accessed with
//! `Relaxed` ordering, fenced by the counter, so torn reads are detected rather than
//! undefined behaviour and no `unsafe` is needed. The writer never waits for a reader.
//!
//! # Memory
//! Everything is allocated in [`WindowStore::new`]: `windows * (buckets * 44 + raw_points
//! * 24 + 64)` bytes (see [`WindowStore::bytes_for`]). Recording allocates nothing.

use crate::sync::{AtomicI64, AtomicU32, AtomicU64, Ordering, fence, spin_loop};

/// Words per bucket: id, count, then (last, min, max) for deviation, buy-first-sell-second,
/// buy-second-sell-first.
const BUCKET_WORDS: usize = 11;
/// Words per raw point: ts, deviation|exec_ab, exec_ba.
const RAW_WORDS: usize = 3;
/// Bytes of per-window metadata (sequence, head bucket, raw count; one cache line).
const META_BYTES: usize = 64;

/// Shape of every window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowConfig {
    /// Number of buckets; default 3600 (1 h at 1 s), the span of the legacy charts' history.
    pub buckets: usize,
    /// Bucket width in ns; default 1 s.
    pub bucket_ns: i64,
    /// Raw points kept for tick-level charts; default 5000 (the legacy live chart showed
    /// 15 minutes of ticks; 5000 covers that for a pair ticking every ~0.2 s).
    pub raw_points: usize,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            buckets: 3600,
            bucket_ns: 1_000_000_000,
            raw_points: 5000,
        }
    }
}

/// One bucket of a window snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bucket {
    /// Start of the bucket, ns since the epoch.
    pub start_ns: i64,
    /// Points recorded in the bucket.
    pub count: u32,
    /// Deviation `(bid_A / bid_B - 1) * 100`: last, min, max.
    pub dev: Stat,
    /// Executable spread buy on A, sell on B: last, min, max.
    pub exec_ab: Stat,
    /// Executable spread buy on B, sell on A: last, min, max.
    pub exec_ba: Stat,
}

/// Last / min / max of one metric within a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stat {
    /// Last value.
    pub last: f32,
    /// Minimum.
    pub min: f32,
    /// Maximum.
    pub max: f32,
}

/// One raw point of a window snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RawPoint {
    /// Time of the update, ns since the epoch.
    pub ts_ns: i64,
    /// Deviation in percent.
    pub dev: f32,
    /// Executable spread buy A / sell B, percent.
    pub exec_ab: f32,
    /// Executable spread buy B / sell A, percent.
    pub exec_ba: f32,
}

/// A consistent copy of one window, oldest first. Reused between reads.
#[derive(Debug, Clone, Default)]
pub struct WindowSnapshot {
    /// Non-empty buckets within the window span, oldest first.
    pub buckets: Vec<Bucket>,
    /// The last raw points, oldest first.
    pub raw: Vec<RawPoint>,
}

/// Error of [`WindowStore::read`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WindowReadError {
    /// The writer kept the window busy for every retry.
    #[error("window busy")]
    Busy,
    /// No such window.
    #[error("no such window")]
    OutOfRange,
}

#[derive(Debug)]
#[repr(align(64))]
struct Meta {
    /// Even when stable, odd while the writer is inside.
    seq: AtomicU64,
    /// Highest bucket number written (`ts_ns / bucket_ns`), `i64::MIN` before the first.
    head_bucket: AtomicI64,
    /// Raw points ever written; the ring holds the last `raw_points` of them.
    raw_written: AtomicU64,
}

/// Where a point goes: its time, bucket number and bucket slot ([`WindowStore::stamp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowStamp {
    ts_ns: i64,
    bucket_no: i64,
    /// Invariant: `bucket_no.rem_euclid(buckets)`.
    bucket_slot: usize,
}

/// The writer's private copy of one window's state: raw points written (the sequence
/// counter is always twice that between records), the head bucket and its running
/// count / min / max. Lets the writer record with stores only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowCursor {
    raw_written: u64,
    /// `i64::MIN` before the first point.
    head_bucket: i64,
    count: u32,
    min: [f32; 3],
    max: [f32; 3],
}

impl Default for WindowCursor {
    fn default() -> Self {
        WindowCursor {
            raw_written: 0,
            head_bucket: i64::MIN,
            count: 0,
            min: [0.0; 3],
            max: [0.0; 3],
        }
    }
}

/// All windows, in three flat preallocated arrays.
#[derive(Debug)]
pub struct WindowStore {
    config: WindowConfig,
    meta: Box<[Meta]>,
    /// `windows * buckets * BUCKET_WORDS` words.
    buckets: Box<[AtomicU32]>,
    /// `windows * raw_points * RAW_WORDS` words.
    raw: Box<[AtomicU64]>,
}

impl WindowStore {
    /// Returns the bytes [`WindowStore::new`] reserves for `windows` windows.
    pub const fn bytes_for(windows: usize, config: &WindowConfig) -> usize {
        windows
            * (config.buckets * BUCKET_WORDS * 4 + config.raw_points * RAW_WORDS * 8 + META_BYTES)
    }

    /// Allocates `windows` windows, all empty.
    ///
    /// # Panics
    /// If `config.buckets`, `config.raw_points` or `config.bucket_ns` is zero (validated
    /// configuration never is).
    pub fn new(windows: usize, config: WindowConfig) -> Self {
        assert!(
            config.buckets > 0 && config.raw_points > 0 && config.bucket_ns > 0,
            "empty window shape"
        );
        let meta = crate::sys::huge_vec(windows, || Meta {
            seq: AtomicU64::new(0),
            head_bucket: AtomicI64::new(i64::MIN),
            raw_written: AtomicU64::new(0),
        });
        let buckets = crate::sys::huge_vec(windows * config.buckets * BUCKET_WORDS, || {
            AtomicU32::new(0)
        });
        let raw = crate::sys::huge_vec(windows * config.raw_points * RAW_WORDS, || {
            AtomicU64::new(0)
        });
        WindowStore {
            config,
            meta,
            buckets,
            raw,
        }
    }

    /// Returns the shape of the windows.
    pub fn config(&self) -> &WindowConfig {
        &self.config
    }

    /// Returns the number of windows.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// Returns `true` when there are no windows.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// Records one point into window `w`, reading the window's state from shared memory.
    /// Single writer only. The spread core keeps a [`WindowCursor`] per window and calls
    /// [`WindowStore::record_at`] instead, which never loads from the shared arrays.
    pub fn record(&self, w: usize, ts_ns: i64, dev: f64, exec_ab: f64, exec_ba: f64) {
        let mut cursor = self.cursor(w);
        self.record_at(w, &mut cursor, self.stamp(ts_ns), dev, exec_ab, exec_ba);
    }

    /// Computes where a point at `ts_ns` goes; the same for every window, so the core
    /// computes it once per quote rather than once per pair.
    #[inline]
    pub fn stamp(&self, ts_ns: i64) -> WindowStamp {
        let bucket_no = ts_ns.div_euclid(self.config.bucket_ns);
        WindowStamp {
            ts_ns,
            bucket_no,
            bucket_slot: bucket_no.rem_euclid(self.config.buckets as i64) as usize,
        }
    }

    /// Returns the writer-side state of window `w` as stored (for [`WindowStore::record_at`]).
    pub fn cursor(&self, w: usize) -> WindowCursor {
        let Some(meta) = self.meta.get(w) else {
            return WindowCursor::default();
        };
        let cfg = &self.config;
        // Relaxed: only the single writer calls this, and it sees its own stores.
        let head = meta.head_bucket.load(Ordering::Relaxed);
        let mut c = WindowCursor {
            raw_written: meta.raw_written.load(Ordering::Relaxed),
            head_bucket: head,
            ..WindowCursor::default()
        };
        if head != i64::MIN {
            let slot = head.rem_euclid(cfg.buckets as i64) as usize;
            let base = (w * cfg.buckets + slot) * BUCKET_WORDS;
            let b = &self.buckets[base..base + BUCKET_WORDS];
            if b[0].load(Ordering::Relaxed) == head as u32 {
                c.count = b[1].load(Ordering::Relaxed);
                for k in 0..3 {
                    c.min[k] = f32::from_bits(b[3 + 3 * k].load(Ordering::Relaxed));
                    c.max[k] = f32::from_bits(b[4 + 3 * k].load(Ordering::Relaxed));
                }
            }
        }
        c
    }

    /// Records one point into window `w` whose writer-side state is `cursor`. Single
    /// writer only; `cursor` must be the one this writer used for `w` last time (or
    /// [`WindowStore::cursor`]).
    ///
    /// A point in the head bucket updates it, a point in a later bucket starts a new head
    /// bucket, a late point (earlier bucket) enters the raw ring only.
    ///
    /// # Hot path
    /// Allocates never; syscalls none; may block no. Only stores to the shared arrays
    /// (about 20, relaxed): a store to an uncached line waits in the store buffer where a
    /// load would stall the core (NB: this halved the core's per-quote cost, see the
    /// engine commit "engine: record windows from a writer-side cursor").
    #[inline]
    pub fn record_at(
        &self,
        w: usize,
        cursor: &mut WindowCursor,
        stamp: WindowStamp,
        dev: f64,
        exec_ab: f64,
        exec_ba: f64,
    ) {
        let WindowStamp {
            ts_ns,
            bucket_no,
            bucket_slot,
        } = stamp;
        let Some(meta) = self.meta.get(w) else { return };
        let cfg = &self.config;
        let v = [dev as f32, exec_ab as f32, exec_ba as f32];
        let seq = cursor.raw_written.wrapping_mul(2);
        meta.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // Orders the odd sequence before the data stores below (seqlock writer side).
        fence(Ordering::Release);

        if bucket_no >= cursor.head_bucket || cursor.head_bucket == i64::MIN {
            let base = (w * cfg.buckets + bucket_slot) * BUCKET_WORDS;
            let b = &self.buckets[base..base + BUCKET_WORDS];
            if bucket_no != cursor.head_bucket || cursor.count == 0 {
                cursor.head_bucket = bucket_no;
                cursor.count = 1;
                cursor.min = v;
                cursor.max = v;
                b[0].store(bucket_no as u32, Ordering::Relaxed);
                meta.head_bucket.store(bucket_no, Ordering::Relaxed);
            } else {
                cursor.count = cursor.count.saturating_add(1);
                for ((min, max), x) in cursor.min.iter_mut().zip(&mut cursor.max).zip(v) {
                    *min = min.min(x);
                    *max = max.max(x);
                }
            }
            b[1].store(cursor.count, Ordering::Relaxed);
            for k in 0..3 {
                b[2 + 3 * k].store(v[k].to_bits(), Ordering::Relaxed);
                b[3 + 3 * k].store(cursor.min[k].to_bits(), Ordering::Relaxed);
                b[4 + 3 * k].store(cursor.max[k].to_bits(), Ordering::Relaxed);
            }
        }

        let n = cursor.raw_written;
        let slot = (n % cfg.raw_points as u64) as usize;
        let base = (w * cfg.raw_points + slot) * RAW_WORDS;
        let r = &self.raw[base..base + RAW_WORDS];
        r[0].store(ts_ns as u64, Ordering::Relaxed);
        r[1].store(
            u64::from(v[0].to_bits()) << 32 | u64::from(v[1].to_bits()),
            Ordering::Relaxed,
        );
        r[2].store(u64::from(v[2].to_bits()), Ordering::Relaxed);
        cursor.raw_written = n + 1;
        meta.raw_written.store(n + 1, Ordering::Relaxed);

        // Publishes the data stores above with the even sequence (seqlock writer side;
        // `PUBLISH` is Release, weakened only in the loom mutant build).
        meta.seq.store(seq.wrapping_add(2), crate::sync::PUBLISH);
    }

    /// Copies window `w` into `out`, retrying while the writer is inside it.
    ///
    /// # Errors
    /// [`WindowReadError::Busy`] after 1000 torn attempts; [`WindowReadError::OutOfRange`].
    pub fn read(&self, w: usize, out: &mut WindowSnapshot) -> Result<(), WindowReadError> {
        let meta = self.meta.get(w).ok_or(WindowReadError::OutOfRange)?;
        for _ in 0..crate::sync::READ_RETRIES {
            // Acquire pairs with the writer's final Release store: data before it is visible.
            let s1 = meta.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                spin_loop();
                continue;
            }
            self.copy_window(w, meta, out);
            // Orders the relaxed data loads above before the re-check (seqlock reader side).
            fence(Ordering::Acquire);
            if meta.seq.load(Ordering::Relaxed) == s1 {
                return Ok(());
            }
        }
        Err(WindowReadError::Busy)
    }

    fn copy_window(&self, w: usize, meta: &Meta, out: &mut WindowSnapshot) {
        let cfg = &self.config;
        out.buckets.clear();
        out.raw.clear();
        let head = meta.head_bucket.load(Ordering::Relaxed);
        if head != i64::MIN {
            let first = head - cfg.buckets as i64 + 1;
            for bucket_no in first..=head {
                let slot = bucket_no.rem_euclid(cfg.buckets as i64) as usize;
                let base = (w * cfg.buckets + slot) * BUCKET_WORDS;
                let b = &self.buckets[base..base + BUCKET_WORDS];
                let count = b[1].load(Ordering::Relaxed);
                if count == 0 || b[0].load(Ordering::Relaxed) != bucket_no as u32 {
                    continue;
                }
                let stat = |k: usize| Stat {
                    last: f32::from_bits(b[2 + 3 * k].load(Ordering::Relaxed)),
                    min: f32::from_bits(b[3 + 3 * k].load(Ordering::Relaxed)),
                    max: f32::from_bits(b[4 + 3 * k].load(Ordering::Relaxed)),
                };
                out.buckets.push(Bucket {
                    start_ns: bucket_no.saturating_mul(cfg.bucket_ns),
                    count,
                    dev: stat(0),
                    exec_ab: stat(1),
                    exec_ba: stat(2),
                });
            }
        }
        let n = meta.raw_written.load(Ordering::Relaxed);
        let kept = n.min(cfg.raw_points as u64);
        for i in n - kept..n {
            let slot = (i % cfg.raw_points as u64) as usize;
            let base = (w * cfg.raw_points + slot) * RAW_WORDS;
            let r = &self.raw[base..base + RAW_WORDS];
            let packed = r[1].load(Ordering::Relaxed);
            out.raw.push(RawPoint {
                ts_ns: r[0].load(Ordering::Relaxed) as i64,
                dev: f32::from_bits((packed >> 32) as u32),
                exec_ab: f32::from_bits(packed as u32),
                exec_ba: f32::from_bits(r[2].load(Ordering::Relaxed) as u32),
            });
        }
    }
}

/// Rolling percentile bands as the legacy charts drew them: for each point, the `upper_q`
/// and `lower_q` quantiles (e.g. 0.97 / 0.03) of the trailing `trailing` values (200),
/// nearest rank (`index = ceil(n * q) - 1` of the sorted finite values), non-finite values
/// ignored. Points with no finite value in their span get `NaN` bands.
///
/// Cold path (chart requests); `scratch` is reused between calls.
pub fn percentile_bands(
    values: &[f64],
    trailing: usize,
    upper_q: f64,
    lower_q: f64,
    scratch: &mut Vec<f64>,
    out: &mut Vec<(f64, f64)>,
) {
    out.clear();
    for i in 0..values.len() {
        let start = (i + 1).saturating_sub(trailing.max(1));
        scratch.clear();
        scratch.extend(values[start..=i].iter().copied().filter(|v| v.is_finite()));
        if scratch.is_empty() {
            out.push((f64::NAN, f64::NAN));
            continue;
        }
        scratch.sort_unstable_by(f64::total_cmp);
        out.push((
            nearest_rank(scratch, upper_q),
            nearest_rank(scratch, lower_q),
        ));
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

    const SEC: i64 = 1_000_000_000;

    fn small() -> WindowStore {
        WindowStore::new(
            2,
            WindowConfig {
                buckets: 4,
                bucket_ns: SEC,
                raw_points: 3,
            },
        )
    }

    #[test]
    fn bucket_keeps_last_min_max_count() {
        let s = small();
        s.record(0, 10 * SEC, 1.0, 2.0, 3.0);
        s.record(0, 10 * SEC + 5, -1.0, 5.0, 0.5);
        s.record(0, 10 * SEC + 9, 0.5, 4.0, 1.0);
        let mut snap = WindowSnapshot::default();
        s.read(0, &mut snap).unwrap();
        assert_eq!(snap.buckets.len(), 1);
        let b = snap.buckets[0];
        assert_eq!(b.start_ns, 10 * SEC);
        assert_eq!(b.count, 3);
        assert_eq!(
            b.dev,
            Stat {
                last: 0.5,
                min: -1.0,
                max: 1.0
            }
        );
        assert_eq!(
            b.exec_ab,
            Stat {
                last: 4.0,
                min: 2.0,
                max: 5.0
            }
        );
        assert_eq!(
            b.exec_ba,
            Stat {
                last: 1.0,
                min: 0.5,
                max: 3.0
            }
        );
        assert_eq!(snap.raw.len(), 3);
        s.read(1, &mut snap).unwrap();
        assert!(snap.buckets.is_empty() && snap.raw.is_empty());
    }

    #[test]
    fn window_wraps_after_capacity() {
        let s = small();
        for t in 0..10 {
            s.record(0, t * SEC, t as f64, 0.0, 0.0);
        }
        let mut snap = WindowSnapshot::default();
        s.read(0, &mut snap).unwrap();
        let starts: Vec<i64> = snap.buckets.iter().map(|b| b.start_ns / SEC).collect();
        assert_eq!(starts, [6, 7, 8, 9]);
        let raw: Vec<f32> = snap.raw.iter().map(|p| p.dev).collect();
        assert_eq!(raw, [7.0, 8.0, 9.0]);
        // A point older than the span goes to the raw ring only.
        s.record(0, 2 * SEC, 42.0, 0.0, 0.0);
        s.read(0, &mut snap).unwrap();
        assert_eq!(snap.buckets.len(), 4);
        assert!(snap.buckets.iter().all(|b| b.dev.last != 42.0));
        assert_eq!(snap.raw.last().unwrap().dev, 42.0);
    }

    #[test]
    fn gaps_leave_no_stale_buckets() {
        let s = small();
        s.record(0, SEC, 1.0, 0.0, 0.0);
        s.record(0, 2 * SEC, 2.0, 0.0, 0.0);
        s.record(0, 7 * SEC, 7.0, 0.0, 0.0); // slot of 3 s reused; 1 s and 2 s out of span
        let mut snap = WindowSnapshot::default();
        s.read(0, &mut snap).unwrap();
        assert_eq!(snap.buckets.len(), 1);
        assert_eq!(snap.buckets[0].start_ns, 7 * SEC);
    }

    #[test]
    fn bands_use_nearest_rank_and_skip_non_finite() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let (mut scratch, mut out) = (Vec::new(), Vec::new());
        percentile_bands(&v, 200, 0.97, 0.03, &mut scratch, &mut out);
        assert_eq!(out[99], (97.0, 3.0));
        assert_eq!(out[0], (1.0, 1.0));
        let v = [f64::NAN, 1.0, f64::INFINITY, 3.0];
        percentile_bands(&v, 2, 0.97, 0.03, &mut scratch, &mut out);
        assert!(out[0].0.is_nan());
        assert_eq!(out[1], (1.0, 1.0));
        assert_eq!(out[2], (1.0, 1.0));
        assert_eq!(out[3], (3.0, 3.0));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0], 0.5), 2.0);
    }

    #[test]
    fn reserved_bytes_formula_matches_shape() {
        let c = WindowConfig::default();
        assert_eq!(WindowStore::bytes_for(1, &c), 3600 * 44 + 5000 * 24 + 64);
    }
}

#[cfg(test)]
mod property_tests {
    use std::collections::VecDeque;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The raw ring always equals the last `raw_points` of what was written, in arrival
        /// order (VecDeque model); each bucket holds exactly the points that reached it
        /// while it was the head or later (a late point, older than the head bucket, enters
        /// the raw ring only), with last / min / max of all three series.
        #[test]
        fn prop_window_matches_model(
            steps in proptest::collection::vec((-25i64..30, -5.0f64..5.0), 1..200),
            raw_points in 1usize..20,
            buckets in 1usize..8,
        ) {
            let s = WindowStore::new(1, WindowConfig { buckets, bucket_ns: 10, raw_points });
            let vals = |v: f64| [v as f32, (v * 2.0 + 1.0) as f32, (-v) as f32];
            let mut model: VecDeque<(i64, [f32; 3])> = VecDeque::new();
            let mut accepted: Vec<(i64, [f32; 3])> = Vec::new();
            let mut head = i64::MIN;
            let mut ts = 1000;
            for (dt, v) in steps {
                ts += dt;
                s.record(0, ts, v, v * 2.0 + 1.0, -v);
                model.push_back((ts, vals(v)));
                if model.len() > raw_points { model.pop_front(); }
                let no = ts.div_euclid(10);
                if no >= head {
                    head = no;
                    accepted.push((no, vals(v)));
                }
            }
            let mut snap = WindowSnapshot::default();
            s.read(0, &mut snap).unwrap();
            let raw: Vec<(i64, [f32; 3])> =
                snap.raw.iter().map(|p| (p.ts_ns, [p.dev, p.exec_ab, p.exec_ba])).collect();
            prop_assert_eq!(raw, model.into_iter().collect::<Vec<_>>());
            let want_buckets: Vec<i64> = (head - buckets as i64 + 1..=head)
                .filter(|no| accepted.iter().any(|(b, _)| b == no))
                .collect();
            let got_buckets: Vec<i64> = snap.buckets.iter().map(|b| b.start_ns / 10).collect();
            prop_assert_eq!(got_buckets, want_buckets);
            for b in &snap.buckets {
                let no = b.start_ns / 10;
                let inside: Vec<[f32; 3]> =
                    accepted.iter().filter(|(n, _)| *n == no).map(|(_, v)| *v).collect();
                prop_assert_eq!(b.count as usize, inside.len());
                for (k, stat) in [b.dev, b.exec_ab, b.exec_ba].into_iter().enumerate() {
                    prop_assert_eq!(stat.last, inside.last().unwrap()[k]);
                    prop_assert_eq!(stat.min, inside.iter().map(|v| v[k]).fold(f32::INFINITY, f32::min));
                    prop_assert_eq!(stat.max, inside.iter().map(|v| v[k]).fold(f32::NEG_INFINITY, f32::max));
                }
            }
        }
    }
}
