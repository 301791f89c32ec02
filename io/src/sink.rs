//! The sink worker: drains the core's output ring in batches, records core→sink latency
//! with one clock read per batch, and hands each output to the enabled sinks (counts, the
//! output hash, [`JsonlWriter`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use arb_engine::clock;
use arb_engine::event::ConnState;
use arb_engine::live_pairs::LivePairs;
use arb_engine::metrics::{Stage, StageRecorder};
use arb_engine::ring::{Consumer, Envelope};
use arb_engine::spread::{CoreOut, SpreadUpdate};
use arb_engine::{Exchange, TradeId};

use crate::jsonl::JsonlWriter;

/// Outputs taken per batch.
const BATCH: usize = 1024;

/// Counts of what the sink received, readable from any thread.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Quote updates.
    pub quotes: AtomicU64,
    /// Trades.
    pub trades: AtomicU64,
    /// Pair spreads derived from the quotes (only with [`SinkWorker::with_spreads`]).
    pub spreads: AtomicU64,
    /// Signals.
    pub signals: AtomicU64,
    /// Gap records.
    pub gaps: AtomicU64,
    /// Connection state changes.
    pub states: AtomicU64,
    /// Per venue, indexed by `Exchange::index`.
    pub venues: [VenueCounters; Exchange::COUNT],
}

/// What the sink saw of one venue (from the core's outputs).
#[derive(Debug, Default)]
pub struct VenueCounters {
    /// Quotes and trades.
    pub messages: AtomicU64,
    /// Receive time of the newest quote or trade, ns since the epoch (`0`: none yet).
    pub last_ts_ns: AtomicI64,
    /// Connections up now.
    pub connections_up: AtomicU64,
    /// Connections that came up again after a drop.
    pub reconnects: AtomicU64,
    /// Connections that dropped.
    pub disconnects: AtomicU64,
}

#[derive(Debug, Default, Clone, Copy)]
struct VenueLocal {
    messages: u64,
    last_ts_ns: i64,
    up: u64,
    reconnects: u64,
    disconnects: u64,
}

/// A 64-bit hash over a canonical word form of every output (timing stamps excluded), so
/// two runs can be compared with one number. Word-at-a-time (multiply-rotate, as FxHash):
/// the sink hashes every pair result, so byte-at-a-time FNV showed up in profiles.
#[derive(Debug, Clone, Copy)]
pub struct OutputHash(u64);

impl Default for OutputHash {
    fn default() -> Self {
        OutputHash(0xcbf2_9ce4_8422_2325)
    }
}

impl OutputHash {
    #[inline]
    fn u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    /// Adds one output. A quote's derived pair spreads follow it with
    /// [`OutputHash::add_spread`]; connection state changes are not hashed (their effect is
    /// in the gap records and the spreads).
    #[inline]
    pub fn add(&mut self, o: &CoreOut) {
        match o {
            CoreOut::Quote(u) => {
                let q = &u.quote;
                self.u64(1);
                self.u64(u64::from(q.symbol.0) << 8 | q.exchange as u64);
                for v in [q.bid_px, q.bid_qty, q.ask_px, q.ask_qty] {
                    self.u64(v.to_bits());
                }
                self.u64(q.recv_ts_ns as u64);
            }
            CoreOut::Venue(_) => {}
            CoreOut::Trade(t) => {
                self.u64(2);
                self.u64(u64::from(t.symbol.0) << 8 | t.exchange as u64);
                self.u64(t.px.to_bits());
                self.u64(t.qty.to_bits());
                self.u64(match t.trade_id {
                    TradeId::Numeric(n) | TradeId::Hashed(n) => n,
                });
            }
            CoreOut::Signal(s) => {
                self.u64(4);
                self.u64(s.ts_ns as u64);
                self.u64(
                    u64::from(s.symbol.0) << 16 | (s.pair.index() as u64) << 8 | s.kind as u64,
                );
                self.u64(s.dev_pct.to_bits());
            }
            CoreOut::Gap(g) => {
                self.u64(5);
                self.u64(g.exchange as u64);
                self.u64(u64::from(g.conn_id));
                self.u64(u64::from(g.symbols_affected));
                self.u64(g.start_ns as u64);
                self.u64(g.end_ns as u64);
            }
        }
    }

    /// Adds one pair spread derived from the quote added last.
    #[inline]
    pub fn add_spread(&mut self, p: &SpreadUpdate) {
        self.u64(3);
        self.u64(p.pair.index() as u64);
        for v in [p.dev_pct, p.exec_ab_pct, p.exec_ba_pct] {
            self.u64(v.to_bits());
        }
        self.u64(p.other_age_ns as u64);
    }

    /// Returns the hash so far.
    pub fn value(&self) -> u64 {
        self.0
    }
}

/// Drains the core's output ring into the enabled sinks.
#[derive(Debug)]
pub struct SinkWorker {
    input: Consumer<Envelope<CoreOut>>,
    recorder: StageRecorder,
    stats: Arc<SinkStats>,
    /// Quotes, trades, derived spreads, signals, gaps, state changes.
    counts: [u64; 6],
    venues: [VenueLocal; Exchange::COUNT],
    hash: Option<OutputHash>,
    /// Derives each quote's pair spreads for the hash and the JSON lines (off the core).
    pairs: Option<LivePairs>,
    jsonl: Option<JsonlWriter<std::io::BufWriter<std::fs::File>>>,
    write_error: Option<std::io::Error>,
}

impl SinkWorker {
    /// Creates a counting sink; enable the others with the `with_*` methods.
    pub fn new(
        input: Consumer<Envelope<CoreOut>>,
        recorder: StageRecorder,
        stats: Arc<SinkStats>,
    ) -> Self {
        SinkWorker {
            input,
            recorder,
            stats,
            counts: [0; 6],
            venues: [VenueLocal::default(); Exchange::COUNT],
            hash: None,
            pairs: None,
            jsonl: None,
            write_error: None,
        }
    }

    /// Derives each quote's pair spreads with `pairs` (counted, hashed and written when
    /// those sinks are on). Without it only quotes, trades, signals and gaps are seen.
    pub fn with_spreads(mut self, pairs: LivePairs) -> Self {
        self.pairs = Some(pairs);
        self
    }

    /// Also hashes every output.
    pub fn with_hash(mut self) -> Self {
        self.hash = Some(OutputHash::default());
        self
    }

    /// Also writes spreads, signals and gaps to `writer`.
    pub fn with_jsonl(mut self, writer: JsonlWriter<std::io::BufWriter<std::fs::File>>) -> Self {
        self.jsonl = Some(writer);
        self
    }

    /// Returns `true` if the ring holds outputs.
    pub fn has_input(&self) -> bool {
        !self.input.is_empty()
    }

    /// Returns `true` once the core hung up and the ring is drained.
    pub fn input_closed(&self) -> bool {
        self.input.is_abandoned() && self.input.is_empty()
    }

    /// Takes up to one batch; returns how many outputs it handled.
    // NB: never inlined so instruction counts can be attributed to it
    // (benches/instructions.sh); one call per batch of events.
    #[inline(never)]
    pub fn pump(&mut self) -> usize {
        let n = self.input.slots().min(BATCH);
        if n == 0 {
            return 0;
        }
        let now = clock::mono_ns();
        for _ in 0..n {
            let Ok(env) = self.input.pop() else { break };
            self.recorder.record(Stage::CoreToSink, now - env.stamp_ns);
            let o = &env.item;
            let k = match o {
                CoreOut::Quote(u) => {
                    let v = &mut self.venues[u.quote.exchange.index()];
                    v.messages += 1;
                    v.last_ts_ns = v.last_ts_ns.max(u.quote.recv_ts_ns);
                    0
                }
                CoreOut::Trade(t) => {
                    let v = &mut self.venues[t.exchange.index()];
                    v.messages += 1;
                    v.last_ts_ns = v.last_ts_ns.max(t.recv_ts_ns);
                    1
                }
                CoreOut::Signal(_) => 3,
                CoreOut::Gap(_) => 4,
                CoreOut::Venue(st) => {
                    let v = &mut self.venues[st.exchange.index()];
                    match st.state {
                        ConnState::Connected => {
                            if v.disconnects > v.reconnects {
                                v.reconnects += 1;
                            }
                            v.up += 1;
                        }
                        ConnState::Disconnected => {
                            v.disconnects += 1;
                            v.up = v.up.saturating_sub(1);
                        }
                        ConnState::Resubscribed => {}
                    }
                    5
                }
            };
            self.counts[k] += 1;
            if let Some(h) = self.hash.as_mut() {
                h.add(o);
            }
            if let Some(w) = self.jsonl.as_mut()
                && self.write_error.is_none()
                && let Err(e) = w.write(o)
            {
                self.write_error = Some(e);
            }
            if let Some(pairs) = self.pairs.as_mut() {
                let (hash, jsonl, err, count) = (
                    &mut self.hash,
                    &mut self.jsonl,
                    &mut self.write_error,
                    &mut self.counts[2],
                );
                pairs.apply(o, |p| {
                    *count += 1;
                    if let Some(h) = hash.as_mut() {
                        h.add_spread(p);
                    }
                    if let Some(w) = jsonl.as_mut()
                        && err.is_none()
                        && let Err(e) = w.write_spread(p)
                    {
                        *err = Some(e);
                    }
                });
            }
        }
        n
    }

    /// Hands histograms over and publishes counters at most once per interval.
    pub fn maybe_flush(&mut self) {
        self.recorder
            .maybe_flush(clock::mono_ns(), clock::wall_ns());
        self.publish();
    }

    fn publish(&self) {
        let s = &self.stats;
        // Relaxed stores: statistics; this thread is the only writer.
        for (a, v) in [
            &s.quotes, &s.trades, &s.spreads, &s.signals, &s.gaps, &s.states,
        ]
        .into_iter()
        .zip(self.counts)
        {
            a.store(v, Ordering::Relaxed);
        }
        for (a, v) in s.venues.iter().zip(&self.venues) {
            a.messages.store(v.messages, Ordering::Relaxed);
            a.last_ts_ns.store(v.last_ts_ns, Ordering::Relaxed);
            a.connections_up.store(v.up, Ordering::Relaxed);
            a.reconnects.store(v.reconnects, Ordering::Relaxed);
            a.disconnects.store(v.disconnects, Ordering::Relaxed);
        }
    }

    /// Flushes everything; returns the output hash (if enabled).
    ///
    /// # Errors
    /// The first write error of the JSON-lines sink, if any.
    pub fn finish(mut self) -> std::io::Result<Option<u64>> {
        self.recorder.flush(clock::wall_ns());
        self.publish();
        if let Some(e) = self.write_error.take() {
            return Err(e);
        }
        if let Some(w) = self.jsonl.as_mut() {
            w.flush()?;
        }
        Ok(self.hash.map(|h| h.value()))
    }
}
