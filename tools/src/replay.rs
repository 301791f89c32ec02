//! `arb replay`: drives a capture through the whole pipeline (feed threads → spread core →
//! sink) and reports throughput, per-stage latency, drops, errors and memory.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use arb_engine::clock;
use arb_engine::event::ConnState;
use arb_engine::history::HistoryConfig;
use arb_engine::live_pairs::LivePairs;
use arb_engine::metrics::Stage;
use arb_engine::ring::{FullPolicy, WaitMode};
use arb_engine::{CoreConfig, Exchange, SymbolRegistry};
use arb_feeds::capture::{CaptureFile, CaptureReader, RecordKind, TailStatus};
use arb_feeds::feed::{FeedStats, FeedWorker};
use arb_feeds::{FrameKind, ParseError};
use arb_io::jsonl::JsonlWriter;
use serde_json::{Value, json};

use crate::pipeline::{
    self, Hooks, Layout, Outcome, PipelineSpec, Reservation, Source, StoreAttach,
};
use crate::report::{self, MachineHeader};
use crate::serving::ServeOpts;
use crate::shutdown::Shutdown;
use crate::store_opts::{self, StoreOpts};

/// Arguments of `arb replay`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  arb gen --out /tmp/m.arbcap --symbols 1000 --rate 200000 --duration 30
  arb replay /tmp/m.arbcap                                  # as fast as possible
  arb replay /tmp/m.arbcap --speed 1x --report-json r.json  # at recorded pace
  arb replay /tmp/m.arbcap --loop forever --duration 600    # soak: RSS must stay flat
  arb replay /tmp/m.arbcap --output spreads.jsonl --hlog lat.hlog && arb latency lat.hlog
  arb replay /tmp/m.arbcap --store data/ --report-json r.json  # keep everything as Parquet

The capture is memory-mapped: do not truncate or rewrite it while it is being replayed \
(the process would be killed with SIGBUS). Captures written by arb are published by rename, \
so replaying one while arb records the next is safe.

Full rings: by default the replay source waits for the core and the core waits for the sink \
(a file loses nothing by waiting, and results stay deterministic); --drop-when-full drops \
and counts instead, as the live pipeline does. Venue-state events are never dropped.

SIGTERM / SIGINT stop the replay in order: sources stop, the rings drain, the store writes \
and closes every file, the report is printed; a second signal exits at once.

Diagnostics: --log info (or RUST_LOG=info) logs start-up, thread start and stop and the \
end of the run; warnings (bad capture tail, refused connection ids) show by default.")]
pub(crate) struct ReplayArgs {
    /// Capture file written by `arb gen` or a live capture (memory-mapped: do not truncate
    /// or rewrite it while it is replayed).
    file: PathBuf,
    /// The command its messages name (`arb demo` runs a replay).
    #[arg(long, hide = true, default_value = "replay")]
    command_name: String,
    /// Pace: `max` (as fast as possible), `1x` (recorded timing) or `<N>x` (N times faster).
    #[arg(long, default_value = "max", value_parser = parse_speed)]
    speed: Speed,
    /// Passes over the capture: a number, or `forever` (stop with --duration). Each pass
    /// shifts receive times forward by the capture's span so time keeps moving.
    #[arg(long = "loop", default_value = "1", value_parser = parse_loops)]
    loops: u64,
    /// Stop after this many seconds of wall time.
    #[arg(long)]
    duration: Option<f64>,
    /// Feed threads; venues are dealt round-robin across them.
    #[arg(long, default_value_t = 1)]
    feeds: usize,
    /// Pin feed threads to cores 0..N-1, the core thread to core N, the sink to core N+1
    /// (wrapping when the machine has fewer cores; a warning says so).
    #[arg(long)]
    pin: bool,
    #[command(flatten)]
    pins: crate::pins::PinArgs,
    /// Busy-poll idle hot threads instead of sleeping (only on hosts with a core per hot
    /// thread; on a 2-vCPU VM it makes things slower).
    #[arg(long)]
    busy_poll: bool,
    /// Write per-stage latency as an HdrHistogram interval log (read with `arb latency`).
    #[arg(long, value_name = "OUT")]
    hlog: Option<PathBuf>,
    /// Write every spread, signal and gap as JSON lines.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write the summary as JSON for scripts.
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,
    /// Buckets per (symbol, venue) history series (default: 1 h at 1 s).
    #[arg(long, alias = "window-buckets", default_value_t = HistoryConfig::default().buckets)]
    buckets: usize,
    /// Bucket width in milliseconds.
    #[arg(long, default_value_t = 1000)]
    bucket_ms: i64,
    /// Raw quotes kept per (symbol, venue) history series.
    #[arg(long, default_value_t = HistoryConfig::default().raw_points)]
    raw_points: usize,
    /// Slots of each feed→core ring and of the core→sink ring (power of two).
    #[arg(long, default_value_t = 1 << 16)]
    ring_capacity: usize,
    /// Refuse to start if the reserved memory exceeds this many MiB.
    #[arg(long, default_value_t = 8192)]
    memory_budget_mb: u64,
    /// Run feed, core and sink inline on one thread (no ring hand-offs between threads):
    /// the per-event ceiling of the pipeline, for benchmarks. One feed only.
    #[arg(long)]
    inline: bool,
    /// Drop events when a ring is full (counted), as the live pipeline does, instead of
    /// making the replay source and the core wait (a file loses nothing by waiting, so
    /// waiting is the default and keeps replays deterministic).
    #[arg(long)]
    drop_when_full: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    store: StoreOpts,
    #[command(flatten)]
    serve: ServeOpts,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Speed {
    Max,
    Factor(f64),
}

fn parse_speed(s: &str) -> Result<Speed, String> {
    if s == "max" {
        return Ok(Speed::Max);
    }
    let n = s.strip_suffix('x').unwrap_or(s);
    match n.parse::<f64>() {
        Ok(f) if f > 0.0 && f.is_finite() => Ok(Speed::Factor(f)),
        _ => Err(format!("expected max, 1x or <N>x, got {s:?}")),
    }
}

fn parse_loops(s: &str) -> Result<u64, String> {
    if s == "forever" {
        return Ok(u64::MAX);
    }
    match s.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("expected a positive number or forever, got {s:?}")),
    }
}

/// What the pipeline reserves at start-up.
pub(crate) fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.feeds >= 1 && args.feeds <= Exchange::COUNT,
        "--feeds must be 1..=8"
    );
    anyhow::ensure!(
        args.ring_capacity.is_power_of_two(),
        "--ring-capacity must be a power of two"
    );
    anyhow::ensure!(
        args.buckets > 0 && args.raw_points > 0 && args.bucket_ms > 0,
        "--buckets, --raw-points and --bucket-ms must be positive"
    );

    #[expect(
        unsafe_code,
        reason = "memory-mapping the capture; the contract is documented to the user"
    )]
    // SAFETY: arb never writes a capture in place (the writer publishes by rename), and the
    // FILE argument's help and the command's after-help tell the user not to truncate or
    // rewrite a file while it is being replayed.
    let capture = unsafe { CaptureFile::open(&args.file) }
        .with_context(|| format!("opening {}", args.file.display()))?;
    let registry = Arc::new(
        capture
            .symbols()
            .context("reading the capture's symbol table")?,
    );
    let stats = capture.scan();
    if let TailStatus::Truncated { offset, .. } | TailStatus::Corrupt { offset, .. } = stats.tail {
        tracing::warn!(
            file = %args.file.display(),
            offset,
            tail = ?stats.tail,
            "Bad capture tail; replaying the valid prefix"
        );
    }
    let span_ns = stats.span_ns().max(0).saturating_add(1_000_000);

    let config = CoreConfig {
        history: HistoryConfig {
            buckets: args.buckets,
            bucket_ns: args.bucket_ms * 1_000_000,
            raw_points: args.raw_points,
        },
        ..CoreConfig::default()
    };
    let store_config = args.store.config()?;
    let res = Reservation::compute(
        &registry,
        &config,
        args.feeds,
        args.ring_capacity,
        store_config.is_some(),
    );
    let budget = args.memory_budget_mb * 1024 * 1024;
    eprintln!(
        "arb {}: {}",
        args.command_name,
        res.describe(&registry, &config.history, budget)
    );
    anyhow::ensure!(
        res.total() as u64 <= budget,
        "reserved memory {} exceeds --memory-budget-mb {}: lower --buckets / --raw-points / --ring-capacity",
        report::mib(res.total() as u64),
        args.memory_budget_mb
    );

    let wait_mode = if args.busy_poll {
        WaitMode::BusyPoll
    } else {
        WaitMode::Wait
    };
    let pins = if args.pins.any() {
        let p = &args.pins;
        pipeline::explicit_pins(args.feeds, &p.feed_cores, p.engine_core, p.io_core)?
    } else if args.pin {
        pin_plan(args.feeds)?
    } else {
        Vec::new()
    };
    let layout = if args.inline {
        anyhow::ensure!(args.feeds == 1, "--inline runs one feed: drop --feeds");
        Layout::Inline
    } else {
        Layout::Threads
    };
    let spec = PipelineSpec {
        registry: Arc::clone(&registry),
        core_config: config,
        ring_capacity: args.ring_capacity,
        policy: if args.drop_when_full {
            FullPolicy::DropNewest
        } else {
            FullPolicy::WaitForSpace
        },
        wait_mode,
        pins,
        layout,
        server: args.serve.config()?,
        reserved_bytes: res.total() as u64,
        store_root: store_config.as_ref().map(|c| c.root.clone()),
        link_stats: None,
        remote: None,
    };
    let store = match store_config {
        Some(config) => {
            let (attach, recovery) = StoreAttach::open(config.clone(), &spec)?;
            eprintln!(
                "{}",
                store_opts::startup_line(&args.command_name, &config, &recovery)
            );
            eprintln!(
                "arb {}: store buffers up to {} of rows (--store-file-rows {}), files close within {} s",
                args.command_name,
                report::mib(args.store.buffer_bytes() as u64),
                config.max_file_rows,
                config.max_file_age_ns as f64 / 1e9
            );
            Some(attach)
        }
        None => None,
    };
    let shutdown = Shutdown::install()?;
    let capture = Arc::new(capture);
    let sources: Vec<Box<dyn Source>> = (0..args.feeds)
        .map(|i| {
            Box::new(CaptureSource {
                capture: Arc::clone(&capture),
                venues: Exchange::ALL
                    .iter()
                    .map(|e| e.index() % args.feeds == i)
                    .collect(),
                pacing: Pacing {
                    speed: args.speed,
                    loops: args.loops,
                    span_ns,
                    wait_mode,
                },
            }) as Box<dyn Source>
        })
        .collect();
    let jsonl = match &args.output {
        Some(path) => Some(JsonlWriter::new(
            BufWriter::with_capacity(
                1 << 20,
                File::create(path).with_context(|| format!("creating {}", path.display()))?,
            ),
            Arc::clone(&registry),
        )),
        None => None,
    };
    let mut hlog = match &args.hlog {
        Some(p) => Some(report::HlogOut::create(p)?),
        None => None,
    };

    tracing::info!(
        file = %args.file.display(),
        symbols = registry.len(),
        feeds = args.feeds,
        reserved_bytes = res.total(),
        "Replay starting"
    );
    let mut last_print = 0.0;
    let mut stopping = false;
    let mut rss_at_60s: Option<u64> = None;
    let mut rss_max = 0u64;
    let outcome = pipeline::run(
        &spec,
        sources,
        |sink| {
            let sink = sink
                .with_spreads(LivePairs::new(registry.len(), config.stale_after_ns))
                .with_hash();
            match jsonl {
                Some(w) => sink.with_jsonl(w),
                None => sink,
            }
        },
        store,
        Hooks {
            histograms: &mut |h| {
                if let Some(out) = hlog.as_mut() {
                    out.write(h);
                }
            },
            tick: &mut |p| {
                let rss = report::rss_bytes();
                rss_max = rss_max.max(rss);
                if rss_at_60s.is_none() && p.elapsed_s >= 60.0 {
                    rss_at_60s = Some(rss);
                }
                if !args.quiet && p.elapsed_s - last_print >= 1.0 {
                    last_print = p.elapsed_s;
                    eprintln!(
                        "arb {}: {:6.1}s  {} events  {:.2} M events/s  drops {}  rss {}",
                        args.command_name,
                        p.elapsed_s,
                        p.events,
                        p.events as f64 / p.elapsed_s / 1e6,
                        p.drops,
                        report::mib(rss)
                    );
                }
                if shutdown.requested() && !stopping {
                    stopping = true;
                    eprintln!(
                        "arb {}: stop requested (SIGTERM/SIGINT): draining and closing files; a second signal exits at once",
                        args.command_name
                    );
                }
                stopping || args.duration.is_some_and(|d| p.elapsed_s >= d)
            },
            listening: &mut |addr| {
                eprintln!(
                    "arb {}: serving http://{addr}/ (API: /api/health, /api/opportunities, /api/window, /metrics)",
                    args.command_name
                );
            },
        },
    )?;
    if let Some(out) = hlog.take() {
        out.finish()?;
    }
    let summary = Summary {
        outcome: &outcome,
        reserved: res.total() as u64,
        rss: report::rss_bytes(),
        rss_max,
        rss_at_60s,
        registry: &registry,
    };
    let report = summary.to_json();
    let rejected = report["rejected_conn_frames"].as_u64().unwrap_or(0);
    if rejected > 0 {
        tracing::warn!(
            rejected,
            limit = arb_engine::event::MAX_CONNS_PER_VENUE,
            "Frames refused: connection id past the per-venue limit"
        );
    }
    tracing::info!(
        events = report["events"].as_u64().unwrap_or(0),
        elapsed_s = outcome.elapsed_s,
        "Replay done"
    );
    eprint!("{}", summary.to_text());
    if let Some(path) = &args.report_json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The per-role plan from `--feed-cores`, `--engine-core`, `--io-core`: index i < feeds is
/// feed thread i, then the core thread, then the sink; a role left out is not pinned.
fn pin_plan(feeds: usize) -> anyhow::Result<Vec<Option<core_affinity::CoreId>>> {
    let ids = core_affinity::get_core_ids()
        .ok_or_else(|| anyhow::anyhow!("--pin: cannot list this machine's cores"))?;
    anyhow::ensure!(!ids.is_empty(), "--pin: no cores available");
    let wanted = feeds + 2;
    if ids.len() < wanted {
        eprintln!(
            "arb replay: warning: --pin wants {wanted} cores (feeds, core, sink) but {} are available; threads share cores",
            ids.len()
        );
    }
    Ok((0..wanted).map(|i| Some(ids[i % ids.len()])).collect())
}

/// How a feed thread walks the capture.
#[derive(Debug, Clone, Copy)]
struct Pacing {
    speed: Speed,
    loops: u64,
    /// Added to receive times on each further pass.
    span_ns: i64,
    wait_mode: WaitMode,
}

/// Replays the records of a capture whose venue is in `venues` (a feed thread's share).
struct CaptureSource {
    capture: Arc<CaptureFile>,
    venues: Vec<bool>,
    pacing: Pacing,
}

impl Source for CaptureSource {
    fn run(
        &mut self,
        worker: &mut FeedWorker,
        stop: &AtomicBool,
        tick_every: u64,
        tick: &mut dyn FnMut(),
    ) {
        let reader = self.capture.reader();
        feed_loop(
            worker,
            reader,
            &self.venues,
            self.pacing,
            stop,
            tick_every,
            tick,
        );
    }
}

fn feed_loop(
    worker: &mut FeedWorker,
    reader: CaptureReader<'_>,
    venues: &[bool],
    pacing: Pacing,
    stop: &AtomicBool,
    tick_every: u64,
    tick: &mut dyn FnMut(),
) {
    let Pacing {
        speed,
        loops,
        span_ns,
        wait_mode,
    } = pacing;
    let start_mono = clock::mono_ns();
    let mut first_ts: Option<i64> = None;
    let mut n = 0u64;
    for pass in 0..loops {
        let shift = span_ns.saturating_mul(pass as i64);
        for rec in reader.records() {
            if !venues[rec.exchange.index()] {
                continue;
            }
            n += 1;
            if n.is_multiple_of(tick_every) {
                tick();
            }
            if n.is_multiple_of(1024) {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                worker.maybe_flush(clock::mono_ns(), clock::wall_ns());
            }
            let ts = rec.recv_ts_ns.saturating_add(shift);
            if let Speed::Factor(f) = speed {
                let t0 = *first_ts.get_or_insert(ts);
                let target = start_mono + ((ts - t0) as f64 / f) as i64;
                pace_until(target, wait_mode);
            }
            worker.set_time_shift(shift);
            match rec.kind {
                // A refused connection id is counted in the worker's stats and reported.
                RecordKind::Connected => {
                    let _ =
                        worker.on_connection(rec.exchange, rec.conn_id, ConnState::Connected, ts);
                }
                RecordKind::Disconnected => {
                    let _ = worker.on_connection(
                        rec.exchange,
                        rec.conn_id,
                        ConnState::Disconnected,
                        ts,
                    );
                }
                kind => {
                    let frame_kind = match kind {
                        RecordKind::Binary => FrameKind::Binary,
                        RecordKind::Ping => FrameKind::Ping,
                        RecordKind::Pong => FrameKind::Pong,
                        RecordKind::Close => FrameKind::Close,
                        _ => FrameKind::Text,
                    };
                    worker.on_frame(rec.exchange, rec.conn_id, frame_kind, ts, rec.payload);
                }
            }
        }
        if stop.load(Ordering::Relaxed) {
            return;
        }
    }
}

/// Waits until the monotonic clock reaches `target_ns`. Busy-poll mode sleeps while far
/// and spins when close (precise, costs a core). Wait mode never spins: it sleeps when
/// more than 50 us ahead and otherwise goes on early, so on a machine with fewer cores
/// than threads the pacer does not steal the core thread's CPU; frames then leave in
/// small bursts, as they arrive from a real socket.
fn pace_until(target_ns: i64, mode: WaitMode) {
    loop {
        let ahead = target_ns - clock::mono_ns();
        if ahead <= 0 {
            return;
        }
        match mode {
            WaitMode::BusyPoll if ahead <= 200_000 => std::hint::spin_loop(),
            WaitMode::BusyPoll => {
                std::thread::sleep(Duration::from_nanos((ahead - 100_000) as u64))
            }
            WaitMode::Wait if ahead > 50_000 => {
                std::thread::sleep(Duration::from_nanos(ahead as u64))
            }
            WaitMode::Wait => return,
        }
    }
}

struct Summary<'a> {
    outcome: &'a Outcome,
    reserved: u64,
    rss: u64,
    rss_max: u64,
    rss_at_60s: Option<u64>,
    registry: &'a SymbolRegistry,
}

impl Summary<'_> {
    fn sum(&self, f: impl Fn(&FeedStats) -> u64) -> u64 {
        self.outcome.feed_stats.iter().map(|s| f(s)).sum()
    }

    fn to_json(&self) -> Value {
        let r = Ordering::Relaxed;
        let frames = self.sum(|s| s.frames.load(r));
        let quotes = self.sum(|s| s.quotes.load(r));
        let trades = self.sum(|s| s.trades.load(r));
        let events = self.outcome.core_stats.events.load(r);
        let mut latency = serde_json::Map::new();
        for stage in Stage::all() {
            let h = self.outcome.totals.get(stage);
            if h.is_empty() {
                continue;
            }
            latency.insert(stage.name().into(), report::percentiles_json(h));
        }
        let mut errors_by_venue = serde_json::Map::new();
        for ex in Exchange::ALL {
            let mut kinds = serde_json::Map::new();
            for k in 0..ParseError::KINDS {
                let n = self.sum(|s| s.decode_errors[ex.index()][k].load(r));
                if n > 0 {
                    kinds.insert(ParseError::kind_label(k).into(), json!(n));
                }
            }
            if !kinds.is_empty() {
                errors_by_venue.insert(ex.as_str().into(), Value::Object(kinds));
            }
        }
        let mut clock = serde_json::Map::new();
        for ex in Exchange::ALL {
            let min = self
                .outcome
                .feed_stats
                .iter()
                .map(|s| s.min_exch_to_recv_ns[ex.index()].load(r))
                .min()
                .unwrap_or(i64::MAX);
            if min != i64::MAX {
                clock.insert(
                    ex.as_str().into(),
                    json!({
                        "min_exch_to_recv_ns": min,
                        "negative_count": self.sum(|s| s.negative_exch_to_recv[ex.index()].load(r)),
                    }),
                );
            }
        }
        let mut top = Vec::new();
        self.outcome.ranking.read(&mut top);
        top.truncate(5);
        let mut j = json!({
            "machine": MachineHeader::detect().to_json(),
            "frames": frames,
            "events": events,
            "quotes": quotes,
            "trades": trades,
            "spreads": self.outcome.core_stats.spreads.load(r),
            "signals": self.outcome.core_stats.signals.load(r),
            "gaps": self.outcome.sink_stats.gaps.load(r),
            "stale_legs": self.outcome.core_stats.stale_legs.load(r),
            "rejected_conn_frames": self.sum(|s| s.rejected_conn.load(r)),
            "disconnects": self.outcome.core.counters().disconnects,
            "retired_quotes": self.outcome.core.counters().retired_quotes,
            "bad_books": self.outcome.core_stats.bad_books.load(r),
            "max_feed_ring_depth": self.outcome.core_stats.max_input_depth.load(r),
            "elapsed_s": self.outcome.elapsed_s,
            "events_per_s": events as f64 / self.outcome.elapsed_s.max(1e-9),
            "frames_per_s": frames as f64 / self.outcome.elapsed_s.max(1e-9),
            "drops": self.outcome.feed_drops + self.outcome.out_drops,
            "drops_feed_rings": self.outcome.feed_drops,
            "drops_sink_ring": self.outcome.out_drops,
            "decode_errors": self.sum(|s| s.decode_errors_total()),
            "decode_errors_by_venue": errors_by_venue,
            "venue_clock": clock,
            "memory_reserved_bytes": self.reserved,
            "rss_bytes": self.rss,
            "rss_max_bytes": self.rss_max,
            "rss_at_60s_bytes": self.rss_at_60s,
            "output_hash": self.outcome.hash.map(|h| format!("{h:016x}")),
            "top_opportunities": top.iter().map(|(s, v)| json!({"symbol": self.registry.name(*s), "best_exec_pct": v})).collect::<Vec<_>>(),
            "latency_ns": latency,
        });
        if let (Some(st), Value::Object(m)) = (&self.outcome.store, &mut j)
            && let Value::Object(store) = store_opts::report_json(st)
        {
            m.extend(store);
        }
        j
    }

    fn to_text(&self) -> String {
        let j = self.to_json();
        let mut s = String::new();
        let g = |k: &str| j.get(k).cloned().unwrap_or(Value::Null);
        s.push_str(&format!("{}\n", MachineHeader::detect().line()));
        s.push_str(&format!(
            "replayed {} frames, {} events ({} quotes, {} trades) in {:.2} s: {:.0} events/s, {:.0} frames/s\n",
            g("frames"),
            g("events"),
            g("quotes"),
            g("trades"),
            self.outcome.elapsed_s,
            g("events_per_s").as_f64().unwrap_or(0.0),
            g("frames_per_s").as_f64().unwrap_or(0.0)
        ));
        s.push_str(&format!(
            "spreads {}  signals {}  gaps {}  stale legs {}  bad books {}  drops {} (feed rings {}, sink ring {})  decode errors {}  max feed ring depth {}\n",
            g("spreads"),
            g("signals"),
            g("gaps"),
            g("stale_legs"),
            g("bad_books"),
            g("drops"),
            self.outcome.feed_drops,
            self.outcome.out_drops,
            g("decode_errors"),
            g("max_feed_ring_depth")
        ));
        s.push_str(&format!(
            "memory: reserved {}, rss {} (max {})\n",
            report::mib(self.reserved),
            report::mib(self.rss),
            report::mib(self.rss_max)
        ));
        if let Some(st) = &self.outcome.store {
            s.push_str(&store_opts::report_line(st));
        }
        s.push_str(&report::latency_table(&self.outcome.totals));
        if let Some(h) = self.outcome.hash {
            s.push_str(&format!("output hash {h:016x}\n"));
        }
        s
    }
}
