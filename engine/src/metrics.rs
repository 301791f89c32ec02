//! Latency histograms per pipeline stage, recorded on the hot threads without locks and
//! handed to a cold collector over SPSC rings; plus the stage catalogue.
//!
//! Each hot thread owns a [`StageRecorder`]: it records into its current
//! [`StageHistograms`] and, once per interval, swaps it for an empty one from a recycle
//! ring and pushes the full one to the collector. All histogram sets are created up front,
//! so recording and swapping allocate nothing. If the collector falls behind, the thread
//! keeps recording into the set it has (intervals merge; nothing is lost or allocated).

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

/// The hot-thread side: records and periodically hands its histograms to the collector.
#[derive(Debug)]
pub struct StageRecorder {
    current: Box<StageHistograms>,
    to_collector: Producer<Box<StageHistograms>>,
    recycled: Consumer<Box<StageHistograms>>,
    interval_ns: i64,
    next_flush_mono_ns: i64,
}

/// The collector side of one recorder.
#[derive(Debug)]
pub struct StageCollector {
    from_recorder: Consumer<Box<StageHistograms>>,
    recycle: Producer<Box<StageHistograms>>,
}

/// Creates a recorder/collector pair with `spare` preallocated histogram sets in flight.
pub fn stage_channel(interval_ns: i64, spare: usize) -> (StageRecorder, StageCollector) {
    let (to_collector, from_recorder) = RingBuffer::new(spare + 1);
    let (mut recycle, recycled) = RingBuffer::new(spare + 1);
    for _ in 0..spare {
        let _ = recycle.push(Box::new(StageHistograms::new()));
    }
    (
        StageRecorder {
            current: Box::new(StageHistograms::new()),
            to_collector,
            recycled,
            interval_ns,
            next_flush_mono_ns: 0,
        },
        StageCollector {
            from_recorder,
            recycle,
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
    /// Takes every interval the recorder handed over, passing each to `f`, then recycles it.
    pub fn drain(&mut self, mut f: impl FnMut(&StageHistograms)) {
        while let Ok(mut h) = self.from_recorder.pop() {
            f(&h);
            h.reset();
            let _ = self.recycle.push(h);
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
}
