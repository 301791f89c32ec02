//! The one pipeline assembly every command uses: sources on feed threads → spread core →
//! sink, with the rings between them, pinning and the idle policy per role, and the
//! collector loop (histograms, progress, stop) on the calling thread.
//!
//! `arb replay` drives it with capture sources; `arb demo` and `arb run` plug in the
//! generator and live connections as [`Source`]s and storage / serving into the sink.
//! [`Layout::Inline`] runs feed, core and sink on one thread, for replays and benchmarks
//! that want the per-event ceiling without thread hand-offs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arb_engine::clock::{self, Stopwatch};
use arb_engine::history::HistoryStore;
use arb_engine::link;
use arb_engine::metrics::{StageCollector, StageHistograms, stage_channel};
use arb_engine::ranking::RankingBoard;
use arb_engine::ring::{
    Doorbell, Envelope, FullPolicy, Idle, Producer, RingBuffer, RingTx, WaitMode,
};
use arb_engine::spread::CoreOut;
use arb_engine::worker::{CoreStats, CoreWorker, TapDrops};
use arb_engine::{CoreConfig, SpreadCore, SymbolRegistry};
use arb_feeds::feed::{FeedStats, FeedWorker};
use arb_feeds::live::LinkStats;
use arb_io::serve::api::Api;
use arb_io::serve::publish::Publisher;
use arb_io::serve::{Server, ServerConfig};
use arb_io::sink::{SinkStats, SinkWorker};
use arb_io::store::{Recovery, StoreConfig, StoreStats, StoreWorker};

use crate::serving;

/// How often hot threads hand their histograms to the collector.
const FLUSH_INTERVAL_NS: i64 = 1_000_000_000;

/// Where frames come from: a capture, the generator, live connections.
pub(crate) trait Source: Send {
    /// Feeds every frame and connection change into `worker` until the source is exhausted
    /// or `stop` is set. Calls `tick` at least every `tick_every` records (the inline
    /// layout pumps the core and the sink there) and should call
    /// [`FeedWorker::maybe_flush`] now and then.
    fn run(
        &mut self,
        worker: &mut FeedWorker,
        stop: &AtomicBool,
        tick_every: u64,
        tick: &mut dyn FnMut(),
    );
}

/// Thread layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One thread per feed, one for the core, one for the sink (live use).
    Threads,
    /// Feed, core and sink on the calling thread's helper, one after the other per batch:
    /// no cross-thread hand-off; shows the per-event ceiling. One source only.
    Inline,
}

/// Everything the pipeline is built from.
pub(crate) struct PipelineSpec {
    pub(crate) registry: Arc<SymbolRegistry>,
    pub(crate) core_config: CoreConfig,
    /// Slots of each feed ring and of the core → sink ring.
    pub(crate) ring_capacity: usize,
    /// Full-ring policy of every ring.
    pub(crate) policy: FullPolicy,
    pub(crate) wait_mode: WaitMode,
    /// Core per thread: feed threads `0..feeds`, then the core, then the sink; missing or
    /// `None` entries are not pinned.
    pub(crate) pins: Vec<Option<core_affinity::CoreId>>,
    pub(crate) layout: Layout,
    /// Serve the HTTP API while running.
    pub(crate) server: Option<ServerConfig>,
    /// Bytes reserved at start-up (reported by the API).
    pub(crate) reserved_bytes: u64,
    /// The Parquet store's root, for the API's history endpoints.
    pub(crate) store_root: Option<std::path::PathBuf>,
    /// Live connections' counters (`arb run`): venue states for the API.
    pub(crate) link_stats: Option<Arc<LinkStats>>,
    /// The engine role's collectors (`arb run --role engine`): their state for the API.
    pub(crate) remote: Option<Arc<arb_io::nats::remote::RemoteSet>>,
}

/// Memory a run reserves at start-up, by part (printed, checked against the budget and
/// reported by the API).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reservation {
    pub(crate) core_bytes: usize,
    pub(crate) ring_bytes: usize,
    pub(crate) histogram_bytes: usize,
}

impl Reservation {
    /// The reservation of a run with `feeds` feed threads.
    pub(crate) fn compute(
        registry: &SymbolRegistry,
        config: &CoreConfig,
        feeds: usize,
        ring_capacity: usize,
        store: bool,
    ) -> Self {
        let threads_with_histograms = feeds + 2;
        Reservation {
            core_bytes: SpreadCore::bytes_for(registry, config),
            ring_bytes: feeds * link::bytes_for(ring_capacity, link::DEFAULT_LANE_CAPACITY)
                + ring_capacity * size_of::<Envelope<CoreOut>>()
                + if store {
                    StoreAttach::ring_bytes(ring_capacity)
                } else {
                    0
                },
            // Per hot thread: its current counts and 3 spares in flight, and the histograms
            // its collector turns them into; plus the run's totals and one interval.
            histogram_bytes: threads_with_histograms * (4 * arb_engine::metrics::HOT_SET_BYTES)
                + (threads_with_histograms + 2) * histogram_set_bytes(),
        }
    }

    /// Everything.
    pub(crate) fn total(&self) -> usize {
        self.core_bytes + self.ring_bytes + self.histogram_bytes
    }

    /// The start-up line: symbols, history series and their sizing, what is reserved by
    /// part, and the budget.
    pub(crate) fn describe(
        &self,
        registry: &SymbolRegistry,
        history: &arb_engine::history::HistoryConfig,
        budget: u64,
    ) -> String {
        use crate::report::mib;
        format!(
            "{} symbols, {} history series ({} buckets x {} ms, {} raw points); reserving {} (core tables+history {}, rings {}, histograms {}); budget {}",
            registry.len(),
            HistoryStore::count_series(registry),
            history.buckets,
            history.bucket_ns / 1_000_000,
            history.raw_points,
            mib(self.total() as u64),
            mib(self.core_bytes as u64),
            mib(self.ring_bytes as u64),
            mib(self.histogram_bytes as u64),
            mib(budget),
        )
    }
}

fn histogram_set_bytes() -> usize {
    // Counts array of one 1 ns .. 60 s, 3-digit histogram: 26 buckets x 1024 sub-buckets x 8 B.
    arb_engine::metrics::STAGES * 26 * 1024 * 8
}

/// The per-role plan from explicit core ids: index i < `feeds` is feed thread i, then the
/// core thread, then the sink; a role left out is not pinned.
///
/// # Errors
/// A core id the machine does not have (the message names the role and the available
/// ids), or a feed-core list whose length is not the number of feed threads.
pub(crate) fn explicit_pins(
    feeds: usize,
    feed_cores: &[usize],
    engine_core: Option<usize>,
    io_core: Option<usize>,
) -> anyhow::Result<Vec<Option<core_affinity::CoreId>>> {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let find = |role: &str, n: usize| -> anyhow::Result<core_affinity::CoreId> {
        ids.iter().copied().find(|c| c.id == n).ok_or_else(|| {
            anyhow::anyhow!(
                "{role} core {n} is not available on this machine (available: {:?})",
                ids.iter().map(|c| c.id).collect::<Vec<_>>()
            )
        })
    };
    anyhow::ensure!(
        feed_cores.is_empty() || feed_cores.len() == feeds,
        "feed cores list {} cores for {} feed threads",
        feed_cores.len(),
        feeds
    );
    let mut plan = Vec::with_capacity(feeds + 2);
    for i in 0..feeds {
        plan.push(feed_cores.get(i).map(|&n| find("feed", n)).transpose()?);
    }
    plan.push(engine_core.map(|n| find("engine", n)).transpose()?);
    plan.push(io_core.map(|n| find("io", n)).transpose()?);
    Ok(plan)
}

/// What the collector publishes for the server each tick.
pub(crate) struct PublishView<'a> {
    pub(crate) registry: &'a Arc<SymbolRegistry>,
    pub(crate) history: &'a Arc<HistoryStore>,
    pub(crate) ranking: &'a Arc<RankingBoard>,
    pub(crate) stale_after_ns: i64,
    pub(crate) core_stats: &'a CoreStats,
    pub(crate) sink_stats: &'a SinkStats,
    pub(crate) feed_stats: &'a [Arc<FeedStats>],
    pub(crate) feed_drops: u64,
    /// Each feed thread's input-ring drop counter, by thread.
    pub(crate) feed_ring_drops: &'a [Arc<AtomicU64>],
    pub(crate) out_drops: u64,
    pub(crate) reserved_bytes: u64,
    pub(crate) store_root: Option<&'a std::path::Path>,
    /// The store's counters and its ring's drops, when the store is on.
    pub(crate) store: Option<(&'a StoreStats, &'a TapDrops)>,
    /// Live connections' counters, in live mode.
    pub(crate) link: Option<&'a LinkStats>,
    /// The engine role's collectors and NATS connection.
    pub(crate) remote: Option<&'a arb_io::nats::remote::RemoteSet>,
}

/// The Parquet store, opened before the run (so its start-up scan can be reported) and
/// attached to the core by its own ring.
pub(crate) struct StoreAttach {
    worker: StoreWorker,
    tx: Producer<Envelope<CoreOut>>,
}

impl StoreAttach {
    /// Opens the store (lock, recovery scan) with a ring of `ring_capacity` slots.
    ///
    /// # Errors
    /// The root cannot be created or written, or another process holds it.
    pub(crate) fn open(
        config: StoreConfig,
        spec: &PipelineSpec,
    ) -> anyhow::Result<(Self, Recovery)> {
        let (tx, rx) = RingBuffer::new(spec.ring_capacity);
        let (worker, recovery) = StoreWorker::open(config, &spec.registry, &spec.core_config, rx)?;
        Ok((StoreAttach { worker, tx }, recovery))
    }

    /// Bytes the store's ring reserves.
    pub(crate) fn ring_bytes(ring_capacity: usize) -> usize {
        ring_capacity * size_of::<Envelope<CoreOut>>()
    }
}

/// What the store did in a run.
pub(crate) struct StoreOutcome {
    pub(crate) stats: Arc<StoreStats>,
    /// Outputs the store's ring dropped (full), by kind.
    pub(crate) ring_drops: Arc<TapDrops>,
}

/// What the collector loop reports every 100 ms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Progress {
    pub(crate) elapsed_s: f64,
    pub(crate) events: u64,
    pub(crate) drops: u64,
}

/// Callbacks of the collector loop (on the calling thread).
pub(crate) struct Hooks<'h> {
    /// Every histogram set a hot thread hands over (e.g. to an interval log).
    pub(crate) histograms: &'h mut dyn FnMut(&StageHistograms),
    /// Every 100 ms; return `true` to stop the sources.
    pub(crate) tick: &'h mut dyn FnMut(&Progress) -> bool,
    /// Once, when the server listens (with its address).
    pub(crate) listening: &'h mut dyn FnMut(std::net::SocketAddr),
}

/// What a finished run leaves.
pub(crate) struct Outcome {
    pub(crate) elapsed_s: f64,
    pub(crate) feed_stats: Vec<Arc<FeedStats>>,
    pub(crate) core_stats: Arc<CoreStats>,
    pub(crate) sink_stats: Arc<SinkStats>,
    pub(crate) feed_drops: u64,
    pub(crate) out_drops: u64,
    pub(crate) totals: StageHistograms,
    pub(crate) core: SpreadCore,
    pub(crate) ranking: Arc<RankingBoard>,
    pub(crate) hash: Option<u64>,
    pub(crate) store: Option<StoreOutcome>,
}

/// Builds the rings and workers, runs every source to its end (or until a hook stops it),
/// drains the core, the sink and the store, and returns the counters, histograms and the
/// core.
///
/// # Errors
/// A thread that cannot be spawned or that panicked; the sink's write error.
pub(crate) fn run(
    spec: &PipelineSpec,
    mut sources: Vec<Box<dyn Source>>,
    configure_sink: impl FnOnce(SinkWorker) -> SinkWorker,
    store: Option<StoreAttach>,
    hooks: Hooks<'_>,
) -> anyhow::Result<Outcome> {
    let feeds = sources.len();
    anyhow::ensure!(feeds >= 1, "no source");
    anyhow::ensure!(
        spec.layout == Layout::Threads || feeds == 1,
        "the inline layout runs one source"
    );
    let core_bell = Doorbell::new();
    let sink_bell = Doorbell::new();
    let mut collectors: Vec<StageCollector> = Vec::new();
    let mut feed_workers = Vec::new();
    let mut inputs = Vec::new();
    let mut drop_counters: Vec<Arc<AtomicU64>> = Vec::new();
    let mut feed_stats = Vec::new();
    for _ in 0..feeds {
        let (tx, rx) = link::channel(
            spec.ring_capacity,
            link::DEFAULT_LANE_CAPACITY,
            spec.policy,
            Arc::clone(&core_bell),
        );
        drop_counters.push(tx.drops());
        let (rec, col) = stage_channel(FLUSH_INTERVAL_NS, 3);
        collectors.push(col);
        let fs = FeedStats::new();
        feed_stats.push(Arc::clone(&fs));
        feed_workers.push(FeedWorker::new(Arc::clone(&spec.registry), tx, rec, fs));
        inputs.push(rx);
    }
    let (out_tx, out_rx) = RingBuffer::new(spec.ring_capacity);
    // Same policy as the feed rings: replaying a file, the core may wait for the sink
    // (nothing is lost); live, it drops and counts.
    let out_tx = RingTx::new(out_tx, spec.policy, Arc::clone(&sink_bell));
    let out_drops = out_tx.drops();
    let (core_rec, core_col) = stage_channel(FLUSH_INTERVAL_NS, 3);
    collectors.push(core_col);
    let core_stats = Arc::new(CoreStats::default());
    let core = SpreadCore::new(&spec.registry, spec.core_config);
    let mut core_worker = CoreWorker::new(core, inputs, out_tx, core_rec, Arc::clone(&core_stats));
    let store_bell = Doorbell::new();
    // The store's ring takes the pipeline's policy: a replay waits for the store (no row
    // lost), live use drops and counts per kind.
    let (store_worker, store_drops) = match store {
        Some(StoreAttach { worker, tx }) => {
            let drops = core_worker.with_tap(RingTx::new(tx, spec.policy, Arc::clone(&store_bell)));
            (Some(worker), Some(drops))
        }
        None => (None, None),
    };
    let store_stats = store_worker.as_ref().map(StoreWorker::stats);
    let ranking = core_worker.ranking();
    let (sink_rec, sink_col) = stage_channel(FLUSH_INTERVAL_NS, 3);
    collectors.push(sink_col);
    let sink_stats = Arc::new(SinkStats::default());
    let sink = configure_sink(SinkWorker::new(out_rx, sink_rec, Arc::clone(&sink_stats)));
    let history = Arc::clone(core_worker.core().history());
    let view = |feed_drops: u64, out_drops: u64| PublishView {
        registry: &spec.registry,
        history: &history,
        ranking: &ranking,
        stale_after_ns: spec.core_config.stale_after_ns,
        core_stats: &core_stats,
        sink_stats: &sink_stats,
        feed_stats: &feed_stats,
        feed_drops,
        feed_ring_drops: &drop_counters,
        out_drops,
        reserved_bytes: spec.reserved_bytes,
        store_root: spec.store_root.as_deref(),
        store: store_stats.as_deref().zip(store_drops.as_deref()),
        link: spec.link_stats.as_deref(),
        remote: spec.remote.as_deref(),
    };
    let live = spec
        .server
        .as_ref()
        .map(|_| serving::live_state(&view(0, 0)));
    // The server gets its own tap ring from the core, always dropping when full: a slow
    // server never holds up the core (drops are counted and shown in /api/health).
    let mut server_drops = None;
    let server = match (&spec.server, &live) {
        (Some(cfg), Some(state)) => {
            let (tx, rx) = RingBuffer::new(spec.ring_capacity);
            server_drops = Some(core_worker.with_tap(RingTx::new(
                tx,
                FullPolicy::DropNewest,
                Doorbell::new(),
            )));
            let publisher =
                Publisher::new(&spec.registry, spec.core_config.stale_after_ns, Some(rx));
            Some(Server::bind_with_feed(
                cfg.clone(),
                Api::new(Arc::clone(state)),
                publisher,
            )?)
        }
        _ => None,
    };
    let server_stats = server.as_ref().map(Server::stats);

    let stop = AtomicBool::new(false);
    let watch = Stopwatch::start();
    let wait_mode = spec.wait_mode;
    let pins = &spec.pins;
    let pin = |i: usize| pins.get(i).copied().flatten();
    let drops_now = || {
        drop_counters
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .sum::<u64>()
            + out_drops.load(Ordering::Relaxed)
    };
    let mut totals = StageHistograms::new();
    let Hooks {
        histograms: on_histograms,
        tick: on_tick,
        listening: on_listening,
    } = hooks;
    if let Some(srv) = &server {
        on_listening(srv.local_addr());
    }
    let server_stop = AtomicBool::new(false);
    let mut rates = serving::Rates::default();
    let (final_core, hash) = std::thread::scope(|scope| -> anyhow::Result<_> {
        let stop = &stop;
        let mut feed_handles = Vec::new();
        let mut store_handle = None;
        let server_handle = match server {
            Some(mut srv) => {
                let server_stop = &server_stop;
                Some(
                    std::thread::Builder::new()
                        .name("io-server".into())
                        .spawn_scoped(scope, move || srv.run(server_stop))?,
                )
            }
            None => None,
        };
        let work: std::thread::ScopedJoinHandle<'_, (SpreadCore, std::io::Result<Option<u64>>)> =
            match spec.layout {
                Layout::Threads => {
                    if let Some(store) = store_worker {
                        let bell = Arc::clone(&store_bell);
                        store_handle = Some(
                            std::thread::Builder::new()
                                .name("io-store".into())
                                .spawn_scoped(scope, move || store_loop(store, &bell))?,
                        );
                    }
                    for (i, (mut worker, mut source)) in
                        feed_workers.into_iter().zip(sources.drain(..)).enumerate()
                    {
                        let p = pin(i);
                        feed_handles.push(
                            std::thread::Builder::new()
                                .name(format!("feed-{i}"))
                                .spawn_scoped(scope, move || {
                                    if let Some(id) = p {
                                        core_affinity::set_for_current(id);
                                    }
                                    tracing::info!(thread = i, "Feed thread started");
                                    source.run(&mut worker, stop, u64::MAX, &mut || {});
                                    worker.finish();
                                    tracing::info!(thread = i, "Feed thread done");
                                })?,
                        );
                    }
                    let core_handle = {
                        let (p, bell) = (pin(feeds), Arc::clone(&core_bell));
                        std::thread::Builder::new()
                            .name("spread-core".into())
                            .spawn_scoped(scope, move || {
                                if let Some(id) = p {
                                    core_affinity::set_for_current(id);
                                }
                                core_loop(core_worker, &bell, wait_mode)
                            })?
                    };
                    let (p, bell) = (pin(feeds + 1), Arc::clone(&sink_bell));
                    // The sink thread joins the core when its ring closes: one handle for the
                    // collector loop to wait on, in both layouts.
                    std::thread::Builder::new()
                        .name("io-sink".into())
                        .spawn_scoped(scope, move || {
                            if let Some(id) = p {
                                core_affinity::set_for_current(id);
                            }
                            let result = sink_loop(sink, &bell, wait_mode);
                            match core_handle.join() {
                                Ok(core) => (core, result),
                                Err(panic) => std::panic::resume_unwind(panic),
                            }
                        })?
                }
                Layout::Inline => {
                    let (mut worker, mut source) = (
                        feed_workers
                            .pop()
                            .expect("Invariant: one feed worker per source"),
                        sources.pop().expect("Invariant: one source"),
                    );
                    let p = pin(0);
                    std::thread::Builder::new()
                        .name("pipeline".into())
                        .spawn_scoped(scope, move || {
                            if let Some(id) = p {
                                core_affinity::set_for_current(id);
                            }
                            run_inline(
                                &mut worker,
                                &mut *source,
                                core_worker,
                                sink,
                                store_worker,
                                stop,
                                spec.ring_capacity,
                            )
                        })?
                }
            };
        loop {
            std::thread::sleep(Duration::from_millis(100));
            for c in &mut collectors {
                c.drain(|h| {
                    totals.add(h);
                    on_histograms(h);
                });
            }
            let progress = Progress {
                elapsed_s: watch.elapsed_s(),
                events: core_stats.events.load(Ordering::Relaxed),
                drops: drops_now(),
            };
            if let Some(state) = &live {
                let v = view(
                    drop_counters
                        .iter()
                        .map(|d| d.load(Ordering::Relaxed))
                        .sum(),
                    out_drops.load(Ordering::Relaxed),
                );
                serving::publish(
                    state,
                    &v,
                    &totals,
                    progress.elapsed_s,
                    &mut rates,
                    server_drops.as_deref(),
                    server_stats.as_deref(),
                );
            }
            if on_tick(&progress) {
                stop.store(true, Ordering::Relaxed);
            }
            if work.is_finished() {
                break;
            }
        }
        for h in feed_handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a feed thread panicked"))?;
        }
        if let Some(h) = store_handle {
            h.join()
                .map_err(|_| anyhow::anyhow!("the store thread panicked"))?;
        }
        server_stop.store(true, Ordering::Relaxed);
        if let Some(h) = server_handle {
            h.join()
                .map_err(|_| anyhow::anyhow!("the server thread panicked"))?
                .map_err(|e| anyhow::anyhow!("server: {e}"))?;
        }
        let (core, hash) = work
            .join()
            .map_err(|_| anyhow::anyhow!("the core or sink thread panicked"))?;
        Ok((core, hash))
    })?;
    let hash = hash.map_err(|e| anyhow::anyhow!("sink: {e}"))?;
    for c in &mut collectors {
        c.drain(|h| {
            totals.add(h);
            on_histograms(h);
        });
    }
    Ok(Outcome {
        elapsed_s: watch.elapsed_s(),
        feed_stats,
        core_stats,
        sink_stats,
        feed_drops: drop_counters
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .sum(),
        out_drops: out_drops.load(Ordering::Relaxed),
        totals,
        core: final_core,
        ranking,
        hash,
        store: store_stats
            .zip(store_drops)
            .map(|(stats, ring_drops)| StoreOutcome { stats, ring_drops }),
    })
}

/// The store thread: drain the store's ring until the core hung up, writing files as they
/// fill or age, then write everything buffered. Not a hot thread: it always sleeps when
/// idle (its doorbell or the park timeout wakes it to roll files on time).
fn store_loop(mut store: StoreWorker, bell: &Doorbell) {
    bell.bind();
    let mut idle = Idle::new(WaitMode::Wait);
    let mut since_roll = 0u32;
    loop {
        let n = store.pump();
        if n > 0 {
            idle.reset();
        } else if store.input_closed() {
            break;
        } else {
            idle.idle(bell, || store.has_input());
        }
        since_roll += 1;
        if since_roll >= 16 {
            since_roll = 0;
            store.maybe_roll();
        }
    }
    store.finish();
    tracing::info!("Store done");
}

/// The core thread: pump the feed rings until every feed hung up and its ring is drained.
fn core_loop(mut core: CoreWorker, bell: &Doorbell, wait_mode: WaitMode) -> SpreadCore {
    bell.bind();
    let mut idle = Idle::new(wait_mode);
    let mut since_flush = 0u32;
    loop {
        let n = core.pump();
        if n > 0 {
            idle.reset();
        } else if core.inputs_closed() {
            break;
        } else {
            idle.idle(bell, || core.has_input());
        }
        since_flush += 1;
        if since_flush >= 64 {
            since_flush = 0;
            core.maybe_flush();
        }
    }
    tracing::info!("Spread core done");
    core.finish(clock::wall_ns())
}

/// The sink thread: drain the core's ring until the core hung up.
fn sink_loop(
    mut sink: SinkWorker,
    bell: &Doorbell,
    wait_mode: WaitMode,
) -> std::io::Result<Option<u64>> {
    bell.bind();
    let mut idle = Idle::new(wait_mode);
    let mut since_flush = 0u32;
    loop {
        let n = sink.pump();
        if n > 0 {
            idle.reset();
        } else if sink.input_closed() {
            break;
        } else {
            idle.idle(bell, || sink.has_input());
        }
        since_flush += 1;
        if since_flush >= 64 {
            since_flush = 0;
            sink.maybe_flush();
        }
    }
    tracing::info!("Sink done");
    sink.finish()
}

/// The inline layout: the source calls back every few records, and the callback drains
/// the feed ring through the core and the core's ring through the sink, so no ring fills
/// and nothing waits for another thread.
fn run_inline(
    worker: &mut FeedWorker,
    source: &mut dyn Source,
    mut core: CoreWorker,
    mut sink: SinkWorker,
    mut store: Option<StoreWorker>,
    stop: &AtomicBool,
    ring_capacity: usize,
) -> (SpreadCore, std::io::Result<Option<u64>>) {
    // A frame carries at most 1 024 events (Bybit's trade batches) and an event at most 8
    // outputs: ticking every `ring_capacity / 8192` records keeps both rings from filling.
    let tick_every = (ring_capacity as u64 / 8192).max(1);
    let mut since_flush = 0u32;
    let mut drain =
        |core: &mut CoreWorker, sink: &mut SinkWorker, store: &mut Option<StoreWorker>| {
            while core.pump() > 0 {
                while sink.pump() > 0 {}
                if let Some(st) = store.as_mut() {
                    while st.pump() > 0 {}
                }
            }
            since_flush += 1;
            if since_flush >= 256 {
                since_flush = 0;
                core.maybe_flush();
                sink.maybe_flush();
                if let Some(st) = store.as_mut() {
                    st.maybe_roll();
                }
            }
        };
    tracing::info!("Inline pipeline started");
    source.run(worker, stop, tick_every, &mut || {
        drain(&mut core, &mut sink, &mut store)
    });
    worker.finish();
    drain(&mut core, &mut sink, &mut store);
    let core = core.finish(clock::wall_ns());
    while sink.pump() > 0 {}
    if let Some(mut st) = store {
        while st.pump() > 0 {}
        st.finish();
    }
    tracing::info!("Inline pipeline done");
    (core, sink.finish())
}
