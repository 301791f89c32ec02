//! The spread-core thread's loop body: drains the feed rings round-robin, runs the core,
//! stamps and forwards its outputs to the I/O ring (and the store's tap ring), and records
//! the decoded→core-done latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock;
use crate::event::Event;
use crate::event::SymbolId;
use crate::link::FeedRx;
use crate::metrics::{Stage, StageRecorder};
use crate::ranking::RankingBoard;
use crate::ring::{Envelope, RingTx};
use crate::spread::{CoreCounters, CoreOut, SpreadCore};

/// Events taken from one ring before moving to the next, so one busy feed cannot starve
/// the others.
const BATCH: usize = 256;

/// Counters of the core thread, readable from any thread.
#[derive(Debug, Default)]
pub struct CoreStats {
    /// Events taken from the feed rings.
    pub events: AtomicU64,
    /// Outputs pushed to the I/O ring.
    pub outputs: AtomicU64,
    /// Pair updates computed.
    pub spreads: AtomicU64,
    /// Signals raised.
    pub signals: AtomicU64,
    /// Legs skipped as stale.
    pub stale_legs: AtomicU64,
    /// Zero or crossed books skipped.
    pub bad_books: AtomicU64,
    /// Highest depth seen in any feed ring when draining it.
    pub max_input_depth: AtomicU64,
}

/// Outputs a tap ring (the store's) dropped because it was full, by kind.
#[derive(Debug, Default)]
pub struct TapDrops {
    /// Quote updates.
    pub quotes: AtomicU64,
    /// Trades.
    pub trades: AtomicU64,
    /// Signals.
    pub signals: AtomicU64,
    /// Gap records.
    pub gaps: AtomicU64,
    /// Connection state changes.
    pub states: AtomicU64,
}

impl TapDrops {
    #[cold]
    fn count(&self, o: &CoreOut) {
        let c = match o {
            CoreOut::Quote(_) => &self.quotes,
            CoreOut::Trade(_) => &self.trades,
            CoreOut::Signal(_) => &self.signals,
            CoreOut::Gap(_) => &self.gaps,
            CoreOut::Venue(_) => &self.states,
        };
        // Relaxed: a statistic.
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// An extra output ring with its own policy (the Parquet store's, the server's): every
/// output goes to it as well; when it is full under `DropNewest`, the output is dropped
/// there only.
#[derive(Debug)]
struct Tap {
    tx: RingTx<Envelope<CoreOut>>,
    drops: Arc<TapDrops>,
}

/// Owns the spread core and its rings.
#[derive(Debug)]
pub struct CoreWorker {
    core: SpreadCore,
    inputs: Vec<FeedRx>,
    out: RingTx<Envelope<CoreOut>>,
    /// Extra output rings (the store's, the server's), each with its own policy.
    taps: Vec<Tap>,
    recorder: StageRecorder,
    stats: Arc<CoreStats>,
    events: u64,
    outputs: u64,
    max_depth: u64,
    board: Arc<RankingBoard>,
    ranking_scratch: Vec<(SymbolId, f64)>,
    next_publish_mono_ns: i64,
    /// Receive time of the newest event taken (quote, trade or state change).
    last_event_ts_ns: i64,
    ranking_clock: RankingClock,
}

/// The "now" against which the ranking judges whether a leg is fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RankingClock {
    /// The receive time of the newest event (replays: captured time).
    #[default]
    Data,
    /// The later of the newest event's receive time and the wall clock (live feeds).
    Wall,
}

/// How often the core republishes the ranking board: often enough for a live table,
/// rare enough that the O(symbols) pass stays off the latency tail.
pub const RANKING_INTERVAL_NS: i64 = 250_000_000;

impl CoreWorker {
    /// Wires a core to its input rings and its output ring.
    pub fn new(
        core: SpreadCore,
        inputs: Vec<FeedRx>,
        out: RingTx<Envelope<CoreOut>>,
        recorder: StageRecorder,
        stats: Arc<CoreStats>,
    ) -> Self {
        CoreWorker {
            core,
            inputs,
            out,
            taps: Vec::new(),
            recorder,
            stats,
            events: 0,
            outputs: 0,
            max_depth: 0,
            board: Arc::new(RankingBoard::new(64)),
            ranking_scratch: Vec::new(),
            next_publish_mono_ns: 0,
            last_event_ts_ns: 0,
            ranking_clock: RankingClock::Data,
        }
    }

    /// Also sends every output to `tx` (the store's ring, the server's), before the main
    /// output ring; returns the counters of what `tx` dropped.
    pub fn with_tap(&mut self, tx: RingTx<Envelope<CoreOut>>) -> Arc<TapDrops> {
        let drops = Arc::new(TapDrops::default());
        self.taps.push(Tap {
            tx,
            drops: Arc::clone(&drops),
        });
        drops
    }

    /// Returns the ranking board the core publishes (top symbols by best executable
    /// spread), for readers on other threads.
    pub fn ranking(&self) -> Arc<RankingBoard> {
        Arc::clone(&self.board)
    }

    /// Returns the core (cold path: reports, history).
    pub fn core(&self) -> &SpreadCore {
        &self.core
    }

    /// Returns `true` if any input ring holds an event.
    pub fn has_input(&self) -> bool {
        self.inputs.iter().any(|c| !c.is_empty())
    }

    /// Returns `true` once every feed has hung up and its ring is drained.
    pub fn inputs_closed(&self) -> bool {
        self.inputs.iter().all(|c| c.is_abandoned() && c.is_empty())
    }

    /// Processes up to one batch from each input ring; returns the events processed.
    ///
    /// # Hot path
    /// Allocates never; one clock read per event; syscalls none except a doorbell wake of
    /// a sleeping sink; blocks never.
    // NB: never inlined so instruction counts can be attributed to it
    // (benches/instructions.sh); one call per batch of events.
    #[inline(never)]
    pub fn pump(&mut self) -> usize {
        let mut done = 0;
        // Outputs are stamped with the time the core became free for their event (the
        // previous event's done time): pushing them straight into the ring from the core's
        // callback saves copying each output through a scratch buffer, and
        // core→sink latency then includes the core's own work on the event.
        // NB: this cut the core's per-event instructions (benches/instructions.sh; see the
        // engine commit "engine: push core outputs straight into the ring").
        let mut free_ns = clock::mono_ns();
        for i in 0..self.inputs.len() {
            let depth = self.inputs[i].slots() as u64;
            if depth > self.max_depth {
                self.max_depth = depth;
            }
            for _ in 0..BATCH {
                let Some(env) = self.inputs[i].pop() else {
                    break;
                };
                let ts = match &env.item {
                    Event::Quote(q) => q.recv_ts_ns,
                    Event::Trade(t) => t.recv_ts_ns,
                    Event::Venue(v) => v.ts_ns,
                };
                self.last_event_ts_ns = self.last_event_ts_ns.max(ts);
                let (out, taps, outputs) = (&mut self.out, &mut self.taps, &mut self.outputs);
                self.core.on_event(&env.item, &mut |o| {
                    let env = Envelope {
                        item: o,
                        stamp_ns: free_ns,
                    };
                    for t in taps.iter_mut() {
                        if !t.tx.push(env) {
                            t.drops.count(&o);
                        }
                    }
                    out.push(env);
                    *outputs += 1;
                });
                free_ns = clock::mono_ns();
                self.recorder
                    .record(Stage::DecodedToCoreDone, free_ns - env.stamp_ns);
                done += 1;
            }
        }
        if done > 0 {
            self.events += done as u64;
            self.out.notify();
            for t in &self.taps {
                t.tx.notify();
            }
        }
        done
    }

    /// Hands histograms over and publishes counters at most once per interval.
    pub fn maybe_flush(&mut self) {
        let now = clock::mono_ns();
        self.recorder.maybe_flush(now, clock::wall_ns());
        self.publish();
        if now >= self.next_publish_mono_ns {
            self.next_publish_mono_ns = now + RANKING_INTERVAL_NS;
            self.publish_ranking();
        }
    }

    /// Sets the clock the ranking judges leg freshness by: [`RankingClock::Data`] (the
    /// default; replays) or [`RankingClock::Wall`] (live, so that legs go stale even when
    /// every venue falls silent).
    pub fn set_ranking_clock(&mut self, clock: RankingClock) {
        self.ranking_clock = clock;
    }

    fn publish_ranking(&mut self) {
        let cap = self.board.capacity();
        let now = match self.ranking_clock {
            RankingClock::Data => self.last_event_ts_ns,
            RankingClock::Wall => self.last_event_ts_ns.max(clock::wall_ns()),
        };
        self.core
            .top_opportunities(now, cap, &mut self.ranking_scratch);
        self.board.publish(now, &self.ranking_scratch);
    }

    /// Closes open gaps at `end_ns`, flushes histograms, counters and the ranking, and
    /// hangs up the output ring so the sink can finish; returns the core for reports.
    pub fn finish(mut self, end_ns: i64) -> SpreadCore {
        let now = clock::mono_ns();
        let (out, taps, outputs) = (&mut self.out, &mut self.taps, &mut self.outputs);
        self.core.close_gaps(end_ns, &mut |o| {
            let env = Envelope {
                item: o,
                stamp_ns: now,
            };
            for t in taps.iter_mut() {
                if !t.tx.push(env) {
                    t.drops.count(&o);
                }
            }
            out.push(env);
            *outputs += 1;
        });
        self.out.notify();
        for t in &self.taps {
            t.tx.notify();
        }
        self.recorder.flush(clock::wall_ns());
        self.publish();
        self.publish_ranking();
        self.core
    }

    /// Returns the core's own counters.
    pub fn counters(&self) -> &CoreCounters {
        self.core.counters()
    }

    fn publish(&self) {
        let c = self.core.counters();
        let s = &self.stats;
        // Relaxed stores: statistics; this thread is the only writer.
        s.events.store(self.events, Ordering::Relaxed);
        s.outputs.store(self.outputs, Ordering::Relaxed);
        s.spreads.store(c.spreads, Ordering::Relaxed);
        s.signals.store(c.signals, Ordering::Relaxed);
        s.stale_legs.store(c.stale_legs, Ordering::Relaxed);
        s.bad_books
            .store(c.zero_book + c.crossed, Ordering::Relaxed);
        s.max_input_depth.store(self.max_depth, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod layout_tests {
    use crate::event::Event;
    use crate::ring::Envelope;
    use crate::spread::CoreOut;

    #[test]
    fn ring_slots_stay_small() {
        // Feed → core: one event per slot; core → I/O: one accepted quote (its pair spreads
        // are derived off the core, `live_pairs`).
        assert_eq!(size_of::<Envelope<Event>>(), 72);
        assert_eq!(size_of::<Envelope<CoreOut>>(), 80);
    }
}
