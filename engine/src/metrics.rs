//! Latency histograms per pipeline stage, recorded on the hot threads without locks and
//! handed to a cold collector over SPSC rings; plus the stage catalogue.
//!
//! Each hot thread owns a [`StageRecorder`]: it records into its current [`HotCounts`]
//! and, once per interval, swaps it for an empty one from a recycle ring and pushes the
//! full one to the collector, which turns it into [`StageHistograms`] (HdrHistogram) off
//! the hot thread. All sets are created up front, so recording and swapping allocate
//! nothing. If the collector falls behind, the thread keeps recording into the set it has
//! (intervals merge; nothing is lost or allocated).
//!
//! NB: the hot threads count into plain arrays laid out exactly like an HdrHistogram of
//! 3 significant digits from 1 ns (same bucket for every value), rather than calling
//! `Histogram::record`: that costs ~65 instructions a value (bounds, resize check, total,
//! min and max) against ~10 here, on every frame and every event
//! (`benches/instructions.sh`). The collector records each bucket's lowest value with its
//! count, which lands in the same HdrHistogram bucket, so percentiles, min, max and mean
//! are the same as if the values had been recorded directly (tested below).

use hdrhistogram::Histogram;

use crate::event::Exchange;
use crate::ring::{Consumer, Producer, RingBuffer};

/// A latency stage. Values are nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Exchange timestamp → local receive, per venue (only venues that stamp messages).
    ExchToRecv(Exchange),
    /// Frame received (handed to the decoder) → events decoded.
    RecvToDecoded,
    /// Events decoded (pushed to the core ring) → spread update done in the core.
    DecodedToCoreDone,
    /// Core done (pushed to an I/O ring) → taken by the sink.
    CoreToSink,
}

/// Number of stages (8 venue stages + 3).
pub const STAGES: usize = Exchange::COUNT + 3;

impl Stage {
    /// All stages in index order.
    pub fn all() -> impl Iterator<Item = Stage> {
        (0..STAGES).filter_map(Stage::from_index)
    }

    /// Dense index `0 .. STAGES`.
    #[inline]
    pub const fn index(self) -> usize {
        match self {
            Stage::ExchToRecv(e) => e as usize,
            Stage::RecvToDecoded => Exchange::COUNT,
            Stage::DecodedToCoreDone => Exchange::COUNT + 1,
            Stage::CoreToSink => Exchange::COUNT + 2,
        }
    }

    /// Stage for an index.
    pub const fn from_index(i: usize) -> Option<Stage> {
        if i < Exchange::COUNT {
            match Exchange::from_u8(i as u8) {
                Some(e) => Some(Stage::ExchToRecv(e)),
                None => None,
            }
        } else if i == Exchange::COUNT {
            Some(Stage::RecvToDecoded)
        } else if i == Exchange::COUNT + 1 {
            Some(Stage::DecodedToCoreDone)
        } else if i == Exchange::COUNT + 2 {
            Some(Stage::CoreToSink)
        } else {
            None
        }
    }

    /// Stable name, used as the hlog tag and report key (`exch_recv.binance`,
    /// `recv_decoded`, `decoded_core`, `core_sink`).
    pub const fn name(self) -> &'static str {
        match self {
            Stage::ExchToRecv(e) => match e {
                Exchange::Binance => "exch_recv.binance",
                Exchange::Bybit => "exch_recv.bybit",
                Exchange::Mexc => "exch_recv.mexc",
                Exchange::Gateio => "exch_recv.gateio",
                Exchange::Kucoin => "exch_recv.kucoin",
                Exchange::Okx => "exch_recv.okx",
                Exchange::Bitget => "exch_recv.bitget",
                Exchange::Bingx => "exch_recv.bingx",
            },
            Stage::RecvToDecoded => "recv_decoded",
            Stage::DecodedToCoreDone => "decoded_core",
            Stage::CoreToSink => "core_sink",
        }
    }

    /// Stage for a name.
    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::all().find(|s| s.name() == name)
    }
}

/// Highest latency recorded exactly (60 s); larger values saturate.
pub const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// One histogram per stage.
#[derive(Debug, Clone)]
pub struct StageHistograms {
    hists: Vec<Histogram<u64>>,
    /// Start of the interval, wall ns.
    pub start_wall_ns: i64,
}

impl StageHistograms {
    /// Creates empty histograms: 1 ns .. 60 s, 3 significant digits.
    pub fn new() -> Self {
        let hists = (0..STAGES)
            .map(|_| {
                Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3)
                    .expect("Invariant: constant bounds are valid")
            })
            .collect();
        StageHistograms {
            hists,
            start_wall_ns: 0,
        }
    }

    /// Records one value.
    ///
    /// # Hot path
    /// Allocates never; syscalls none; may block no.
    #[inline]
    pub fn record(&mut self, stage: Stage, ns: i64) {
        self.hists[stage.index()].saturating_record(ns.max(0) as u64);
    }

    /// Returns a stage's histogram.
    pub fn get(&self, stage: Stage) -> &Histogram<u64> {
        &self.hists[stage.index()]
    }

    /// Adds every stage of `other` into `self`.
    pub fn add(&mut self, other: &StageHistograms) {
        for (a, b) in self.hists.iter_mut().zip(&other.hists) {
            // Same bounds on both sides, so `add` cannot fail; saturate rather than panic.
            let _ = a.add(b);
        }
    }

    /// Clears every stage.
    pub fn reset(&mut self) {
        for h in &mut self.hists {
            h.reset();
        }
    }

    /// Returns `true` when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.hists.iter().all(|h| h.is_empty())
    }
}

impl Default for StageHistograms {
    fn default() -> Self {
        Self::new()
    }
}

/// Sub-buckets per power of two past the linear range (HdrHistogram's half count for 3
/// significant digits).
const SUB_BITS: u32 = 10;
/// Counters per stage: the linear range 0..2048 then 1024 per power of two up to 2^36 ns,
/// the first power of two past [`MAX_LATENCY_NS`]: the same 27 648 as HdrHistogram's.
pub const HOT_SLOTS: usize = ((36 - SUB_BITS as usize) + 1) << SUB_BITS;

/// Bytes of one [`HotCounts`] set.
pub const HOT_SET_BYTES: usize = STAGES * HOT_SLOTS * std::mem::size_of::<u32>();

/// The bucket of a value, as HdrHistogram (3 digits, lowest 1) indexes its counts.
#[inline]
const fn slot(v: u64) -> usize {
    let top = 63 - (v | ((1 << (SUB_BITS + 1)) - 1)).leading_zeros();
    let shift = top - SUB_BITS;
    ((shift as usize) << SUB_BITS) + (v >> shift) as usize
}

/// The lowest value of a bucket.
const fn slot_value(slot: usize) -> u64 {
    let shift = (slot >> SUB_BITS).saturating_sub(1);
    ((slot - (shift << SUB_BITS)) as u64) << shift
}

/// One interval's latency counts per stage, as a hot thread records them: plain
/// counters, turned into [`StageHistograms`] by the collector.
#[derive(Debug, Clone)]
pub struct HotCounts {
    /// `[stage * HOT_SLOTS + slot]`; saturating.
    counts: Box<[u32]>,
    /// Values recorded since the last reset.
    recorded: u64,
    /// Start of the interval, wall ns.
    pub start_wall_ns: i64,
}

impl HotCounts {
    /// Creates empty counts.
    pub fn new() -> Self {
        HotCounts {
            counts: vec![0; STAGES * HOT_SLOTS].into_boxed_slice(),
            recorded: 0,
            start_wall_ns: 0,
        }
    }

    /// Records one value: negative as 0, and past the last bucket (2^36 ns, ~69 s) as
    /// [`MAX_LATENCY_NS`], as HdrHistogram's `saturating_record` does.
    ///
    /// # Hot path
    /// Allocates never; syscalls none; may block no.
    #[inline]
    pub fn record(&mut self, stage: Stage, ns: i64) {
        let v = ns.max(0) as u64;
        let v = if v >> 36 == 0 { v } else { MAX_LATENCY_NS };
        let i = stage.index() * HOT_SLOTS + slot(v);
        if let Some(c) = self.counts.get_mut(i) {
            *c = c.saturating_add(1);
        }
        self.recorded += 1;
    }

    /// Returns `true` when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.recorded == 0
    }

    /// Adds every count into `out` (after resetting it) and clears `self`.
    pub fn drain_into(&mut self, out: &mut StageHistograms) {
        out.reset();
        out.start_wall_ns = self.start_wall_ns;
        if self.recorded != 0 {
            for (stage, counts) in self.counts.chunks_exact_mut(HOT_SLOTS).enumerate() {
                let h = &mut out.hists[stage];
                for (slot, c) in counts.iter_mut().enumerate() {
                    if *c != 0 {
                        h.saturating_record_n(slot_value(slot), u64::from(*c));
                        *c = 0;
                    }
                }
            }
        }
        self.recorded = 0;
    }
}

impl Default for HotCounts {
    fn default() -> Self {
        Self::new()
    }
}

/// The hot-thread side: records and periodically hands its counts to the collector.
#[derive(Debug)]
pub struct StageRecorder {
    current: Box<HotCounts>,
    to_collector: Producer<Box<HotCounts>>,
    recycled: Consumer<Box<HotCounts>>,
    interval_ns: i64,
    next_flush_mono_ns: i64,
}

/// The collector side of one recorder.
#[derive(Debug)]
pub struct StageCollector {
    from_recorder: Consumer<Box<HotCounts>>,
    recycle: Producer<Box<HotCounts>>,
    /// Where each interval is turned into histograms.
    scratch: StageHistograms,
}

/// Creates a recorder/collector pair with `spare` preallocated count sets in flight.
pub fn stage_channel(interval_ns: i64, spare: usize) -> (StageRecorder, StageCollector) {
    let (to_collector, from_recorder) = RingBuffer::new(spare + 1);
    let (mut recycle, recycled) = RingBuffer::new(spare + 1);
    for _ in 0..spare {
        let _ = recycle.push(Box::new(HotCounts::new()));
    }
    (
        StageRecorder {
            current: Box::new(HotCounts::new()),
            to_collector,
            recycled,
            interval_ns,
            next_flush_mono_ns: 0,
        },
        StageCollector {
            from_recorder,
            recycle,
            scratch: StageHistograms::new(),
        },
    )
}

impl StageRecorder {
    /// Records one value.
    ///
    /// # Hot path
    /// Allocates never; syscalls none; may block no.
    #[inline]
    pub fn record(&mut self, stage: Stage, ns: i64) {
        self.current.record(stage, ns);
    }

    /// Hands the current interval to the collector if `interval_ns` has passed since the
    /// last hand-off and an empty set is available. Call with a clock value the thread
    /// already read.
    ///
    /// # Hot path
    /// Allocates never; syscalls none; may block no.
    #[inline]
    pub fn maybe_flush(&mut self, now_mono_ns: i64, now_wall_ns: i64) {
        if now_mono_ns < self.next_flush_mono_ns {
            return;
        }
        self.flush(now_wall_ns);
        self.next_flush_mono_ns = now_mono_ns + self.interval_ns;
    }

    /// Hands the current interval to the collector now (end of run).
    pub fn flush(&mut self, now_wall_ns: i64) {
        if self.current.is_empty() || self.to_collector.is_full() {
            return;
        }
        let Ok(mut fresh) = self.recycled.pop() else {
            return;
        };
        fresh.start_wall_ns = now_wall_ns;
        let full = std::mem::replace(&mut self.current, fresh);
        // Cannot fail: checked not full above, and only this thread pushes.
        let _ = self.to_collector.push(full);
    }
}

impl StageCollector {
    /// Takes every interval the recorder handed over, passing each to `f` as histograms,
    /// then recycles it.
    pub fn drain(&mut self, mut f: impl FnMut(&StageHistograms)) {
        while let Ok(mut counts) = self.from_recorder.pop() {
            counts.drain_into(&mut self.scratch);
            let _ = self.recycle.push(counts);
            f(&self.scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_names_round_trip() {
        for s in Stage::all() {
            assert_eq!(Stage::from_name(s.name()), Some(s));
            assert_eq!(Stage::from_index(s.index()), Some(s));
        }
        assert_eq!(Stage::all().count(), STAGES);
    }

    #[test]
    fn intervals_reach_the_collector_and_come_back() {
        let (mut rec, mut col) = stage_channel(10, 2);
        for round in 0..5 {
            rec.record(Stage::RecvToDecoded, 100 + round);
            rec.maybe_flush(round * 10, 0);
            let mut n = 0;
            col.drain(|h| n += h.get(Stage::RecvToDecoded).len());
            assert_eq!(n, 1, "round {round}");
        }
        rec.record(Stage::CoreToSink, -5);
        rec.flush(0);
        let mut min = u64::MAX;
        col.drain(|h| min = h.get(Stage::CoreToSink).min());
        assert_eq!(min, 0, "negative values clamp to zero");
    }

    #[test]
    fn slots_are_hdrhistogram_buckets() {
        let h = Histogram::<u64>::new_with_bounds(1, MAX_LATENCY_NS, 3).unwrap();
        assert_eq!(slot((1 << 36) - 1), HOT_SLOTS - 1);
        let mut v = 0u64;
        while v < 1 << 36 {
            for x in [v, v + 1, v.saturating_sub(1), v | 1023, v + v / 3] {
                let x = x.min((1 << 36) - 1);
                let low = slot_value(slot(x));
                assert!(low <= x, "{x}: lowest {low}");
                assert_eq!(low, h.lowest_equivalent(x), "{x}");
                assert_eq!(slot(low), slot(x), "{x}");
            }
            v = if v < 4096 { v + 1 } else { v + v / 97 };
        }
    }

    #[test]
    fn counted_values_give_the_histogram_of_the_values() {
        let mut direct = StageHistograms::new();
        let mut hot = HotCounts::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Log-uniform from 1 ns to ~70 s, plus zeros, negatives and over-range values.
            let v = match i % 50 {
                0 => -5,
                1 => 0,
                2 => 90_000_000_000,
                _ => (x >> (28 + x % 28)) as i64,
            };
            let stage = Stage::from_index((x % STAGES as u64) as usize).unwrap();
            direct.record(stage, v);
            hot.record(stage, v);
        }
        let mut via = StageHistograms::new();
        hot.drain_into(&mut via);
        assert!(hot.is_empty());
        for s in Stage::all() {
            let (a, b) = (direct.get(s), via.get(s));
            assert_eq!(a.len(), b.len(), "{s:?}");
            assert_eq!(a.max(), b.max(), "{s:?}");
            assert_eq!(a.min(), b.min(), "{s:?}");
            assert_eq!(a.mean(), b.mean(), "{s:?}");
            for q in [0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0] {
                assert_eq!(
                    a.value_at_quantile(q),
                    b.value_at_quantile(q),
                    "{s:?} q {q}"
                );
            }
            let a: Vec<_> = a
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect();
            let b: Vec<_> = b
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect();
            assert_eq!(a, b, "{s:?}");
        }
        // Drained counts start the next interval empty.
        let mut again = StageHistograms::new();
        hot.drain_into(&mut again);
        assert!(again.is_empty());
    }
}
