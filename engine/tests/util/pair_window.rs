//! The reference model of the derived pair series: the per-pair windows as they landed with
//! the engine (issue 3), kept for the tests only. The product keeps per-venue history
//! (`arb_engine::history`) and derives pair series on read (`arb_engine::pairs`); the
//! property test in `tests/history.rs` checks the two agree.
//!
//! Original description: preallocated per-pair circular windows: 1-second (configurable) buckets of last / min /
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

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::hint::spin_loop;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering, fence};

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
        let meta = huge_vec(windows, || Meta {
            seq: AtomicU64::new(0),
            head_bucket: AtomicI64::new(i64::MIN),
            raw_written: AtomicU64::new(0),
        });
        let buckets = huge_vec(windows * config.buckets * BUCKET_WORDS, || {
            AtomicU32::new(0)
        });
        let raw = huge_vec(windows * config.raw_points * RAW_WORDS, || {
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
        meta.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// Copies window `w` into `out`, retrying while the writer is inside it.
    ///
    /// # Errors
    /// [`WindowReadError::Busy`] after 1000 torn attempts; [`WindowReadError::OutOfRange`].
    pub fn read(&self, w: usize, out: &mut WindowSnapshot) -> Result<(), WindowReadError> {
        let meta = self.meta.get(w).ok_or(WindowReadError::OutOfRange)?;
        for _ in 0..1000 {
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

fn huge_vec<T>(n: usize, make: impl FnMut() -> T) -> Box<[T]> {
    let mut v = Vec::with_capacity(n);
    v.resize_with(n, make);
    v.into_boxed_slice()
}
