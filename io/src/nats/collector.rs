//! The collector role: the forwarder thread (feed rings → wire batches per venue, and
//! heartbeats) and the publisher thread (the NATS client: publishes the batches, answers
//! symbol-table and clock-ping requests).
//!
//! The forwarder takes the spread core's place behind the feed threads: it drains their
//! links (data and the never-dropped state lane, in order), appends each event to its
//! venue's pending batch and hands a batch over when it holds
//! [`CollectorConfig::max_events`] events or its first event is
//! [`CollectorConfig::linger_ns`] old, whichever comes first. Every
//! [`CollectorConfig::heartbeat_ns`] it flushes every pending batch and sends a heartbeat
//! with the state of each venue's connections (so a receiver that lost a state event
//! still converges), stamped with the collector's wall clock.
//!
//! The hand-off to the publisher is a bounded channel of batches
//! ([`CollectorConfig::channel_batches`]); when it is full (NATS slow or down and the
//! client's own bounded queue full too) the batch is dropped and counted, events and all.
//! One allocation per batch (the message payload the client takes ownership of), none per
//! event.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arb_engine::clock;
use arb_engine::event::{ConnState, Event};
use arb_engine::link::FeedRx;
use arb_engine::ring::{Doorbell, Idle, WaitMode};
use arb_engine::wire::{self, BatchWriter, VenueSnapshot};
use arb_engine::{Exchange, SymbolRegistry};
use async_nats::Subject;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::table::SymbolTable;
use super::{NatsConfig, NatsError, NatsLinkStats};

/// Most events taken from one feed ring before the forwarder looks at the others.
const DRAIN_BURST: usize = 1024;

/// Settings of the collector role.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// The collector's name (a subject token).
    pub name: String,
    /// The venues it runs feeds for.
    pub venues: Vec<Exchange>,
    /// Longest time an event waits in a pending batch, ns.
    pub linger_ns: i64,
    /// Events per batch at most.
    pub max_events: u16,
    /// Heartbeat period, ns.
    pub heartbeat_ns: i64,
    /// Batches the channel to the publisher holds.
    pub channel_batches: usize,
    /// How the forwarder waits for work.
    pub wait_mode: WaitMode,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            name: "collector".into(),
            venues: Exchange::ALL.to_vec(),
            linger_ns: 1_000_000,
            max_events: 256,
            heartbeat_ns: 250_000_000,
            channel_batches: 1024,
            wait_mode: WaitMode::Wait,
        }
    }
}

/// The collector's counters (relaxed atomics; one writer each).
#[derive(Debug, Default)]
pub struct CollectorStats {
    /// Events taken from the feed rings.
    pub events: AtomicU64,
    /// Data batches handed to the publisher.
    pub batches: AtomicU64,
    /// Payload bytes handed to the publisher (data and heartbeats).
    pub bytes: AtomicU64,
    /// Heartbeats handed to the publisher.
    pub heartbeats: AtomicU64,
    /// Batches dropped because the channel to the publisher was full.
    pub dropped_batches: AtomicU64,
    /// Events in those batches.
    pub dropped_events: AtomicU64,
    /// Batches the publisher handed to the client.
    pub published: AtomicU64,
    /// Publishes the client refused.
    pub publish_errors: AtomicU64,
    /// Symbol-table and ping requests answered.
    pub requests: AtomicU64,
    /// The NATS connection.
    pub nats: Arc<NatsLinkStats>,
}

/// One message for the publisher.
#[derive(Debug)]
struct Outgoing {
    subject: Subject,
    payload: Bytes,
}

/// A venue's batch being filled.
#[derive(Debug)]
struct Pending {
    buf: Vec<u8>,
    writer: Option<BatchWriter>,
    first_mono_ns: i64,
    seq: u64,
}

/// Builds the forwarder and the publisher of one collector.
///
/// # Errors
/// [`NatsError::BadName`] for a name that is not a subject token.
pub fn collector(
    config: &CollectorConfig,
    nats: NatsConfig,
    registry: &SymbolRegistry,
    inputs: Vec<FeedRx>,
    bell: Arc<Doorbell>,
) -> Result<(Forwarder, Publisher, Arc<CollectorStats>), NatsError> {
    super::validate_name(&config.name)?;
    let table = SymbolTable::from_registry(&config.name, &config.venues, registry);
    let stats = Arc::new(CollectorStats::default());
    let (tx, rx) = mpsc::channel(config.channel_batches.max(1));
    let batch_cap = wire::HEADER_LEN + usize::from(config.max_events) * wire::QUOTE_LEN;
    let forwarder = Forwarder {
        inputs,
        bell,
        idle: Idle::new(config.wait_mode),
        tx,
        pending: std::array::from_fn(|_| Pending {
            buf: Vec::with_capacity(batch_cap),
            writer: None,
            first_mono_ns: 0,
            seq: 0,
        }),
        subjects: std::array::from_fn(|i| {
            Subject::from(super::data_subject(&config.name, Exchange::ALL[i]))
        }),
        hb_subject: Subject::from(super::heartbeat_subject(&config.name)),
        hb_buf: Vec::with_capacity(wire::HEADER_LEN + Exchange::COUNT * wire::SNAPSHOT_LEN),
        hb_seq: 0,
        next_hb_mono_ns: 0,
        snapshots: std::array::from_fn(|i| VenueSnapshot {
            venue: Exchange::ALL[i],
            conns_up: 0,
            up: [0; 32],
        }),
        served: config.venues.clone(),
        epoch: table.epoch,
        linger_ns: config.linger_ns.max(0),
        max_events: config.max_events.max(1),
        heartbeat_ns: config.heartbeat_ns.max(1_000_000),
        stats: Arc::clone(&stats),
    };
    let publisher = Publisher {
        nats,
        name: config.name.clone(),
        table: Bytes::from(table.to_json()),
        rx,
        stats: Arc::clone(&stats),
    };
    Ok((forwarder, publisher, stats))
}

/// The forwarder thread's state: feed rings in, batches out.
#[derive(Debug)]
pub struct Forwarder {
    inputs: Vec<FeedRx>,
    bell: Arc<Doorbell>,
    idle: Idle,
    tx: mpsc::Sender<Outgoing>,
    pending: [Pending; Exchange::COUNT],
    subjects: [Subject; Exchange::COUNT],
    hb_subject: Subject,
    hb_buf: Vec<u8>,
    hb_seq: u64,
    next_hb_mono_ns: i64,
    snapshots: [VenueSnapshot; Exchange::COUNT],
    served: Vec<Exchange>,
    epoch: u32,
    linger_ns: i64,
    max_events: u16,
    heartbeat_ns: i64,
    stats: Arc<CollectorStats>,
}

impl Forwarder {
    /// Runs until every feed ring is abandoned (the feed threads ended) and drained, then
    /// hands over what is pending and closes the channel (the publisher then flushes and
    /// ends).
    pub fn run(mut self) {
        self.bell.bind();
        loop {
            let mut got = 0usize;
            let now = clock::mono_ns();
            for i in 0..self.inputs.len() {
                for _ in 0..DRAIN_BURST {
                    let Some(env) = self.inputs[i].pop() else {
                        break;
                    };
                    self.add(&env.item, now);
                    got += 1;
                }
            }
            self.stats.events.fetch_add(got as u64, Ordering::Relaxed);
            self.flush_due(now);
            if now >= self.next_hb_mono_ns {
                self.heartbeat(now);
            }
            if got > 0 {
                self.idle.reset();
                continue;
            }
            if self
                .inputs
                .iter()
                .all(|rx| rx.is_abandoned() && rx.is_empty())
            {
                break;
            }
            let inputs = &self.inputs;
            self.idle
                .idle(&self.bell, || inputs.iter().any(|rx| !rx.is_empty()));
        }
        for v in 0..Exchange::COUNT {
            self.flush(v);
        }
        self.heartbeat(clock::mono_ns());
    }

    /// Appends one event to its venue's batch.
    ///
    /// # Hot path
    /// Allocates never (the batch buffer keeps its capacity); no syscall.
    #[inline]
    fn add(&mut self, event: &Event, now_mono_ns: i64) {
        let venue = match event {
            Event::Quote(q) => q.exchange,
            Event::Trade(t) => t.exchange,
            Event::Venue(v) => {
                let s = &mut self.snapshots[v.exchange.index()];
                let up = v.state != ConnState::Disconnected;
                if s.is_up(v.conn_id) != up {
                    s.set_up(v.conn_id, up);
                }
                v.exchange
            }
        };
        let v = venue.index();
        for _ in 0..2 {
            let p = &mut self.pending[v];
            let writer = match &mut p.writer {
                Some(w) => w,
                None => {
                    p.buf.clear();
                    p.first_mono_ns = now_mono_ns;
                    p.writer
                        .insert(BatchWriter::data(&mut p.buf, venue, self.epoch))
                }
            };
            if writer.push_event(&mut p.buf, event) {
                if writer.count() >= self.max_events {
                    self.flush(v);
                }
                return;
            }
            // Full by the format's own limit: send and start a new batch.
            self.flush(v);
        }
    }

    /// Hands over every batch whose first event is older than the linger bound.
    fn flush_due(&mut self, now_mono_ns: i64) {
        for v in 0..Exchange::COUNT {
            let p = &self.pending[v];
            if p.writer.is_some() && now_mono_ns - p.first_mono_ns >= self.linger_ns {
                self.flush(v);
            }
        }
    }

    /// Finishes venue `v`'s batch (if any) and hands it to the publisher.
    fn flush(&mut self, v: usize) {
        let p = &mut self.pending[v];
        let Some(writer) = p.writer.take() else {
            return;
        };
        let events = u64::from(writer.count());
        p.seq += 1;
        writer.finish(&mut p.buf, p.seq, clock::wall_ns());
        let payload = Bytes::copy_from_slice(&p.buf);
        let bytes = payload.len() as u64;
        let out = Outgoing {
            subject: self.subjects[v].clone(),
            payload,
        };
        // Relaxed: statistics.
        if self.tx.try_send(out).is_ok() {
            self.stats.batches.fetch_add(1, Ordering::Relaxed);
            self.stats.bytes.fetch_add(bytes, Ordering::Relaxed);
        } else {
            self.stats.dropped_batches.fetch_add(1, Ordering::Relaxed);
            self.stats
                .dropped_events
                .fetch_add(events, Ordering::Relaxed);
        }
    }

    /// Flushes every pending batch, then sends the venues' connection snapshot.
    fn heartbeat(&mut self, now_mono_ns: i64) {
        for v in 0..Exchange::COUNT {
            self.flush(v);
        }
        self.next_hb_mono_ns = now_mono_ns + self.heartbeat_ns;
        self.hb_buf.clear();
        let mut w = BatchWriter::heartbeat(&mut self.hb_buf, self.epoch);
        for ex in &self.served {
            let mut snap = self.snapshots[ex.index()];
            snap.conns_up = snap.up.iter().map(|b| b.count_ones() as u16).sum();
            w.push_snapshot(&mut self.hb_buf, &snap);
        }
        self.hb_seq += 1;
        w.finish(&mut self.hb_buf, self.hb_seq, clock::wall_ns());
        let payload = Bytes::copy_from_slice(&self.hb_buf);
        let bytes = payload.len() as u64;
        let out = Outgoing {
            subject: self.hb_subject.clone(),
            payload,
        };
        if self.tx.try_send(out).is_ok() {
            self.stats.heartbeats.fetch_add(1, Ordering::Relaxed);
            self.stats.bytes.fetch_add(bytes, Ordering::Relaxed);
        } else {
            self.stats.dropped_batches.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The publisher thread's state: the NATS client and the channel from the forwarder.
#[derive(Debug)]
pub struct Publisher {
    nats: NatsConfig,
    name: String,
    table: Bytes,
    rx: mpsc::Receiver<Outgoing>,
    stats: Arc<CollectorStats>,
}

impl Publisher {
    /// Connects (retrying in the background until a server answers), then publishes
    /// until the forwarder closes the channel, answering requests meanwhile. Once `stop`
    /// is set, gives the forwarder `grace` to hand over its last batches, flushes and
    /// returns.
    ///
    /// # Errors
    /// The runtime or the subscriptions could not be set up.
    pub fn run(self, stop: &AtomicBool, grace: Duration) -> Result<(), NatsError> {
        let rt = super::runtime()?;
        let Publisher {
            nats,
            name,
            table,
            mut rx,
            stats,
        } = self;
        rt.block_on(async move {
            let client = super::connect(&nats, &stats.nats, true).await?;
            let sub = |subject: String| {
                let client = client.clone();
                async move {
                    client
                        .subscribe(subject.clone())
                        .await
                        .map_err(|e| NatsError::Subscribe {
                            subject,
                            error: e.to_string(),
                        })
                }
            };
            let mut pings = sub(super::ping_subject(&name)).await?;
            let mut tables = sub(super::symbols_subject(&name)).await?;
            let work = async {
                loop {
                    tokio::select! {
                        out = rx.recv() => {
                            let Some(out) = out else { break };
                            // Relaxed: statistics.
                            match client.publish(out.subject, out.payload).await {
                                Ok(()) => stats.published.fetch_add(1, Ordering::Relaxed),
                                Err(_) => stats.publish_errors.fetch_add(1, Ordering::Relaxed),
                            };
                        }
                        Some(req) = pings.next() => {
                            let t1 = clock::wall_ns();
                            if let (Some(reply), Ok(t0)) = (req.reply, wire::decode_ping_request(&req.payload)) {
                                let body = wire::encode_ping_reply(t0, t1, clock::wall_ns());
                                let _ = client.publish(reply, Bytes::copy_from_slice(&body)).await;
                                stats.requests.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Some(req) = tables.next() => {
                            if let Some(reply) = req.reply {
                                let _ = client.publish(reply, table.clone()).await;
                                stats.requests.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            };
            let stopped = async {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                tokio::time::sleep(grace).await;
            };
            tokio::select! {
                () = work => {}
                () = stopped => {}
            }
            let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
            Ok(())
        })
    }
}
