//! The feed worker: turns raw frames of one or more venue connections into engine events
//! and pushes them into its SPSC ring to the spread core.
//!
//! One worker per feed thread. It owns a decoder per (venue, connection), interns native
//! symbols through the read-only registry, stamps events with one clock read per frame and
//! records the exchange→receive and receive→decoded latencies. Sources (a replayed capture
//! today, live connections later) call [`FeedWorker::on_frame`] and
//! [`FeedWorker::on_connection`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use arb_engine::clock;
use arb_engine::event::{ConnState, MAX_CONNS_PER_VENUE, VenueState, conn_slot};
use arb_engine::link::FeedTx;
use arb_engine::metrics::{Stage, StageRecorder};
use arb_engine::ring::Envelope;
use arb_engine::{Event, Exchange, Quote, SymbolRegistry, Trade};

use crate::decode::{Control, ControlKind, Decoded, FrameDecoder, FrameKind};
use crate::error::ParseError;
use crate::venue::AnyDecoder;

/// Events a single frame may carry before the scratch buffer grows (Bybit batches up to
/// 1024 trades).
const SCRATCH_EVENTS: usize = 1024;

/// Counters of one feed worker, readable from any thread.
///
/// The worker keeps plain tallies and publishes them here with relaxed stores at each
/// histogram hand-off and at the end, so the hot path has no atomic read-modify-write.
#[derive(Debug, Default)]
pub struct FeedStats {
    /// Frames handed to decoders.
    pub frames: AtomicU64,
    /// Quotes pushed.
    pub quotes: AtomicU64,
    /// Trades pushed.
    pub trades: AtomicU64,
    /// Control messages seen.
    pub controls: AtomicU64,
    /// Error messages the venue sent (subscribe failures and the like).
    pub venue_errors: AtomicU64,
    /// Venue-state events pushed.
    pub venue_events: AtomicU64,
    /// Frames and state changes refused because their connection id is past
    /// [`MAX_CONNS_PER_VENUE`] (a source bug: sources check ids with
    /// [`arb_engine::event::conn_slot`] when they open connections).
    pub rejected_conn: AtomicU64,
    /// Decode errors, `[venue][ParseError::kind_index]`.
    pub decode_errors: [[AtomicU64; ParseError::KINDS]; Exchange::COUNT],
    /// Smallest `recv - exch` seen per venue (ns); negative means the venue's clock runs
    /// ahead of ours by at least that much. `i64::MAX` until the first stamped message.
    pub min_exch_to_recv_ns: [AtomicI64; Exchange::COUNT],
    /// Stamped messages whose `recv - exch` was negative, per venue.
    pub negative_exch_to_recv: [AtomicU64; Exchange::COUNT],
}

impl FeedStats {
    /// Returns fresh counters.
    pub fn new() -> Arc<Self> {
        let s = FeedStats::default();
        for m in &s.min_exch_to_recv_ns {
            m.store(i64::MAX, Ordering::Relaxed);
        }
        Arc::new(s)
    }

    /// Returns the decode errors of all venues and kinds.
    pub fn decode_errors_total(&self) -> u64 {
        self.decode_errors
            .iter()
            .flatten()
            .map(|a| a.load(Ordering::Relaxed))
            .sum()
    }
}

#[derive(Debug, Clone)]
struct Tally {
    frames: u64,
    quotes: u64,
    trades: u64,
    controls: u64,
    venue_errors: u64,
    venue_events: u64,
    rejected_conn: u64,
    decode_errors: [[u64; ParseError::KINDS]; Exchange::COUNT],
    min_exch_to_recv_ns: [i64; Exchange::COUNT],
    negative: [u64; Exchange::COUNT],
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            frames: 0,
            quotes: 0,
            trades: 0,
            controls: 0,
            venue_errors: 0,
            venue_events: 0,
            rejected_conn: 0,
            decode_errors: [[0; ParseError::KINDS]; Exchange::COUNT],
            min_exch_to_recv_ns: [i64::MAX; Exchange::COUNT],
            negative: [0; Exchange::COUNT],
        }
    }
}

/// Decodes frames into events and pushes them to the core.
#[derive(Debug)]
pub struct FeedWorker {
    registry: Arc<SymbolRegistry>,
    /// `[conn_slot(venue, conn)]`, created on a connection's first frame and reset (not
    /// reallocated) when it disconnects.
    decoders: Vec<Option<AnyDecoder>>,
    tx: FeedTx,
    recorder: StageRecorder,
    stats: Arc<FeedStats>,
    tally: Tally,
    /// Events of the frame being decoded; capacity kept between frames.
    scratch: Vec<Event>,
    /// Added to receive times by a looping replay; subtracted again for exchange→receive
    /// latency, whose exchange side (inside the payload) is not shifted.
    time_shift_ns: i64,
}

impl FeedWorker {
    /// Creates a worker pushing into `tx`.
    pub fn new(
        registry: Arc<SymbolRegistry>,
        tx: FeedTx,
        recorder: StageRecorder,
        stats: Arc<FeedStats>,
    ) -> Self {
        FeedWorker {
            registry,
            decoders: (0..Exchange::COUNT * MAX_CONNS_PER_VENUE)
                .map(|_| None)
                .collect(),
            tx,
            recorder,
            stats,
            tally: Tally::default(),
            scratch: Vec::with_capacity(SCRATCH_EVENTS),
            time_shift_ns: 0,
        }
    }

    /// Sets the shift a looping replay adds to receive times.
    pub fn set_time_shift(&mut self, shift_ns: i64) {
        self.time_shift_ns = shift_ns;
    }

    /// Returns the shared counters.
    pub fn stats(&self) -> &Arc<FeedStats> {
        &self.stats
    }

    /// Decodes one frame received at `recv_ts_ns` (wall clock) and pushes its events.
    ///
    /// # Hot path
    /// Allocates never once every connection has decoded its first frames; two clock
    /// reads per frame; syscalls none; blocks never under `FullPolicy::DropNewest`.
    // NB: never inlined so instruction counts can be attributed to it
    // (benches/instructions.sh); one call per frame.
    #[inline(never)]
    pub fn on_frame(
        &mut self,
        exchange: Exchange,
        conn_id: u16,
        kind: FrameKind,
        recv_ts_ns: i64,
        payload: &[u8],
    ) {
        let _ = self.on_frame_with(exchange, conn_id, kind, recv_ts_ns, payload, |_| {});
    }

    /// [`FeedWorker::on_frame`], also handing each control message (acks, heartbeats,
    /// venue errors, notices) to `on_control`: live connections answer pings and track
    /// subscriptions from them. Returns the number of quotes and trades pushed.
    ///
    /// # Hot path
    /// As [`FeedWorker::on_frame`]; `on_control` runs only for control messages.
    #[inline]
    pub fn on_frame_with(
        &mut self,
        exchange: Exchange,
        conn_id: u16,
        kind: FrameKind,
        recv_ts_ns: i64,
        payload: &[u8],
        mut on_control: impl FnMut(&Control<'_>),
    ) -> usize {
        let t0 = clock::mono_ns();
        self.tally.frames += 1;
        let Ok(slot) = conn_slot(exchange, conn_id) else {
            self.tally.rejected_conn += 1;
            return 0;
        };
        let decoder = self.decoders[slot].get_or_insert_with(|| AnyDecoder::new(exchange));
        let registry = &*self.registry;
        let scratch = &mut self.scratch;
        let tally = &mut self.tally;
        let recorder = &mut self.recorder;
        let unshifted_recv_ns = recv_ts_ns.saturating_sub(self.time_shift_ns);
        scratch.clear();
        let ex = exchange.index();
        let result = decoder.decode(kind, payload, &mut |d| match d {
            Decoded::Quote(q) => {
                let Some(symbol) = registry.lookup(exchange, q.native) else {
                    tally.decode_errors[ex][ParseError::UnknownSymbol.kind_index()] += 1;
                    return;
                };
                if q.exch_ts_ns != 0 {
                    note_exch_latency(
                        tally,
                        recorder,
                        exchange,
                        unshifted_recv_ns.saturating_sub(q.exch_ts_ns),
                    );
                }
                scratch.push(Event::Quote(Quote {
                    symbol,
                    exchange,
                    conn_id,
                    bid_px: q.bid_px,
                    bid_qty: q.bid_qty,
                    ask_px: q.ask_px,
                    ask_qty: q.ask_qty,
                    exch_ts_ns: q.exch_ts_ns,
                    recv_ts_ns,
                }));
            }
            Decoded::Trade(t) => {
                let Some(symbol) = registry.lookup(exchange, t.native) else {
                    tally.decode_errors[ex][ParseError::UnknownSymbol.kind_index()] += 1;
                    return;
                };
                if t.exch_ts_ns != 0 {
                    note_exch_latency(
                        tally,
                        recorder,
                        exchange,
                        unshifted_recv_ns.saturating_sub(t.exch_ts_ns),
                    );
                }
                scratch.push(Event::Trade(Trade {
                    symbol,
                    exchange,
                    side: t.side,
                    conn_id,
                    px: t.px,
                    qty: t.qty,
                    trade_id: t.trade_id.to_trade_id(),
                    exch_ts_ns: t.exch_ts_ns,
                    recv_ts_ns,
                }));
            }
            Decoded::Control(c) => {
                tally.controls += 1;
                if c.kind == ControlKind::Error {
                    tally.venue_errors += 1;
                }
                on_control(&c);
            }
        });
        if let Err(e) = result {
            self.tally.decode_errors[ex][e.kind_index()] += 1;
        }
        let t1 = clock::mono_ns();
        self.recorder.record(Stage::RecvToDecoded, t1 - t0);
        if self.scratch.is_empty() {
            return 0;
        }
        for event in &self.scratch {
            match event {
                Event::Quote(_) => self.tally.quotes += 1,
                Event::Trade(_) => self.tally.trades += 1,
                Event::Venue(_) => {}
            }
            self.tx.push(Envelope {
                item: *event,
                stamp_ns: t1,
            });
        }
        self.tx.notify();
        self.scratch.len()
    }

    /// Pushes events decoded elsewhere (a remote collector's, received over NATS) into the
    /// core's ring: quotes and trades under the ring's full policy, venue states on the
    /// never-dropping lane, in order. Their symbols must already be this registry's ids.
    /// Returns the number of quotes and trades the ring took.
    ///
    /// # Hot path
    /// Allocates never; one clock read per call; blocks never under
    /// `FullPolicy::DropNewest` (a full state lane waits, see `arb_engine::link`).
    pub fn push_events(&mut self, events: &[Event]) -> usize {
        let stamp_ns = clock::mono_ns();
        let mut pushed = 0;
        for event in events {
            match event {
                Event::Quote(_) => self.tally.quotes += 1,
                Event::Trade(_) => self.tally.trades += 1,
                Event::Venue(v) => {
                    if conn_slot(v.exchange, v.conn_id).is_err() {
                        self.tally.rejected_conn += 1;
                        continue;
                    }
                    self.tally.venue_events += 1;
                    self.tx.push_state(*v, stamp_ns);
                    continue;
                }
            }
            pushed += usize::from(self.tx.push(Envelope {
                item: *event,
                stamp_ns,
            }));
        }
        if !events.is_empty() {
            self.tx.notify();
        }
        pushed
    }

    /// Counts a frame the source refused before decoding (for instance one larger than
    /// the live client's frame limit) as a decode error of `exchange`.
    pub fn on_refused_frame(&mut self, exchange: Exchange, error: ParseError) {
        self.tally.frames += 1;
        self.tally.decode_errors[exchange.index()][error.kind_index()] += 1;
    }

    /// Reports a connection state change to the core. State changes travel on the link's
    /// reserved lane: they are never dropped, even when the data ring is full.
    ///
    /// # Errors
    /// [`arb_engine::event::ConnLimitError`] when `conn_id` is past
    /// [`MAX_CONNS_PER_VENUE`]; nothing is sent then.
    pub fn on_connection(
        &mut self,
        exchange: Exchange,
        conn_id: u16,
        state: ConnState,
        ts_ns: i64,
    ) -> Result<(), arb_engine::event::ConnLimitError> {
        let slot = conn_slot(exchange, conn_id).inspect_err(|_| self.tally.rejected_conn += 1)?;
        self.tally.venue_events += 1;
        let event = VenueState {
            exchange,
            conn_id,
            state,
            ts_ns,
        };
        self.tx.push_state(event, clock::mono_ns());
        if state == ConnState::Disconnected
            && let Some(d) = self.decoders[slot].as_mut()
        {
            // A reconnect starts a new session: stateful decoders (Bybit's merged L1)
            // must not carry the old book into it. Reset in place: buffers are kept.
            d.reset_session();
        }
        Ok(())
    }

    /// Hands latency histograms to the collector and publishes counters, at most once per
    /// interval. Call between frames with a monotonic time already read.
    #[inline]
    pub fn maybe_flush(&mut self, now_mono_ns: i64, now_wall_ns: i64) {
        self.recorder.maybe_flush(now_mono_ns, now_wall_ns);
        self.publish();
    }

    /// Flushes histograms and counters now (end of run).
    pub fn finish(&mut self) {
        self.recorder.flush(clock::wall_ns());
        self.publish();
    }

    fn publish(&self) {
        let (s, t) = (&self.stats, &self.tally);
        // Relaxed stores: statistics; this thread is the only writer.
        s.frames.store(t.frames, Ordering::Relaxed);
        s.quotes.store(t.quotes, Ordering::Relaxed);
        s.trades.store(t.trades, Ordering::Relaxed);
        s.controls.store(t.controls, Ordering::Relaxed);
        s.venue_events.store(t.venue_events, Ordering::Relaxed);
        s.rejected_conn.store(t.rejected_conn, Ordering::Relaxed);
        s.venue_errors.store(t.venue_errors, Ordering::Relaxed);
        for v in 0..Exchange::COUNT {
            for k in 0..ParseError::KINDS {
                s.decode_errors[v][k].store(t.decode_errors[v][k], Ordering::Relaxed);
            }
            s.min_exch_to_recv_ns[v].store(t.min_exch_to_recv_ns[v], Ordering::Relaxed);
            s.negative_exch_to_recv[v].store(t.negative[v], Ordering::Relaxed);
        }
    }
}

/// Records exchange→receive latency. Negative values (venue clock ahead of ours) are
/// counted and tracked as a clock-offset estimate, and recorded as zero.
#[inline]
fn note_exch_latency(
    tally: &mut Tally,
    recorder: &mut StageRecorder,
    exchange: Exchange,
    raw_ns: i64,
) {
    let v = exchange.index();
    if raw_ns < tally.min_exch_to_recv_ns[v] {
        tally.min_exch_to_recv_ns[v] = raw_ns;
    }
    if raw_ns < 0 {
        tally.negative[v] += 1;
    }
    recorder.record(Stage::ExchToRecv(exchange), raw_ns);
}
