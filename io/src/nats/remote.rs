//! The engine role's receiver: subscribes to each collector, decodes its batches, maps
//! symbols and clocks onto the engine's, applies the staleness limit and the venue-state
//! rules, and pushes the events into the core's ring from a feed thread's place.
//!
//! Per collector it keeps:
//! - the symbol-id map of the collector's table (fetched at start-up, and again when a
//!   batch names another epoch; until then that collector's batches are counted, not
//!   applied);
//! - a clock estimate from pings every [`RemoteConfig::ping_interval`] (NTP-style; the
//!   sample with the smallest round trip of the last eight wins): collector receive times
//!   are moved onto the engine's clock by the offset;
//! - the connections the core believes up per venue. A data batch's state events update
//!   it; each heartbeat's snapshot reconciles it (a lost `Disconnected` is repaired at the
//!   next heartbeat); no heartbeat for [`RemoteConfig::heartbeat_timeout_ns`] marks the
//!   collector down and sends `Disconnected` for every connection of its venues at once,
//!   so the core retires their quotes and opens gap records, which close when the
//!   heartbeats (and the connections) come back.
//!
//! A venue belongs to the first collector (in `--collectors` order) whose table lists it;
//! another collector's batches for it are counted and dropped. Quotes older than the
//! staleness limit on arrival (collector receive → engine receive, after the offset) are
//! dropped and counted. Everything runs on one current-thread runtime on this thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use arb_engine::clock;
use arb_engine::event::{ConnState, Event, MAX_CONNS_PER_VENUE, VenueState};
use arb_engine::wire::{self, BatchKind, Record, VenueSnapshot};
use arb_engine::{Exchange, SymbolId, SymbolRegistry};
use arb_feeds::feed::FeedWorker;
use arb_feeds::live::{LinkState, LinkStats};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::select_all;
use hdrhistogram::Histogram;
use tokio::sync::mpsc;

use super::table::SymbolTable;
use super::{NatsConfig, NatsError, NatsLinkStats};

/// Settings of the engine role's receiver.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// Collectors to subscribe to, in ownership order.
    pub collectors: Vec<String>,
    /// No heartbeat for this long marks a collector down, ns.
    pub heartbeat_timeout_ns: i64,
    /// Quotes older than this on arrival are dropped, ns (the core's staleness limit).
    pub stale_after_ns: i64,
    /// Clock pings per collector, this often.
    pub ping_interval: Duration,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        RemoteConfig {
            collectors: Vec::new(),
            heartbeat_timeout_ns: 1_000_000_000,
            stale_after_ns: 5_000_000_000,
            ping_interval: Duration::from_secs(1),
        }
    }
}

/// One collector as the engine sees it (relaxed atomics, one writer: the receiver).
#[derive(Debug, Default)]
pub struct RemoteCollector {
    /// Its name.
    pub name: String,
    /// Heartbeats arriving within the timeout.
    pub up: AtomicBool,
    /// Venues it owns here (bit per `Exchange` index).
    pub venues: AtomicU64,
    /// Its table's epoch (0 before one arrived).
    pub epoch: AtomicU64,
    /// Data batches applied.
    pub batches: AtomicU64,
    /// Payload bytes received (data and heartbeats).
    pub bytes: AtomicU64,
    /// Quotes and trades pushed to the core.
    pub events: AtomicU64,
    /// Batches missing by sequence number (lost in NATS or dropped by the collector).
    pub lost_batches: AtomicU64,
    /// Quotes older than the staleness limit on arrival, dropped.
    pub stale_quotes: AtomicU64,
    /// Events whose symbol the engine does not watch, or that came before the table.
    pub unmapped: AtomicU64,
    /// Batches for a venue another collector owns, dropped.
    pub foreign: AtomicU64,
    /// Messages that did not decode.
    pub decode_errors: AtomicU64,
    /// Heartbeats received.
    pub heartbeats: AtomicU64,
    /// Times the collector was marked down for missing heartbeats.
    pub timeouts: AtomicU64,
    /// Connection states repaired from a heartbeat's snapshot.
    pub reconciled: AtomicU64,
    /// Wall time of the last heartbeat, ns.
    pub last_heartbeat_wall_ns: AtomicI64,
    /// Collector clock minus engine clock, ns (best of the recent pings).
    pub clock_offset_ns: AtomicI64,
    /// One-way delay estimate from the pings, ns.
    pub one_way_delay_ns: AtomicI64,
    /// Round trip of the best recent ping, ns.
    pub rtt_ns: AtomicI64,
    /// Pings answered.
    pub pings: AtomicU64,
    /// Arrival age of quotes (collector receive → engine receive), ns: p50.
    pub age_p50_ns: AtomicI64,
    /// p99.
    pub age_p99_ns: AtomicI64,
    /// p99.9.
    pub age_p999_ns: AtomicI64,
    /// Samples of the quantiles.
    pub age_samples: AtomicU64,
}

/// Every collector and the NATS connection, shared with the API.
#[derive(Debug, Default)]
pub struct RemoteSet {
    /// The NATS connection.
    pub nats: Arc<NatsLinkStats>,
    /// In `--collectors` order.
    pub collectors: Vec<RemoteCollector>,
}

/// A connected receiver before the engine's registry exists.
#[derive(Debug)]
pub struct RemoteConnect {
    rt: tokio::runtime::Runtime,
    client: async_nats::Client,
    config: RemoteConfig,
    set: Arc<RemoteSet>,
    tables: Vec<Option<SymbolTable>>,
}

impl RemoteConnect {
    /// Connects and asks every collector for its table, retrying each second for up to
    /// `wait` (or until all answered). `progress` hears one line per answer and per
    /// silent collector at the end.
    ///
    /// # Errors
    /// No runtime, a bad collector name, or no connection to any NATS server.
    pub fn connect(
        config: RemoteConfig,
        nats: &NatsConfig,
        wait: Duration,
        mut progress: impl FnMut(&str),
    ) -> Result<Self, NatsError> {
        for c in &config.collectors {
            super::validate_name(c)?;
        }
        let rt = super::runtime()?;
        let set = Arc::new(RemoteSet {
            nats: Arc::new(NatsLinkStats::default()),
            collectors: config
                .collectors
                .iter()
                .map(|c| RemoteCollector {
                    name: c.clone(),
                    ..RemoteCollector::default()
                })
                .collect(),
        });
        let client = rt.block_on(super::connect(nats, &set.nats, false))?;
        let mut tables: Vec<Option<SymbolTable>> = vec![None; config.collectors.len()];
        let watch = clock::Stopwatch::start();
        loop {
            for (i, c) in config.collectors.iter().enumerate() {
                if tables[i].is_some() {
                    continue;
                }
                match rt.block_on(fetch_table(&client, c)) {
                    Ok(t) => {
                        progress(&format!(
                            "collector {c}: {} symbols on {} (epoch {})",
                            t.symbols.len(),
                            t.venues.join(", "),
                            t.epoch
                        ));
                        tables[i] = Some(t);
                    }
                    Err(e) if e.starts_with("bad") => progress(&format!("collector {c}: {e}")),
                    Err(_) => {}
                }
            }
            if tables.iter().all(Option::is_some) || watch.elapsed_s() >= wait.as_secs_f64() {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        for (i, c) in config.collectors.iter().enumerate() {
            if tables[i].is_none() {
                progress(&format!(
                    "collector {c}: no answer within {:.0} s; its venues join when it answers (symbols it alone lists are not watched)",
                    wait.as_secs_f64()
                ));
            }
        }
        Ok(RemoteConnect {
            rt,
            client,
            config,
            set,
            tables,
        })
    }

    /// The tables that arrived, for the engine's registry.
    pub fn tables(&self) -> Vec<SymbolTable> {
        self.tables.iter().flatten().cloned().collect()
    }

    /// The shared counters (for the API, before the receiver starts).
    pub fn stats(&self) -> Arc<RemoteSet> {
        Arc::clone(&self.set)
    }

    /// Becomes the receiver feeding a core built on `registry`; venue states go to `link`.
    pub fn into_receiver(self, registry: Arc<SymbolRegistry>, link: Arc<LinkStats>) -> Receiver {
        let n = self.config.collectors.len();
        let mut owner = [None; Exchange::COUNT];
        for t in self.tables.iter().flatten() {
            let i = self
                .config
                .collectors
                .iter()
                .position(|c| *c == t.collector)
                .unwrap_or(0);
            for ex in t.exchanges() {
                owner[ex.index()].get_or_insert(i);
            }
        }
        let remotes = (0..n)
            .map(|i| {
                let table = self.tables[i].clone();
                let map = table
                    .as_ref()
                    .map(|t| t.id_map(&registry))
                    .unwrap_or_default();
                Remote {
                    epoch: table.as_ref().map(|t| t.epoch),
                    map,
                    fetching: false,
                    last_hb_mono_ns: 0,
                    up: false,
                    belief: std::array::from_fn(|v| VenueSnapshot {
                        venue: Exchange::ALL[v],
                        conns_up: 0,
                        up: [0; 32],
                    }),
                    max_conns: [0; Exchange::COUNT],
                    seqs: [0; Exchange::COUNT + 1],
                    samples: Vec::with_capacity(8),
                    offset_ns: 0,
                    ages: Histogram::new_with_bounds(1_000, 600_000_000_000, 3)
                        .expect("Invariant: constant histogram bounds are valid"),
                }
            })
            .collect();
        for (i, c) in self.set.collectors.iter().enumerate() {
            let bits = (0..Exchange::COUNT)
                .filter(|&v| owner[v] == Some(i))
                .fold(0u64, |b, v| b | 1 << v);
            c.venues.store(bits, Ordering::Relaxed);
            if let Some(t) = &self.tables[i] {
                c.epoch.store(u64::from(t.epoch), Ordering::Relaxed);
            }
        }
        Receiver {
            rt: Some(self.rt),
            client: self.client,
            config: self.config,
            set: self.set,
            registry,
            link,
            remotes,
            owner,
            scratch: Vec::with_capacity(usize::from(u16::MAX)),
        }
    }
}

/// Requests a collector's table (2 s timeout). `Err("bad ...")` for an answer that is not
/// a table; other errors mean no answer.
async fn fetch_table(client: &async_nats::Client, collector: &str) -> Result<SymbolTable, String> {
    let req = client.request(super::symbols_subject(collector), Bytes::new());
    match tokio::time::timeout(Duration::from_secs(2), req).await {
        Ok(Ok(msg)) => {
            SymbolTable::parse(&msg.payload).map_err(|e| format!("bad symbol table: {e}"))
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timeout".into()),
    }
}

/// What the engine tracks per collector.
#[derive(Debug)]
struct Remote {
    epoch: Option<u32>,
    /// Collector id → engine id.
    map: Vec<Option<SymbolId>>,
    fetching: bool,
    last_hb_mono_ns: i64,
    up: bool,
    /// Connections the core was told are up, per venue.
    belief: [VenueSnapshot; Exchange::COUNT],
    /// Most connections seen up at once, per venue (the API's "total").
    max_conns: [u64; Exchange::COUNT],
    /// Last sequence number per venue subject, then the heartbeat subject.
    seqs: [u64; Exchange::COUNT + 1],
    samples: Vec<wire::ClockSample>,
    offset_ns: i64,
    ages: Histogram<u64>,
}

/// Replies from the helper tasks (tables, pings) to the receiver loop.
#[derive(Debug)]
enum Ctl {
    Table(usize, Result<SymbolTable, String>),
    Clock(usize, wire::ClockSample),
}

/// The engine role's receiver, run on a feed thread.
#[derive(Debug)]
pub struct Receiver {
    /// Taken by [`Receiver::run`].
    rt: Option<tokio::runtime::Runtime>,
    client: async_nats::Client,
    config: RemoteConfig,
    set: Arc<RemoteSet>,
    registry: Arc<SymbolRegistry>,
    link: Arc<LinkStats>,
    remotes: Vec<Remote>,
    owner: [Option<usize>; Exchange::COUNT],
    /// Events of the batch being applied; capacity kept.
    scratch: Vec<Event>,
}

impl Receiver {
    /// The shared counters.
    pub fn stats(&self) -> Arc<RemoteSet> {
        Arc::clone(&self.set)
    }

    /// Receives until `stop` is set.
    ///
    /// # Errors
    /// A subscription could not be made.
    pub fn run(mut self, worker: &mut FeedWorker, stop: &AtomicBool) -> Result<(), NatsError> {
        let rt = match self.rt.take() {
            Some(rt) => rt,
            None => super::runtime()?,
        };
        // At the end nothing is marked down: the core closes its open gaps itself, and a
        // stopping engine is not a collector outage.
        rt.block_on(self.serve(worker, stop))
    }

    async fn serve(&mut self, worker: &mut FeedWorker, stop: &AtomicBool) -> Result<(), NatsError> {
        let mut subs = Vec::new();
        for (i, c) in self.config.collectors.iter().enumerate() {
            let subject = format!("{}.>", super::subject_prefix(c));
            let sub =
                self.client
                    .subscribe(subject.clone())
                    .await
                    .map_err(|e| NatsError::Subscribe {
                        subject,
                        error: e.to_string(),
                    })?;
            subs.push(sub.map(move |m| (i, m)));
        }
        let mut messages = select_all(subs);
        let (ctl_tx, mut ctl_rx) = mpsc::channel::<Ctl>(64);
        for (i, c) in self.config.collectors.iter().enumerate() {
            tokio::spawn(pinger(
                self.client.clone(),
                super::ping_subject(c),
                i,
                self.config.ping_interval,
                ctl_tx.clone(),
            ));
        }
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut next_publish = 0i64;
        while !stop.load(Ordering::Relaxed) {
            tokio::select! {
                Some((i, msg)) = messages.next() => {
                    self.on_message(i, &msg.subject, &msg.payload, worker, &ctl_tx);
                }
                Some(ctl) = ctl_rx.recv() => self.on_ctl(ctl),
                _ = tick.tick() => {
                    let (mono, wall) = (clock::mono_ns(), clock::wall_ns());
                    for i in 0..self.remotes.len() {
                        let r = &self.remotes[i];
                        if r.up && mono - r.last_hb_mono_ns > self.config.heartbeat_timeout_ns {
                            self.set.collectors[i].timeouts.fetch_add(1, Ordering::Relaxed);
                            self.mark_down(i, worker, wall);
                        }
                    }
                    worker.maybe_flush(mono, wall);
                    if mono >= next_publish {
                        next_publish = mono + 1_000_000_000;
                        self.publish_quantiles();
                    }
                }
            }
        }
        self.publish_quantiles();
        Ok(())
    }

    fn on_ctl(&mut self, ctl: Ctl) {
        match ctl {
            Ctl::Table(i, result) => {
                let r = &mut self.remotes[i];
                r.fetching = false;
                let Ok(table) = result else {
                    return;
                };
                r.map = table.id_map(&self.registry);
                r.epoch = Some(table.epoch);
                self.set.collectors[i]
                    .epoch
                    .store(u64::from(table.epoch), Ordering::Relaxed);
                let mut bits = self.set.collectors[i].venues.load(Ordering::Relaxed);
                for ex in table.exchanges() {
                    if self.owner[ex.index()].is_none() {
                        self.owner[ex.index()] = Some(i);
                        bits |= 1 << ex.index();
                    }
                }
                self.set.collectors[i].venues.store(bits, Ordering::Relaxed);
            }
            Ctl::Clock(i, sample) => {
                let r = &mut self.remotes[i];
                if r.samples.len() == 8 {
                    r.samples.remove(0);
                }
                r.samples.push(sample);
                let best = r
                    .samples
                    .iter()
                    .min_by_key(|s| s.rtt_ns)
                    .copied()
                    .unwrap_or(sample);
                r.offset_ns = best.offset_ns;
                let c = &self.set.collectors[i];
                c.clock_offset_ns.store(best.offset_ns, Ordering::Relaxed);
                c.one_way_delay_ns.store(best.delay_ns, Ordering::Relaxed);
                c.rtt_ns.store(best.rtt_ns, Ordering::Relaxed);
                c.pings.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Applies one message of collector `i`.
    fn on_message(
        &mut self,
        i: usize,
        subject: &str,
        payload: &[u8],
        worker: &mut FeedWorker,
        ctl: &mpsc::Sender<Ctl>,
    ) {
        // The wildcard subscription also sees the request subjects (ours and others').
        if subject.ends_with(".ping") || subject.ends_with(".symbols") {
            return;
        }
        let stats = &self.set.collectors[i];
        // Relaxed: statistics.
        stats
            .bytes
            .fetch_add(payload.len() as u64, Ordering::Relaxed);
        let Ok((header, records)) = wire::decode(payload) else {
            stats.decode_errors.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let (mono, wall) = (clock::mono_ns(), clock::wall_ns());
        let seq_slot = match (header.kind, header.venue) {
            (BatchKind::Data, Some(v)) => v.index(),
            _ => Exchange::COUNT,
        };
        let r = &mut self.remotes[i];
        let last = r.seqs[seq_slot];
        if last != 0 && header.seq > last + 1 {
            stats
                .lost_batches
                .fetch_add(header.seq - last - 1, Ordering::Relaxed);
        }
        // A lower number is a restarted collector: count from it.
        r.seqs[seq_slot] = header.seq;
        if r.epoch != Some(header.table_epoch) {
            stats
                .unmapped
                .fetch_add(u64::from(header.count), Ordering::Relaxed);
            if !r.fetching {
                r.fetching = true;
                let (client, name, tx) = (
                    self.client.clone(),
                    self.config.collectors[i].clone(),
                    ctl.clone(),
                );
                tokio::spawn(async move {
                    let t = fetch_table(&client, &name).await;
                    let _ = tx.send(Ctl::Table(i, t)).await;
                });
            }
            return;
        }
        match header.kind {
            BatchKind::Heartbeat => {
                stats.heartbeats.fetch_add(1, Ordering::Relaxed);
                stats.last_heartbeat_wall_ns.store(wall, Ordering::Relaxed);
                r.last_hb_mono_ns = mono;
                if !r.up {
                    r.up = true;
                    stats.up.store(true, Ordering::Relaxed);
                }
                self.scratch.clear();
                for rec in records {
                    if let Record::Snapshot(s) = rec
                        && self.owner[s.venue.index()] == Some(i)
                    {
                        self.reconcile(i, &s, wall);
                    }
                }
                worker.push_events(&self.scratch);
            }
            BatchKind::Data => {
                let Some(venue) = header.venue else {
                    return;
                };
                if self.owner[venue.index()] != Some(i) {
                    stats.foreign.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                stats.batches.fetch_add(1, Ordering::Relaxed);
                self.scratch.clear();
                let (mut unmapped, mut stale) = (0u64, 0u64);
                let offset = r.offset_ns;
                let map = |s: SymbolId| r.map.get(s.index()).copied().flatten();
                for rec in records {
                    let Record::Event(mut event) = rec else {
                        continue;
                    };
                    match &mut event {
                        Event::Quote(q) => {
                            let Some(id) = map(q.symbol) else {
                                unmapped += 1;
                                continue;
                            };
                            q.symbol = id;
                            q.recv_ts_ns = q.recv_ts_ns.saturating_sub(offset);
                            let age = wall.saturating_sub(q.recv_ts_ns);
                            r.ages.saturating_record(age.max(0) as u64);
                            if age > self.config.stale_after_ns {
                                stale += 1;
                                continue;
                            }
                        }
                        Event::Trade(t) => {
                            let Some(id) = map(t.symbol) else {
                                unmapped += 1;
                                continue;
                            };
                            t.symbol = id;
                            t.recv_ts_ns = t.recv_ts_ns.saturating_sub(offset);
                        }
                        Event::Venue(v) => {
                            v.ts_ns = v.ts_ns.saturating_sub(offset);
                            let up = v.state != ConnState::Disconnected;
                            r.belief[venue.index()].set_up(v.conn_id, up);
                        }
                    }
                    self.scratch.push(event);
                }
                let pushed = worker.push_events(&self.scratch);
                stats.events.fetch_add(pushed as u64, Ordering::Relaxed);
                stats.unmapped.fetch_add(unmapped, Ordering::Relaxed);
                stats.stale_quotes.fetch_add(stale, Ordering::Relaxed);
                let l = self.link.venue(venue);
                l.frames.fetch_add(1, Ordering::Relaxed);
                l.last_frame_wall_ns.store(wall, Ordering::Relaxed);
                self.update_link(i, venue);
            }
        }
    }

    /// Brings the core's view of `snap.venue`'s connections in line with a heartbeat.
    fn reconcile(&mut self, i: usize, snap: &VenueSnapshot, wall: i64) {
        let r = &mut self.remotes[i];
        let v = snap.venue.index();
        let mut repaired = 0u64;
        for conn in 0..MAX_CONNS_PER_VENUE as u16 {
            let (was, is) = (r.belief[v].is_up(conn), snap.is_up(conn));
            if was == is {
                continue;
            }
            r.belief[v].set_up(conn, is);
            repaired += 1;
            self.scratch.push(Event::Venue(VenueState {
                exchange: snap.venue,
                conn_id: conn,
                state: if is {
                    ConnState::Connected
                } else {
                    ConnState::Disconnected
                },
                ts_ns: wall,
            }));
        }
        self.set.collectors[i]
            .reconciled
            .fetch_add(repaired, Ordering::Relaxed);
        self.update_link(i, snap.venue);
    }

    /// Publishes a venue's connection counts and state from the belief.
    fn update_link(&mut self, i: usize, venue: Exchange) {
        let r = &mut self.remotes[i];
        let v = venue.index();
        let up: u64 = r.belief[v]
            .up
            .iter()
            .map(|b| u64::from(b.count_ones()))
            .sum();
        r.max_conns[v] = r.max_conns[v].max(up);
        let l = self.link.venue(venue);
        l.conns.store(r.max_conns[v], Ordering::Relaxed);
        let before = l.conns_up.swap(up, Ordering::Relaxed);
        if before > up && r.up {
            l.reconnects.fetch_add(before - up, Ordering::Relaxed);
        }
        l.set_state(if up == 0 {
            LinkState::Down
        } else if up < r.max_conns[v] {
            LinkState::Degraded
        } else {
            LinkState::Connected
        });
    }

    /// Collector `i` went silent: every connection of its venues is down, at once.
    fn mark_down(&mut self, i: usize, worker: &mut FeedWorker, wall: i64) {
        self.remotes[i].up = false;
        self.set.collectors[i].up.store(false, Ordering::Relaxed);
        self.scratch.clear();
        for v in 0..Exchange::COUNT {
            if self.owner[v] != Some(i) {
                continue;
            }
            let venue = Exchange::ALL[v];
            let empty = VenueSnapshot {
                venue,
                conns_up: 0,
                up: [0; 32],
            };
            self.reconcile(i, &empty, wall);
            let l = self.link.venue(venue);
            l.heartbeat_timeouts.fetch_add(1, Ordering::Relaxed);
        }
        worker.push_events(&self.scratch);
    }

    fn publish_quantiles(&self) {
        for (r, c) in self.remotes.iter().zip(&self.set.collectors) {
            let h = &r.ages;
            if h.is_empty() {
                continue;
            }
            let q = |p: f64| i64::try_from(h.value_at_quantile(p)).unwrap_or(i64::MAX);
            c.age_p50_ns.store(q(0.5), Ordering::Relaxed);
            c.age_p99_ns.store(q(0.99), Ordering::Relaxed);
            c.age_p999_ns.store(q(0.999), Ordering::Relaxed);
            c.age_samples.store(h.len(), Ordering::Relaxed);
        }
    }
}

/// Pings one collector every `every`; each answer becomes a clock sample.
async fn pinger(
    client: async_nats::Client,
    subject: String,
    i: usize,
    every: Duration,
    tx: mpsc::Sender<Ctl>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let t0 = clock::wall_ns();
        let req = client.request(subject.clone(), Bytes::copy_from_slice(&t0.to_le_bytes()));
        let Ok(Ok(msg)) = tokio::time::timeout(every, req).await else {
            continue;
        };
        let t3 = clock::wall_ns();
        if let Ok(reply) = wire::decode_ping_reply(&msg.payload)
            && reply.t0 == t0
            && tx.send(Ctl::Clock(i, reply.estimate(t3))).await.is_err()
        {
            return;
        }
    }
}
