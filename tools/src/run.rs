//! `arb run`: live mode. Symbol discovery over REST, WebSocket connections to the venues
//! on the feed threads, the spread core, the Parquet store and the dashboard; a status line
//! every 10 s; graceful shutdown on SIGTERM / SIGINT within a bound.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arb_engine::history::HistoryConfig;
use arb_engine::live_pairs::LivePairs;
use arb_engine::ring::{FullPolicy, WaitMode};
use arb_engine::{CoreConfig, Exchange, SymbolRegistry, clock};
use arb_feeds::discover::{self, Filter, Rest, RestConfig, RetryPolicy};
use arb_feeds::feed::FeedWorker;
use arb_feeds::live::{Endpoint, EndpointFn, LinkStats, LiveFeed, VenuePlan};
use arb_io::serve::ServerConfig;
use arb_io::store::StoreConfig;

use crate::config::{Config, EXAMPLE, Venue};
use crate::pipeline::{self, Hooks, Layout, PipelineSpec, Reservation, Source, StoreAttach};
use crate::report;
use crate::shutdown::Shutdown;
use crate::store_opts;

/// Writes a line to stderr, ignoring a closed or broken stderr: a collector started by a
/// supervisor that went away must keep running (and stop cleanly on SIGTERM), not panic in
/// its status line.
#[macro_export]
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// Arguments of `arb run`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Live mode: discovers each venue's symbols over REST, keeps those quoted in the configured \
assets and listed on at least `min_venues` venues, connects to every venue's WebSocket \
(sharded, heartbeats, reconnects with backoff inside each venue's connection budget), \
and serves the dashboard. Every setting lives in arb.toml (see --print-default-config); \
the flags below override it.

Stop with Ctrl-C or SIGTERM: connections close and the store flushes every file within \
[run] shutdown_timeout_s; a second signal exits at once.

Examples:
  arb run                                     # real venues, defaults, http://127.0.0.1:8181/
  arb run --config arb.toml --venues binance,okx
  arb mock-exchange --print-config > mock.toml & arb run --config mock.toml   # offline

Scale-out over NATS (see the README): collectors near the venues, one engine.
  arb run --role collector --name tokyo --nats nats://hub:4222 --venues binance,okx
  arb run --role collector --name sg --nats nats://hub:4222 --venues bybit,gateio
  arb run --role engine --nats nats://hub:4222 --collectors tokyo,sg")]
pub(crate) struct RunArgs {
    /// Settings file (TOML); without it every setting takes its default.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Print the commented default arb.toml and exit.
    #[arg(long)]
    pub(crate) print_default_config: bool,
    /// Dashboard and API address (overrides [run] listen).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// Parquet store root (overrides [run] data).
    #[arg(long, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,
    /// Keep nothing on disk.
    #[arg(long)]
    pub(crate) no_store: bool,
    /// Only these venues (comma-separated), whatever the config enables.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub(crate) venues: Vec<Exchange>,
    /// Also record every raw frame and connection change to this capture file
    /// (replayable with `arb replay`). Runs every venue on one feed thread.
    #[arg(long, value_name = "FILE")]
    pub(crate) capture: Option<PathBuf>,
    /// Stop after this many seconds (default: run until a signal).
    #[arg(long, value_name = "SECS")]
    pub(crate) duration: Option<f64>,
    /// Store files close after this many seconds (the most a crash can lose).
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub(crate) store_file_secs: f64,
    /// What this process does: `all` (venues, core, store and dashboard in one process),
    /// `collector` (discovery and feeds only, publishing to NATS) or `engine` (core, store
    /// and dashboard fed by collectors over NATS).
    #[arg(long, value_enum, default_value_t = Role::All)]
    pub(crate) role: Role,
    /// NATS servers, comma-separated (overrides `[nats] servers`).
    #[arg(long, value_delimiter = ',', value_name = "URLS")]
    pub(crate) nats: Vec<String>,
    /// This collector's name, the subject token of its data (overrides `[nats] name`).
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Collectors an engine subscribes to, comma-separated, in venue-ownership order
    /// (overrides `[nats] collectors`).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub(crate) collectors: Vec<String>,
    #[command(flatten)]
    pins: crate::pins::PinArgs,
    /// No status lines on stderr (errors and warnings still show).
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// The part a process plays in a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Role {
    /// Feeds, core, store and server in one process.
    All,
    /// Feeds only, publishing to NATS.
    Collector,
    /// Core, store and server fed from NATS.
    Engine,
}

impl Role {
    /// The status lines' tag: `""`, `" (collector)"`, `" (engine)"`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::All => "",
            Role::Collector => " (collector)",
            Role::Engine => " (engine)",
        }
    }
}

/// One feed thread's connections as a pipeline source.
struct LiveSource {
    feed: LiveFeed,
}

impl Source for LiveSource {
    fn run(
        &mut self,
        worker: &mut FeedWorker,
        stop: &AtomicBool,
        _tick_every: u64,
        _tick: &mut dyn FnMut(),
    ) {
        self.feed.run(worker, stop);
    }
}

pub(crate) fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    if args.print_default_config {
        print!("{EXAMPLE}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut cfg = Config::load(args.config.as_deref())?;
    if let Some(l) = args.listen {
        cfg.run.listen = l;
    }
    if let Some(d) = &args.data {
        cfg.run.data.clone_from(d);
    }
    if !args.nats.is_empty() {
        cfg.nats.servers.clone_from(&args.nats);
    }
    if let Some(n) = &args.name {
        arb_io::nats::validate_name(n)?;
        cfg.nats.name.clone_from(n);
    }
    if !args.collectors.is_empty() {
        for n in &args.collectors {
            arb_io::nats::validate_name(n)?;
        }
        cfg.nats.collectors.clone_from(&args.collectors);
    }
    args.pins.apply(&mut cfg.run);
    // Cores first: a pin to a core the machine lacks fails before any network work.
    crate::pipeline::explicit_pins(
        cfg.run.feed_cores.len(),
        &cfg.run.feed_cores,
        cfg.run.engine_core,
        cfg.run.io_core,
    )?;
    match args.role {
        Role::All => run_all(args, &cfg),
        Role::Collector => crate::collector::run(args, &cfg),
        Role::Engine => crate::engine_role::run(args, &cfg),
    }
}

/// Discovery and the live connections of the enabled venues, not yet running.
pub(crate) struct Feeds {
    pub(crate) venues: Vec<Venue>,
    pub(crate) rest: Arc<Rest>,
    pub(crate) filter: Filter,
    pub(crate) selection: discover::Selection,
    pub(crate) registry: Arc<SymbolRegistry>,
    pub(crate) link_stats: Arc<LinkStats>,
    /// One per feed thread.
    pub(crate) feeds: Vec<LiveFeed>,
    /// Feed thread, engine and I/O pins.
    pub(crate) pins: Vec<Option<core_affinity::CoreId>>,
}

/// Discovers the enabled venues' symbols (keeping those on at least `min_venues` of
/// them) and prepares one live feed per feed thread.
pub(crate) fn start_feeds(
    args: &RunArgs,
    cfg: &Config,
    min_venues: usize,
) -> anyhow::Result<Feeds> {
    let role = args.role.as_str();
    let mut venues = cfg.venues();
    if !args.venues.is_empty() {
        for v in &mut venues {
            v.enabled = args.venues.contains(&v.exchange);
        }
    }
    venues.retain(|v| v.enabled);
    anyhow::ensure!(!venues.is_empty(), "no venue is enabled");

    let tls = arb_feeds::tls::client_config(&cfg.tls.extra_root_certs)?;
    let rest = Arc::new(Rest::new(&RestConfig {
        extra_root_certs: cfg.tls.extra_root_certs.clone(),
        connect_timeout: Duration::from_millis(cfg.discovery.timeout_ms),
        read_timeout: Duration::from_millis(cfg.discovery.timeout_ms),
        retry: RetryPolicy {
            attempts: cfg.discovery.attempts,
            ..RetryPolicy::default()
        },
        ..RestConfig::default()
    })?);

    // Discovery: every venue at once, each on its own short-lived thread.
    say!(
        "arb run{role}: discovering symbols on {} venues ({}) ...",
        venues.len(),
        venues
            .iter()
            .map(|v| v.exchange.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let watch = clock::Stopwatch::start();
    let targets: Vec<(Exchange, &str)> = venues
        .iter()
        .map(|v| (v.exchange, v.rest_url.as_str()))
        .collect();
    let found = discover::fetch_all(&rest, &targets);
    for (ex, e) in &found.failed {
        say!(
            "arb run{role}: warning: {}: discovery failed, venue left out: {e}",
            ex.as_str()
        );
    }
    let filter = Filter {
        quote_assets: cfg.discovery.quote_assets.clone(),
        min_venues,
        min_quote_volume: volumes(&venues, |v| v.min_quote_volume),
        max_quote_volume: volumes(&venues, |v| v.max_quote_volume),
        max_symbols: (cfg.discovery.max_symbols > 0).then_some(cfg.discovery.max_symbols),
    };
    anyhow::ensure!(
        !found.venues.is_empty(),
        "symbol discovery failed on every venue (see the warnings above): no network, or \
         wrong rest_url settings?"
    );
    let selection = discover::select(&found.venues, &filter);
    say!(
        "arb run{role}: {} ({:.1} s)",
        selection.report,
        watch.elapsed_s()
    );
    anyhow::ensure!(
        !selection.registry.is_empty(),
        "no symbol is quoted in {} and listed on at least {} of the venues that answered: \
         nothing to watch (check [discovery] and the venues' REST URLs)",
        cfg.discovery.quote_assets.join("/"),
        min_venues
    );
    let registry = Arc::new(selection.registry.clone());
    let feed_threads = if args.capture.is_some() {
        1
    } else {
        cfg.run.feed_threads.min(venues.len())
    };

    // Connections: venues dealt round-robin over the feed threads.
    let link_stats = LinkStats::new();
    let mut per_thread: Vec<Vec<VenuePlan>> = (0..feed_threads).map(|_| Vec::new()).collect();
    for (i, v) in venues.iter().enumerate() {
        let natives = selection.natives[v.exchange.index()].clone();
        if natives.is_empty() {
            continue;
        }
        let endpoint = (v.exchange == Exchange::Kucoin).then(|| kucoin_endpoint(&rest, v));
        per_thread[i % feed_threads].push(VenuePlan {
            rules: v.rules.clone(),
            natives,
            endpoint,
        });
    }
    per_thread.retain(|p| !p.is_empty());
    // Fewer venues than feed threads leaves threads out: their cores go unused.
    let feed_cores: Vec<usize> = cfg
        .run
        .feed_cores
        .iter()
        .copied()
        .take(per_thread.len())
        .collect();
    let pins = crate::pipeline::explicit_pins(
        per_thread.len(),
        &feed_cores,
        cfg.run.engine_core,
        cfg.run.io_core,
    )?;
    let mut feeds = Vec::new();
    let mut conn_lines = Vec::new();
    for plans in per_thread {
        let feed = LiveFeed::new(
            plans,
            Arc::clone(&tls),
            Arc::clone(&link_stats),
            cfg.run.busy_poll,
        )?;
        let feed = match &args.capture {
            Some(path) => feed.with_capture(
                arb_feeds::capture::CaptureWriter::create(path, &registry)
                    .map_err(|e| anyhow::anyhow!("creating the capture {}: {e}", path.display()))?,
            ),
            None => feed,
        };
        for (ex, n) in feed.connections() {
            conn_lines.push(format!(
                "{} {} symbols / {n} conns",
                ex.as_str(),
                selection.natives[ex.index()].len()
            ));
        }
        feeds.push(feed);
    }
    say!(
        "arb run{role}: {} feed threads; {}",
        feeds.len(),
        conn_lines.join(", ")
    );
    Ok(Feeds {
        venues,
        rest,
        filter,
        selection,
        registry,
        link_stats,
        feeds,
        pins,
    })
}

/// `--role all`: venues, core, store and server in this process.
fn run_all(args: &RunArgs, cfg: &Config) -> anyhow::Result<ExitCode> {
    let live = start_feeds(args, cfg, cfg.discovery.min_venues)?;
    let refresh_stop = Arc::new(AtomicBool::new(false));
    let refresh = (cfg.discovery.refresh_minutes > 0).then(|| {
        spawn_refresh(
            Arc::clone(&live.rest),
            live.venues.clone(),
            live.filter.clone(),
            live.selection.clone(),
            Duration::from_secs(cfg.discovery.refresh_minutes * 60),
            Arc::clone(&refresh_stop),
        )
    });
    let sources: Vec<Box<dyn Source>> = live
        .feeds
        .into_iter()
        .map(|feed| Box::new(LiveSource { feed }) as Box<dyn Source>)
        .collect();
    let link_stats = Arc::clone(&live.link_stats);
    let venues = live.venues;
    let result = run_engine(
        args,
        cfg,
        Engine {
            registry: live.registry,
            sources,
            pins: live.pins,
            link_stats: live.link_stats,
            remote: None,
        },
        &mut || venue_summary(&link_stats, &venues),
    );
    refresh_stop.store(true, Ordering::Relaxed);
    if let Some(Ok(h)) = refresh {
        let _ = h.join();
    }
    result
}

/// What the engine side of a run is built from.
pub(crate) struct Engine {
    pub(crate) registry: Arc<SymbolRegistry>,
    pub(crate) sources: Vec<Box<dyn Source>>,
    pub(crate) pins: Vec<Option<core_affinity::CoreId>>,
    pub(crate) link_stats: Arc<LinkStats>,
    /// The engine role's collectors (for the API).
    pub(crate) remote: Option<Arc<arb_io::nats::remote::RemoteSet>>,
}

/// Runs the core, the store and the server behind `engine.sources` until a signal or
/// `--duration`, with a status line every 10 s (`summary` gives its tail).
pub(crate) fn run_engine(
    args: &RunArgs,
    cfg: &Config,
    engine: Engine,
    summary: &mut dyn FnMut() -> String,
) -> anyhow::Result<ExitCode> {
    let role = args.role.as_str();
    let Engine {
        registry,
        sources,
        pins,
        link_stats,
        remote,
    } = engine;
    let core_config = CoreConfig {
        history: HistoryConfig {
            buckets: cfg.engine.buckets,
            bucket_ns: cfg.engine.bucket_ms * 1_000_000,
            raw_points: cfg.engine.raw_points,
        },
        ..CoreConfig::default()
    };
    let store_on = !args.no_store && !cfg.run.data.as_os_str().is_empty();
    let res = Reservation::compute(
        &registry,
        &core_config,
        sources.len(),
        cfg.run.ring_capacity,
        store_on,
    );
    let budget = cfg.run.memory_budget_mb * 1024 * 1024;
    say!(
        "arb run{role}: {}",
        res.describe(&registry, &core_config.history, budget)
    );
    anyhow::ensure!(
        res.total() as u64 <= budget,
        "reserved memory {} exceeds [run] memory_budget_mb {}: lower [engine] buckets / raw_points or [discovery] max_symbols",
        report::mib(res.total() as u64),
        cfg.run.memory_budget_mb
    );
    let server = ServerConfig {
        listen: cfg.run.listen,
        allow_remote: cfg.run.allow_remote,
        token: (!cfg.run.token.is_empty()).then(|| cfg.run.token.clone()),
        ..ServerConfig::default()
    };
    server.validate()?;
    let spec = PipelineSpec {
        registry: Arc::clone(&registry),
        core_config,
        ring_capacity: cfg.run.ring_capacity,
        // Live data cannot wait: a full ring drops and counts, state events never drop.
        policy: FullPolicy::DropNewest,
        wait_mode: if cfg.run.busy_poll {
            WaitMode::BusyPoll
        } else {
            WaitMode::Wait
        },
        pins,
        layout: Layout::Threads,
        server: Some(server),
        reserved_bytes: res.total() as u64,
        store_root: store_on.then(|| cfg.run.data.clone()),
        link_stats: Some(Arc::clone(&link_stats)),
        remote,
    };
    let store = if store_on {
        anyhow::ensure!(
            args.store_file_secs > 0.0 && args.store_file_secs.is_finite(),
            "--store-file-secs must be positive"
        );
        let config = StoreConfig {
            max_file_age_ns: (args.store_file_secs * 1e9) as i64,
            ..StoreConfig::new(cfg.run.data.clone())
        };
        let (attach, recovery) = StoreAttach::open(config.clone(), &spec)?;
        say!("{}", store_opts::startup_line("run", &config, &recovery));
        Some(attach)
    } else {
        None
    };

    let shutdown = Shutdown::install()?;
    let mut stopping: Option<f64> = None;
    let mut last_status = 0.0;
    let mut last_events = 0u64;
    let bound = cfg.run.shutdown_timeout_s;
    let outcome = pipeline::run(
        &spec,
        sources,
        |sink| sink.with_spreads(LivePairs::new(registry.len(), core_config.stale_after_ns)),
        store,
        Hooks {
            histograms: &mut |_| {},
            tick: &mut |p| {
                if !args.quiet && p.elapsed_s - last_status >= 10.0 {
                    let rate = (p.events - last_events) as f64 / (p.elapsed_s - last_status);
                    last_status = p.elapsed_s;
                    last_events = p.events;
                    say!(
                        "arb run{role}: {:6.0}s  {:.0} events/s  drops {}  rss {}  {}",
                        p.elapsed_s,
                        rate,
                        p.drops,
                        report::mib(report::rss_bytes()),
                        summary()
                    );
                }
                if shutdown.requested() && stopping.is_none() {
                    stopping = Some(p.elapsed_s);
                    say!(
                        "arb run{role}: stop requested: closing connections and flushing the store (at most {bound} s; a second signal exits at once)"
                    );
                    watchdog(bound);
                }
                if args.duration.is_some_and(|d| p.elapsed_s >= d) && stopping.is_none() {
                    stopping = Some(p.elapsed_s);
                    watchdog(bound);
                }
                stopping.is_some()
            },
            listening: &mut |addr| {
                say!(
                    "arb run{role}: serving http://{addr}/ (dashboard; API: /api/health, /api/exchanges, /api/opportunities, /metrics)"
                );
            },
        },
    )?;
    let reconnects: u64 = Exchange::ALL
        .iter()
        .map(|&e| link_stats.venue(e).reconnects.load(Ordering::Relaxed))
        .sum();
    say!(
        "arb run{role}: stopped after {:.1} s: {} events, {} feed-ring drops, {} reconnects{}",
        outcome.elapsed_s,
        outcome.core_stats.events.load(Ordering::Relaxed),
        outcome.feed_drops,
        reconnects,
        outcome
            .store
            .as_ref()
            .map(|s| format!(
                ", {} rows stored in {} files",
                s.stats
                    .rows_written
                    .0
                    .iter()
                    .map(|a| a.load(Ordering::Relaxed))
                    .sum::<u64>(),
                s.stats.files.load(Ordering::Relaxed)
            ))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// Re-runs discovery every `every` and reports what changed per venue. The engine's tables
/// are sized for the start-up selection, so changes are reported (log), not applied: new
/// listings need a restart, delisted ones simply go quiet.
fn spawn_refresh(
    rest: Arc<Rest>,
    venues: Vec<Venue>,
    filter: Filter,
    mut current: discover::Selection,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("discovery-refresh".into())
        .spawn(move || {
            loop {
                let sw = clock::Stopwatch::start();
                while sw.elapsed() < every {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                let targets: Vec<(Exchange, &str)> = venues
                    .iter()
                    .map(|v| (v.exchange, v.rest_url.as_str()))
                    .collect();
                let found = discover::fetch_all(&rest, &targets);
                if found.venues.is_empty() {
                    tracing::warn!("symbol refresh: every venue failed; keeping the current list");
                    continue;
                }
                let next = discover::select(&found.venues, &filter);
                let changes: Vec<String> = Exchange::ALL
                    .iter()
                    .zip(discover::diff(&current, &next))
                    .filter(|(_, d)| !d.is_empty())
                    .map(|(e, d)| {
                        format!(
                            "{} +{} -{} (new: {}; gone: {})",
                            e.as_str(),
                            d.added.len(),
                            d.removed.len(),
                            d.added.join(" "),
                            d.removed.join(" ")
                        )
                    })
                    .collect();
                if changes.is_empty() {
                    tracing::info!("symbol refresh: no change");
                } else {
                    tracing::warn!(
                        "symbol refresh: the venues' lists changed; restart arb run to follow: {}",
                        changes.join("; ")
                    );
                }
                current = next;
            }
        })
}

fn volumes(venues: &[Venue], f: impl Fn(&Venue) -> Option<f64>) -> [Option<f64>; Exchange::COUNT] {
    let mut out = [None; Exchange::COUNT];
    for v in venues {
        out[v.exchange.index()] = f(v);
    }
    out
}

/// KuCoin's per-attempt endpoint: a fresh bullet-public token and the server it names.
fn kucoin_endpoint(rest: &Arc<Rest>, venue: &Venue) -> EndpointFn {
    let rest = Arc::clone(rest);
    let rest_url = venue.rest_url.clone();
    let seq = std::sync::atomic::AtomicU64::new(1);
    Arc::new(move || {
        let b = discover::kucoin_bullet(&rest, &rest_url).map_err(|e| e.to_string())?;
        let sep = if b.endpoint.contains('?') { '&' } else { '?' };
        let id = seq.fetch_add(1, Ordering::Relaxed);
        Ok(Endpoint {
            url: format!("{}{sep}token={}&connectId=arb-{id}", b.endpoint, b.token),
            ping: Some((b.ping_interval_ms, b.ping_timeout_ms)),
        })
    })
}

/// `binance up 2/2, okx degraded 1/2, ...` for the status line.
pub(crate) fn venue_summary(stats: &LinkStats, venues: &[Venue]) -> String {
    venues
        .iter()
        .map(|v| {
            let s = stats.venue(v.exchange);
            format!(
                "{} {} {}/{}",
                v.exchange.as_str(),
                s.state().as_str(),
                s.conns_up.load(Ordering::Relaxed),
                s.conns.load(Ordering::Relaxed)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Exits the process if the shutdown has not finished within `bound_s` (a hung venue
/// socket or disk must not keep a stopped collector alive).
pub(crate) fn watchdog(bound_s: f64) {
    let _ = std::thread::Builder::new()
        .name("shutdown-watchdog".into())
        .spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(bound_s));
            say!("arb run: shutdown did not finish within {bound_s} s; exiting");
            std::process::exit(3);
        });
}
