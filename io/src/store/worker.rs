//! The store thread's loop body: drains its own ring from the core, derives and samples
//! pair spreads, buffers rows per (kind, hour) and writes a file when a buffer reaches
//! its row limit, its age limit or its hour has passed, counting every row written or
//! lost.
//!
//! A buffer holds at most `max_file_age` of wall time or `max_file_rows` rows: that is the
//! most a `kill -9` can lose. A write that fails (disk full, read-only mount) drops that
//! buffer's rows, counted per kind and logged; the thread keeps going and the next file
//! tries again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arb_engine::clock;
use arb_engine::live_pairs::LivePairs;
use arb_engine::pair::PAIRS;
use arb_engine::ring::{Consumer, Envelope};
use arb_engine::spread::{CoreOut, SpreadUpdate};
use arb_engine::{CoreConfig, SymbolRegistry};

use super::file::{FileConfig, Recovery, StoreError, StoreFiles};
use super::rows::{GapRows, Names, QuoteRows, Rows, SignalRows, SpreadRows, TradeRows};
use super::schema::{Kind, hour_of};

/// Outputs taken per batch.
const BATCH: usize = 1024;
/// Hours a kind may have open at once (late rows of the previous hour, the current one).
const OPEN_HOURS: usize = 3;
/// An hour's buffer closes once data this far into the next hour has arrived.
const HOUR_GRACE_NS: i64 = 5_000_000_000;

/// Store settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Root directory (datasets below it).
    pub root: std::path::PathBuf,
    /// Sample interval of the spreads dataset, ms: the last value per pair per interval.
    /// `0` writes every update.
    pub spread_sample_ms: u64,
    /// A file closes at this many rows.
    pub max_file_rows: usize,
    /// A file closes when its first row has waited this long (wall time), ns: the most
    /// a crash can lose.
    pub max_file_age_ns: i64,
    /// Row groups, compression, syncing.
    pub file: FileConfig,
}

impl StoreConfig {
    /// Defaults under `root`: 1 s spread samples, files of at most 1 M rows or 60 s.
    pub fn new(root: impl Into<std::path::PathBuf>) -> Self {
        StoreConfig {
            root: root.into(),
            spread_sample_ms: 1_000,
            max_file_rows: 1_000_000,
            max_file_age_ns: 60_000_000_000,
            file: FileConfig::default(),
        }
    }
}

/// Per-kind counters, indexed by [`Kind::index`].
#[derive(Debug, Default)]
pub struct PerKind(pub [AtomicU64; 5]);

impl PerKind {
    /// Reads one kind.
    pub fn get(&self, k: Kind) -> u64 {
        // Relaxed: statistics.
        self.0[k.index()].load(Ordering::Relaxed)
    }

    fn add(&self, k: Kind, n: u64) {
        self.0[k.index()].fetch_add(n, Ordering::Relaxed);
    }
}

/// What the store did, readable from any thread.
#[derive(Debug, Default)]
pub struct StoreStats {
    /// Rows in published files.
    pub rows_written: PerKind,
    /// Rows lost because their file could not be written.
    pub rows_dropped_write: PerKind,
    /// Files published.
    pub files: AtomicU64,
    /// Bytes published.
    pub bytes: AtomicU64,
    /// Failed file writes.
    pub write_errors: AtomicU64,
    /// Rows waiting in buffers now.
    pub rows_buffered: AtomicU64,
}

#[derive(Debug)]
struct Open<R> {
    hour: i64,
    opened_mono_ns: i64,
    rows: R,
}

/// One kind's open buffers (one per hour with rows), and emptied ones kept for reuse.
#[derive(Debug)]
struct Buffers<R> {
    open: Vec<Open<R>>,
    spare: Vec<R>,
}

impl<R: Rows> Default for Buffers<R> {
    fn default() -> Self {
        Buffers {
            open: Vec::with_capacity(OPEN_HOURS),
            spare: Vec::new(),
        }
    }
}

/// Where a buffer's rows go when it closes.
struct Sink<'a> {
    files: &'a mut StoreFiles,
    names: &'a Names,
    stats: &'a StoreStats,
    max_rows: usize,
}

impl Sink<'_> {
    fn write<R: Rows>(&mut self, open: &Open<R>) {
        let n = open.rows.len() as u64;
        if n == 0 {
            return;
        }
        match self.files.write(&open.rows, open.hour, self.names) {
            Ok(w) => {
                self.stats.rows_written.add(R::KIND, w.rows);
                self.stats.files.fetch_add(1, Ordering::Relaxed);
                self.stats.bytes.fetch_add(w.bytes, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats.rows_dropped_write.add(R::KIND, n);
                self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
                tracing::error!("store: {e}; {n} {} rows lost", R::KIND);
            }
        }
    }
}

impl<R: Rows> Buffers<R> {
    /// The buffer for `hour`, opening one (and closing the oldest when too many are open,
    /// or `hour`'s when it is full).
    #[inline]
    fn rows(&mut self, hour: i64, now_mono_ns: i64, sink: &mut Sink<'_>) -> &mut R {
        let mut found = self.open.iter().rposition(|o| o.hour == hour);
        if let Some(i) = found
            && self.open[i].rows.len() >= sink.max_rows
        {
            let full = self.open.remove(i);
            self.close(full, sink);
            found = None;
        }
        let i = match found {
            Some(i) => i,
            None => {
                if self.open.len() >= OPEN_HOURS {
                    let oldest = self.open.remove(0);
                    self.close(oldest, sink);
                }
                let rows = self.spare.pop().unwrap_or_default();
                self.open.push(Open {
                    hour,
                    opened_mono_ns: now_mono_ns,
                    rows,
                });
                self.open.len() - 1
            }
        };
        &mut self.open[i].rows
    }

    fn close(&mut self, mut o: Open<R>, sink: &mut Sink<'_>) {
        sink.write(&o);
        o.rows.clear();
        self.spare.push(o.rows);
    }

    /// Closes every buffer that is full, too old, or whose hour has passed.
    fn roll(
        &mut self,
        config: &StoreConfig,
        now_mono_ns: i64,
        newest_ts_ns: i64,
        sink: &mut Sink<'_>,
    ) {
        let newest_hour = hour_of(newest_ts_ns.saturating_sub(HOUR_GRACE_NS));
        let mut i = 0;
        while i < self.open.len() {
            let o = &self.open[i];
            if o.rows.len() >= config.max_file_rows
                || now_mono_ns.saturating_sub(o.opened_mono_ns) >= config.max_file_age_ns
                || o.hour < newest_hour
            {
                let o = self.open.remove(i);
                self.close(o, sink);
            } else {
                i += 1;
            }
        }
    }

    fn close_all(&mut self, sink: &mut Sink<'_>) {
        for o in std::mem::take(&mut self.open) {
            self.close(o, sink);
        }
    }

    fn buffered(&self) -> usize {
        self.open.iter().map(|o| o.rows.len()).sum()
    }
}

/// Keeps the last spread update per (symbol, pair) per sample interval.
#[derive(Debug)]
struct Sampler {
    interval_ns: i64,
    /// `[symbol * PAIRS + pair]`: the update waiting to be written and its interval.
    slots: Box<[Option<(i64, SpreadUpdate)>]>,
    /// Slots holding an update, so a sweep does not walk every slot.
    held: Vec<u32>,
}

impl Sampler {
    fn new(symbols: usize, sample_ms: u64) -> Self {
        let interval_ns = i64::try_from(sample_ms)
            .unwrap_or(i64::MAX / 1_000_000)
            .saturating_mul(1_000_000);
        let slots = if interval_ns > 0 { symbols * PAIRS } else { 0 };
        Sampler {
            interval_ns,
            slots: vec![None; slots].into_boxed_slice(),
            held: Vec::new(),
        }
    }

    #[inline]
    fn offer(&mut self, p: &SpreadUpdate, out: &mut SpreadRows) {
        if self.interval_ns == 0 {
            out.push(p);
            return;
        }
        let slot = p.symbol.index() * PAIRS + p.pair.index();
        let Some(s) = self.slots.get_mut(slot) else {
            return;
        };
        let idx = p.ts_ns.div_euclid(self.interval_ns);
        match s {
            Some((held_idx, held)) if *held_idx != idx => {
                out.push(held);
                *s = Some((idx, *p));
            }
            Some(_) => *s = Some((idx, *p)),
            None => {
                *s = Some((idx, *p));
                self.held.push(slot as u32);
            }
        }
    }

    /// Writes every held update whose interval ended before `newest_ts_ns`'s (or all).
    fn sweep(&mut self, newest_ts_ns: Option<i64>, out: &mut impl FnMut(&SpreadUpdate)) {
        let current = newest_ts_ns.map(|t| t.div_euclid(self.interval_ns.max(1)));
        let slots = &mut self.slots;
        self.held.retain(|&slot| {
            let s = &mut slots[slot as usize];
            match (*s, current) {
                (Some((idx, p)), Some(cur)) if idx < cur => {
                    out(&p);
                    *s = None;
                    false
                }
                (Some((_, p)), None) => {
                    out(&p);
                    *s = None;
                    false
                }
                (Some(_), _) => true,
                (None, _) => false,
            }
        });
    }
}

/// The store thread's state.
#[derive(Debug)]
pub struct StoreWorker {
    input: Consumer<Envelope<CoreOut>>,
    config: StoreConfig,
    files: StoreFiles,
    names: Names,
    pairs: LivePairs,
    sampler: Sampler,
    quotes: Buffers<QuoteRows>,
    trades: Buffers<TradeRows>,
    spreads: Buffers<SpreadRows>,
    signals: Buffers<SignalRows>,
    gaps: Buffers<GapRows>,
    stats: Arc<StoreStats>,
    /// Newest receive time seen (data clock: hour changes, spread samples).
    newest_ts_ns: i64,
    next_sweep_mono_ns: i64,
}

impl StoreWorker {
    /// Opens the store under `config.root` (lock, start-up scan) for the symbols of
    /// `registry`, deriving pair spreads with the core's staleness rule.
    ///
    /// # Errors
    /// The root cannot be created or written, or another process holds it.
    pub fn open(
        config: StoreConfig,
        registry: &SymbolRegistry,
        core: &CoreConfig,
        input: Consumer<Envelope<CoreOut>>,
    ) -> Result<(Self, Recovery), StoreError> {
        let (files, recovery) =
            StoreFiles::open(&config.root, config.file.clone(), clock::wall_ns())?;
        let names = Names::new(registry);
        let symbols = names.symbols();
        Ok((
            StoreWorker {
                input,
                files,
                names,
                pairs: LivePairs::new(symbols, core.stale_after_ns),
                sampler: Sampler::new(symbols, config.spread_sample_ms),
                quotes: Buffers::default(),
                trades: Buffers::default(),
                spreads: Buffers::default(),
                signals: Buffers::default(),
                gaps: Buffers::default(),
                stats: Arc::default(),
                newest_ts_ns: i64::MIN,
                next_sweep_mono_ns: 0,
                config,
            },
            recovery,
        ))
    }

    /// The counters.
    pub fn stats(&self) -> Arc<StoreStats> {
        Arc::clone(&self.stats)
    }

    /// Returns `true` if the ring holds outputs.
    pub fn has_input(&self) -> bool {
        !self.input.is_empty()
    }

    /// Returns `true` once the core hung up and the ring is drained.
    pub fn input_closed(&self) -> bool {
        self.input.is_abandoned() && self.input.is_empty()
    }

    /// Takes up to one batch into the buffers (writing the files that fill up); returns
    /// how many outputs it took.
    pub fn pump(&mut self) -> usize {
        let n = self.input.slots().min(BATCH);
        if n == 0 {
            return 0;
        }
        let now = clock::mono_ns();
        let mut sink = Sink {
            files: &mut self.files,
            names: &self.names,
            stats: &self.stats,
            max_rows: self.config.max_file_rows,
        };
        for _ in 0..n {
            let Ok(env) = self.input.pop() else { break };
            let o = env.item;
            match &o {
                CoreOut::Quote(u) => {
                    let ts = u.quote.recv_ts_ns;
                    self.newest_ts_ns = self.newest_ts_ns.max(ts);
                    self.quotes.rows(hour_of(ts), now, &mut sink).push(&u.quote);
                    let (sampler, spreads, sink) =
                        (&mut self.sampler, &mut self.spreads, &mut sink);
                    self.pairs.apply(&o, |p| {
                        sampler.offer(p, spreads.rows(hour_of(p.ts_ns), now, sink));
                    });
                }
                CoreOut::Trade(t) => {
                    self.newest_ts_ns = self.newest_ts_ns.max(t.recv_ts_ns);
                    self.trades
                        .rows(hour_of(t.recv_ts_ns), now, &mut sink)
                        .push(t);
                }
                CoreOut::Signal(s) => self.signals.rows(hour_of(s.ts_ns), now, &mut sink).push(s),
                CoreOut::Gap(g) => self.gaps.rows(hour_of(g.start_ns), now, &mut sink).push(g),
                CoreOut::Venue(_) => self.pairs.apply(&o, |_| {}),
            }
        }
        n
    }

    /// Writes the files that are due (age, hour, size) and the spread samples whose
    /// interval has ended; call every few milliseconds, also when idle.
    pub fn maybe_roll(&mut self) {
        let now = clock::mono_ns();
        if now >= self.next_sweep_mono_ns {
            self.next_sweep_mono_ns = now + 200_000_000;
            self.sweep_samples(Some(self.newest_ts_ns), now);
            self.roll_now(now);
        }
        self.stats
            .rows_buffered
            .store(self.buffered() as u64, Ordering::Relaxed);
    }

    fn sweep_samples(&mut self, newest: Option<i64>, now: i64) {
        let mut sink = Sink {
            files: &mut self.files,
            names: &self.names,
            stats: &self.stats,
            max_rows: self.config.max_file_rows,
        };
        let spreads = &mut self.spreads;
        self.sampler.sweep(newest, &mut |p| {
            spreads.rows(hour_of(p.ts_ns), now, &mut sink).push(p);
        });
    }

    fn roll_now(&mut self, now: i64) {
        let mut sink = Sink {
            files: &mut self.files,
            names: &self.names,
            stats: &self.stats,
            max_rows: self.config.max_file_rows,
        };
        let (c, t) = (&self.config, self.newest_ts_ns);
        self.quotes.roll(c, now, t, &mut sink);
        self.trades.roll(c, now, t, &mut sink);
        self.spreads.roll(c, now, t, &mut sink);
        self.signals.roll(c, now, t, &mut sink);
        self.gaps.roll(c, now, t, &mut sink);
    }

    fn buffered(&self) -> usize {
        self.quotes.buffered()
            + self.trades.buffered()
            + self.spreads.buffered()
            + self.signals.buffered()
            + self.gaps.buffered()
    }

    /// Writes every buffered row and held spread sample (shutdown: SIGTERM, end of a
    /// replay) and returns the counters.
    pub fn finish(mut self) -> Arc<StoreStats> {
        let now = clock::mono_ns();
        self.sweep_samples(None, now);
        let mut sink = Sink {
            files: &mut self.files,
            names: &self.names,
            stats: &self.stats,
            max_rows: self.config.max_file_rows,
        };
        self.quotes.close_all(&mut sink);
        self.trades.close_all(&mut sink);
        self.spreads.close_all(&mut sink);
        self.signals.close_all(&mut sink);
        self.gaps.close_all(&mut sink);
        self.stats.rows_buffered.store(0, Ordering::Relaxed);
        self.stats
    }
}
