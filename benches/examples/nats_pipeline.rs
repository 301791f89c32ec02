//! Issue 11's performance figures for the NATS scale-out, measured in one process on
//! loopback: events/s through collector → NATS → engine, the latency that path adds
//! versus local feeds, and bytes per event on the wire versus the venues' JSON.
//!
//! What runs (all of it the shipped code except the producers and the counting thread):
//! - `P` producer threads, each owning a `FeedTx` (`link::channel`, 65 536 slots,
//!   `DropNewest`), push synthetic `Event::Quote`s; they stand in for the feed threads'
//!   *decoded* output (no JSON decode is timed). Producer `i` is venue
//!   `Exchange::ALL[i % 8]`, connection `i / 8`; each quote's `recv_ts_ns` is
//!   `clock::wall_ns()` at its push. With `--rate 0` the producers push as fast as the
//!   pipeline takes (they wait for ring space, so the ring drops nothing: the figure is the
//!   pipeline's capacity); with `--rate R` they pace `R` events/s in total and a full ring
//!   drops, as a live feed's would.
//! - NATS phase: the collector's `Forwarder` and `Publisher` (`arb_io::nats::collector`),
//!   a `nats-server` (started by `benches/nats.sh`), the engine's `RemoteConnect` →
//!   `union_registry` → `Receiver::run` on a `FeedWorker`, whose ring a "core" thread
//!   drains: it counts quotes and records `clock::wall_ns()` at pop − `recv_ts_ns` (the
//!   receiver already moved `recv_ts_ns` by the clock offset, ~0 on loopback).
//! - Local phase (the baseline, "local feeds"): the same producers' rings drained by the
//!   same counting thread directly, same latency definition.
//!
//! Usage: `nats_pipeline --nats nats://127.0.0.1:4222 [--events N] [--symbols S]
//! [--rate R] [--linger-us L] [--max-events B] [--producers P] [--channel-batches C]
//! [--time-limit-s T] [--local | --no-local] [--server-pid PID]`
//!
//! Exits non-zero when a phase received nothing (or on a set-up error).

use std::fmt::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use arb_engine::clock;
use arb_engine::event::{ConnState, VenueState};
use arb_engine::link::{self, FeedRx, FeedTx};
use arb_engine::metrics::stage_channel;
use arb_engine::ring::{Doorbell, Envelope, FullPolicy, Idle, WaitMode};
use arb_engine::wire;
use arb_engine::{Event, Exchange, Quote, SymbolId, SymbolRegistry};
use arb_feeds::feed::{FeedStats, FeedWorker};
use arb_feeds::live::LinkStats;
use arb_io::nats::NatsConfig;
use arb_io::nats::collector::{CollectorConfig, CollectorStats};
use arb_io::nats::remote::{RemoteConfig, RemoteConnect, RemoteSet};
use arb_io::nats::table;
use hdrhistogram::Histogram;
use serde::Serialize;

/// Slots of every producer ring and of the engine's ring.
const RING: usize = 65_536;
/// Quotes pushed between two `notify()` calls (and between two pacing checks).
const BURST: u64 = 32;
/// The collector's name (subject token).
const COLLECTOR: &str = "bench";
/// Nothing received for this long after the producers finished ends a phase.
const QUIET_NS: i64 = 2_000_000_000;
/// Quotes whose JSON sizes are computed (a prefix of what the producers send).
const JSON_SAMPLE: u64 = 1_000_000;
/// Real base assets for the first symbols (JSON sizes depend on the names' lengths).
const BASES: [&str; 24] = [
    "BTC", "ETH", "SOL", "BNB", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT", "TRX", "LTC", "BCH",
    "NEAR", "APT", "ARB", "OP", "SUI", "ATOM", "FIL", "ETC", "UNI", "PEPE", "TON",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Both,
    LocalOnly,
    NatsOnly,
}

#[derive(Debug, Clone)]
struct Args {
    nats: String,
    events: u64,
    symbols: usize,
    rate: f64,
    linger_us: u64,
    max_events: u16,
    producers: usize,
    channel_batches: usize,
    time_limit_s: f64,
    mode: Mode,
    server_pid: Option<u32>,
}

const USAGE: &str = "usage: nats_pipeline --nats URL [--events N] [--symbols S] [--rate R (0 = max)] \
[--linger-us L] [--max-events B] [--producers P] [--channel-batches C] [--time-limit-s T] \
[--local | --no-local] [--server-pid PID]";

impl Args {
    fn parse() -> anyhow::Result<Args> {
        let defaults = CollectorConfig::default();
        let mut a = Args {
            nats: "nats://127.0.0.1:4222".into(),
            events: 1_000_000,
            symbols: 1000,
            rate: 0.0,
            linger_us: (defaults.linger_ns / 1000) as u64,
            max_events: defaults.max_events,
            producers: 4,
            channel_batches: defaults.channel_batches,
            time_limit_s: 60.0,
            mode: Mode::Both,
            server_pid: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--local" => a.mode = Mode::LocalOnly,
                "--no-local" => a.mode = Mode::NatsOnly,
                "-h" | "--help" => bail!("{USAGE}"),
                _ => {
                    let value = it
                        .next()
                        .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
                    let bad = || format!("bad value {value:?} for {flag}");
                    match flag.as_str() {
                        "--nats" => a.nats = value.clone(),
                        "--events" => a.events = value.parse().with_context(bad)?,
                        "--symbols" => a.symbols = value.parse().with_context(bad)?,
                        "--rate" => a.rate = value.parse().with_context(bad)?,
                        "--linger-us" => a.linger_us = value.parse().with_context(bad)?,
                        "--max-events" => a.max_events = value.parse().with_context(bad)?,
                        "--producers" => a.producers = value.parse().with_context(bad)?,
                        "--channel-batches" => {
                            a.channel_batches = value.parse().with_context(bad)?;
                        }
                        "--time-limit-s" => a.time_limit_s = value.parse().with_context(bad)?,
                        "--server-pid" => a.server_pid = Some(value.parse().with_context(bad)?),
                        _ => bail!("unknown flag {flag}\n{USAGE}"),
                    }
                }
            }
        }
        if a.events == 0 || a.symbols == 0 || a.producers == 0 || a.max_events == 0 {
            bail!("--events, --symbols, --producers and --max-events must be at least 1");
        }
        if !(a.rate >= 0.0 && a.time_limit_s > 0.0) {
            bail!("--rate must be >= 0 and --time-limit-s > 0");
        }
        Ok(a)
    }
}

// ---------------------------------------------------------------------------------------
// Synthetic market: symbols, venues, quote values.

fn base_asset(k: usize) -> String {
    if k < BASES.len() {
        BASES[k].to_owned()
    } else {
        format!("{}{}", BASES[k % BASES.len()], k / BASES.len())
    }
}

/// The venue's spelling of `base`/USDT.
fn native(ex: Exchange, base: &str) -> String {
    match ex {
        Exchange::Gateio => format!("{base}_USDT"),
        Exchange::Kucoin | Exchange::Okx | Exchange::Bingx => format!("{base}-USDT"),
        _ => format!("{base}USDT"),
    }
}

/// The venues of the producers (producer `i` is `Exchange::ALL[i % 8]`), at least two.
fn venues(producers: usize) -> Vec<Exchange> {
    let mut v: Vec<Exchange> = Vec::new();
    for i in 0..producers.max(2) {
        let ex = Exchange::ALL[i % Exchange::COUNT];
        if !v.contains(&ex) {
            v.push(ex);
        }
    }
    v
}

fn registry(symbols: usize, venues: &[Exchange]) -> anyhow::Result<SymbolRegistry> {
    let mut r = SymbolRegistry::new();
    for k in 0..symbols {
        let base = base_asset(k);
        for &ex in venues {
            let id = r.insert(ex, &native(ex, &base), &base, "USDT")?;
            anyhow::ensure!(id == SymbolId(k as u32), "registry ids are not dense");
        }
    }
    Ok(r)
}

/// Quote `n` of producer `p`: (symbol index, bid, bid qty, ask, ask qty). Prices are whole
/// ticks of 0.0001 and sizes whole lots of 0.01, so they print as short decimals.
#[inline]
fn quote_values(p: usize, n: u64, symbols: usize) -> (usize, f64, f64, f64, f64) {
    let k = ((n as usize).wrapping_add(p.wrapping_mul(7919))) % symbols;
    let base_ticks = 253_519 * (1 + (k as u64 * 7919) % 5000);
    let bid_ticks = base_ticks + n % 97;
    let ask_ticks = bid_ticks + 1 + n % 3;
    let bid_lots = 3121 + (n * 7) % 10_000;
    let ask_lots = 4066 + (n * 13) % 10_000;
    (
        k,
        bid_ticks as f64 / 1e4,
        bid_lots as f64 / 100.0,
        ask_ticks as f64 / 1e4,
        ask_lots as f64 / 100.0,
    )
}

// ---------------------------------------------------------------------------------------
// Threads.

/// CPU time of the calling thread, ns (`/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// CPU time of a process (all its threads), s, from `/proc/<pid>/stat` (USER_HZ = 100).
fn process_cpu_s(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

#[derive(Debug, Default)]
struct ProducerOut {
    sent: u64,
    waits: u64,
    cpu_ns: u64,
}

/// One producer: `Connected`, then `count` quotes (paced at `rate` per s, or as fast as
/// the ring takes when `rate` is 0), until `deadline_mono_ns`.
///
/// # Hot path
/// Allocates nothing per event: quotes are `Copy` values built on the stack.
fn produce(
    p: usize,
    mut tx: FeedTx,
    count: u64,
    symbols: usize,
    rate: f64,
    deadline_mono_ns: i64,
) -> ProducerOut {
    let exchange = Exchange::ALL[p % Exchange::COUNT];
    let conn_id = (p / Exchange::COUNT) as u16;
    tx.push_state(
        VenueState {
            exchange,
            conn_id,
            state: ConnState::Connected,
            ts_ns: clock::wall_ns(),
        },
        clock::mono_ns(),
    );
    let start = clock::mono_ns();
    let ns_per_event = if rate > 0.0 { 1e9 / rate } else { 0.0 };
    let mut out = ProducerOut::default();
    let mut n = 0u64;
    let mut full_rounds = 0u32;
    while n < count {
        let now = clock::mono_ns();
        if now >= deadline_mono_ns {
            break;
        }
        let burst = if rate > 0.0 {
            let due = (((now - start) as f64 / ns_per_event) as u64 + 1).min(count);
            if due <= n {
                // Next event not due yet: sleep until it is (sleeps shorter than the
                // timer slack round up to ~60 µs; then several events are due at once).
                let wait = (n as f64 * ns_per_event) as i64 - (now - start);
                std::thread::sleep(Duration::from_nanos(wait.max(1_000) as u64));
                continue;
            }
            (due - n).min(BURST)
        } else {
            let burst = BURST.min(count - n);
            if (tx.free_slots() as u64) < burst {
                // Max rate: wait for ring space (nothing dropped; the pipeline sets the pace).
                out.waits += 1;
                full_rounds += 1;
                tx.notify();
                if full_rounds < 16 {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(Duration::from_micros(50));
                }
                continue;
            }
            full_rounds = 0;
            burst
        };
        for _ in 0..burst {
            let (k, bid_px, bid_qty, ask_px, ask_qty) = quote_values(p, n, symbols);
            let recv_ts_ns = clock::wall_ns();
            tx.push(Envelope {
                item: Event::Quote(Quote {
                    symbol: SymbolId(k as u32),
                    exchange,
                    conn_id,
                    bid_px,
                    bid_qty,
                    ask_px,
                    ask_qty,
                    exch_ts_ns: recv_ts_ns - 1_000_000,
                    recv_ts_ns,
                }),
                stamp_ns: now,
            });
            n += 1;
        }
        tx.notify();
    }
    out.sent = n;
    out.cpu_ns = thread_cpu_ns().unwrap_or(0);
    out
}

/// What the counting thread tells main and hears from it.
#[derive(Debug)]
struct CoreCtl {
    /// Quotes to expect (known once the producers or the forwarder ended).
    target: AtomicU64,
    /// The producers ended: a quiet spell ends the phase.
    producers_done: AtomicBool,
    /// End now (error path or time limit).
    stop: AtomicBool,
}

impl CoreCtl {
    fn new() -> CoreCtl {
        CoreCtl {
            target: AtomicU64::new(u64::MAX),
            producers_done: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        }
    }
}

#[derive(Debug)]
struct CoreOut {
    quotes: u64,
    states: u64,
    last_mono_ns: i64,
    /// Pop − the producer's `recv_ts_ns` (for NATS: the receiver's clock-offset shift
    /// undone, so this is the real time on the path; one clock in one process).
    hist: Histogram<u64>,
    /// NATS only: pop − `recv_ts_ns` as the engine sees it (after the offset shift).
    engine_view: Histogram<u64>,
    /// NATS only: smallest and largest clock offset in force at a pop, ns.
    offset_range: (i64, i64),
    cpu_ns: u64,
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3)
        .expect("Invariant: constant histogram bounds are valid")
}

/// The "core": drains `inputs`, counts quotes and records pop time − `recv_ts_ns`.
/// `offset` is the receiver's published clock offset (NATS phase), added back to get the
/// producer's own stamp.
fn count(
    mut inputs: Vec<FeedRx>,
    bell: &Doorbell,
    ctl: &CoreCtl,
    deadline: i64,
    offset: Option<&AtomicI64>,
) -> CoreOut {
    bell.bind();
    let mut idle = Idle::new(WaitMode::Wait);
    let mut out = CoreOut {
        quotes: 0,
        states: 0,
        last_mono_ns: clock::mono_ns(),
        hist: new_hist(),
        engine_view: new_hist(),
        offset_range: (i64::MAX, i64::MIN),
        cpu_ns: 0,
    };
    let mut last_got = clock::mono_ns();
    loop {
        let mut got = 0u64;
        let off = offset.map_or(0, |o| o.load(Ordering::Relaxed));
        for rx in &mut inputs {
            for _ in 0..1024 {
                let Some(env) = rx.pop() else { break };
                match env.item {
                    Event::Quote(q) => {
                        let age = clock::wall_ns() - q.recv_ts_ns;
                        out.hist.saturating_record((age - off).max(0) as u64);
                        if offset.is_some() {
                            out.engine_view.saturating_record(age.max(0) as u64);
                        }
                        out.quotes += 1;
                    }
                    Event::Venue(_) => out.states += 1,
                    Event::Trade(_) => {}
                }
                got += 1;
            }
        }
        let now = clock::mono_ns();
        if got > 0 {
            if offset.is_some() {
                out.offset_range = (out.offset_range.0.min(off), out.offset_range.1.max(off));
            }
            last_got = now;
            out.last_mono_ns = now;
            idle.reset();
        }
        if out.quotes >= ctl.target.load(Ordering::Acquire)
            || ctl.stop.load(Ordering::Acquire)
            || now > deadline + QUIET_NS
            || (ctl.producers_done.load(Ordering::Acquire) && now - last_got > QUIET_NS)
        {
            break;
        }
        if got == 0 {
            idle.idle(bell, || inputs.iter().any(|rx| !rx.is_empty()));
        }
    }
    out.cpu_ns = thread_cpu_ns().unwrap_or(0);
    out
}

// ---------------------------------------------------------------------------------------
// Phases.

#[derive(Debug)]
struct NatsFigures {
    collector: Arc<CollectorStats>,
    remote: Arc<RemoteSet>,
    engine_ring_drops: u64,
    hb_len: u64,
    registry_report: String,
}

#[derive(Debug)]
struct Phase {
    name: &'static str,
    sent: u64,
    ring_drops: u64,
    producer_waits: u64,
    producer_s: f64,
    core: CoreOut,
    duration_s: f64,
    cpu: Vec<(String, f64)>,
    server_cpu_s: Option<f64>,
    nats: Option<NatsFigures>,
}

/// Producer links on one doorbell; returns the senders, receivers and drop counters.
fn producer_links(
    producers: usize,
    bell: &Arc<Doorbell>,
) -> (Vec<FeedTx>, Vec<FeedRx>, Vec<Arc<AtomicU64>>) {
    let mut txs = Vec::new();
    let mut rxs = Vec::new();
    let mut drops = Vec::new();
    for _ in 0..producers {
        let (tx, rx) = link::channel(
            RING,
            link::DEFAULT_LANE_CAPACITY,
            FullPolicy::DropNewest,
            Arc::clone(bell),
        );
        drops.push(tx.drops());
        txs.push(tx);
        rxs.push(rx);
    }
    (txs, rxs, drops)
}

/// What the producers of a phase did: (sent, ring-space waits, seconds, cpu per thread).
type Produced = (u64, u64, f64, Vec<(String, f64)>);

/// Spawns the producers and joins them.
fn run_producers<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    args: &Args,
    txs: Vec<FeedTx>,
    deadline: i64,
) -> anyhow::Result<Produced> {
    let per = args.events / args.producers as u64;
    let extra = args.events % args.producers as u64;
    let start = clock::mono_ns();
    let mut handles = Vec::new();
    for (p, tx) in txs.into_iter().enumerate() {
        let count = per + u64::from((p as u64) < extra);
        let (symbols, rate) = (args.symbols, args.rate / args.producers as f64);
        handles.push(
            std::thread::Builder::new()
                .name(format!("prod-{p}"))
                .spawn_scoped(scope, move || {
                    produce(p, tx, count, symbols, rate, deadline)
                })?,
        );
    }
    let (mut sent, mut waits, mut cpu) = (0, 0, Vec::new());
    for (p, h) in handles.into_iter().enumerate() {
        let out = h
            .join()
            .map_err(|_| anyhow::anyhow!("producer {p} panicked"))?;
        sent += out.sent;
        waits += out.waits;
        cpu.push((format!("prod-{p}"), out.cpu_ns as f64 / 1e9));
    }
    Ok((sent, waits, (clock::mono_ns() - start) as f64 / 1e9, cpu))
}

fn local_phase(args: &Args) -> anyhow::Result<Phase> {
    let bell = Doorbell::new();
    let (txs, rxs, drops) = producer_links(args.producers, &bell);
    let ctl = CoreCtl::new();
    let deadline = clock::mono_ns() + (args.time_limit_s * 1e9) as i64;
    std::thread::scope(|s| -> anyhow::Result<Phase> {
        let core = std::thread::Builder::new()
            .name("core".into())
            .spawn_scoped(s, || count(rxs, &bell, &ctl, deadline, None))?;
        let start = clock::mono_ns();
        let produced = run_producers(s, args, txs, deadline);
        let ring_drops: u64 = drops.iter().map(|d| d.load(Ordering::Relaxed)).sum();
        if let Ok((sent, ..)) = &produced {
            ctl.target.store(sent - ring_drops, Ordering::Release);
        } else {
            ctl.stop.store(true, Ordering::Release);
        }
        ctl.producers_done.store(true, Ordering::Release);
        let core = core
            .join()
            .map_err(|_| anyhow::anyhow!("the counting thread panicked"))?;
        let (sent, waits, producer_s, mut cpu) = produced?;
        cpu.push(("core".into(), core.cpu_ns as f64 / 1e9));
        Ok(Phase {
            name: "local",
            sent,
            ring_drops,
            producer_waits: waits,
            producer_s,
            duration_s: (core.last_mono_ns - start) as f64 / 1e9,
            core,
            cpu,
            server_cpu_s: None,
            nats: None,
        })
    })
}

fn nats_config(url: &str, client_name: &str) -> NatsConfig {
    NatsConfig {
        servers: vec![url.to_owned()],
        client_name: client_name.to_owned(),
        ..NatsConfig::default()
    }
}

fn nats_phase(args: &Args, reg: &SymbolRegistry, venues: &[Exchange]) -> anyhow::Result<Phase> {
    let fwd_bell = Doorbell::new();
    let (txs, rxs, drops) = producer_links(args.producers, &fwd_bell);
    let config = CollectorConfig {
        name: COLLECTOR.into(),
        venues: venues.to_vec(),
        linger_ns: (args.linger_us * 1000) as i64,
        max_events: args.max_events,
        channel_batches: args.channel_batches,
        wait_mode: WaitMode::Wait,
        ..CollectorConfig::default()
    };
    let (forwarder, publisher, cstats) = arb_io::nats::collector::collector(
        &config,
        nats_config(&args.nats, "arb-bench-collector"),
        reg,
        rxs,
        Arc::clone(&fwd_bell),
    )?;
    let hb_len = (wire::HEADER_LEN + venues.len() * wire::SNAPSHOT_LEN) as u64;
    let stop_pub = AtomicBool::new(false);
    let stop_rx = AtomicBool::new(false);
    let ctl = CoreCtl::new();
    let core_bell = Doorbell::new();
    let mut txs = Some(txs);
    std::thread::scope(|s| -> anyhow::Result<Phase> {
        let publish = std::thread::Builder::new()
            .name("nats-publish".into())
            .spawn_scoped(s, || {
                let r = publisher.run(&stop_pub, Duration::from_secs(2));
                (r, thread_cpu_ns().unwrap_or(0))
            })?;
        let forward = std::thread::Builder::new()
            .name("nats-forward".into())
            .spawn_scoped(s, || {
                forwarder.run();
                thread_cpu_ns().unwrap_or(0)
            })?;
        let result = (|| -> anyhow::Result<Phase> {
            let connect = RemoteConnect::connect(
                RemoteConfig {
                    collectors: vec![COLLECTOR.into()],
                    ..RemoteConfig::default()
                },
                &nats_config(&args.nats, "arb-bench-engine"),
                Duration::from_secs(10),
                |line| eprintln!("nats_pipeline: {line}"),
            )?;
            let tables = connect.tables();
            anyhow::ensure!(
                !tables.is_empty(),
                "the collector did not answer its symbol-table request on {}",
                args.nats
            );
            let (engine_reg, registry_report) = table::union_registry(&tables, 1)?;
            anyhow::ensure!(
                engine_reg.len() == reg.len(),
                "engine registry has {} symbols, the collector {}",
                engine_reg.len(),
                reg.len()
            );
            let engine_reg = Arc::new(engine_reg);
            let receiver = connect.into_receiver(Arc::clone(&engine_reg), LinkStats::new());
            let remote = receiver.stats();
            let (etx, erx) = link::channel(
                RING,
                link::DEFAULT_LANE_CAPACITY,
                FullPolicy::DropNewest,
                Arc::clone(&core_bell),
            );
            let engine_drops = etx.drops();
            let (recorder, _histograms) = stage_channel(1_000_000_000, 3);
            let mut worker = FeedWorker::new(engine_reg, etx, recorder, FeedStats::new());
            let stop_rx = &stop_rx;
            let recv = std::thread::Builder::new()
                .name("nats-recv".into())
                .spawn_scoped(s, move || {
                    let r = receiver.run(&mut worker, stop_rx);
                    drop(worker);
                    (r, thread_cpu_ns().unwrap_or(0))
                })?;
            let deadline = clock::mono_ns() + (args.time_limit_s * 1e9) as i64;
            let (ctl, core_bell, offset) = (&ctl, &core_bell, Arc::clone(&remote));
            let core = std::thread::Builder::new()
                .name("core".into())
                .spawn_scoped(s, move || {
                    let offset = Some(&offset.collectors[0].clock_offset_ns);
                    count(vec![erx], core_bell, ctl, deadline, offset)
                })?;
            // The receiver's subscription is live once a heartbeat came through it.
            let watch = clock::Stopwatch::start();
            while remote.collectors[0].heartbeats.load(Ordering::Relaxed) == 0 {
                anyhow::ensure!(
                    watch.elapsed_s() < 10.0,
                    "no collector heartbeat reached the receiver within 10 s"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            let server_before = args.server_pid.and_then(process_cpu_s);
            let start = clock::mono_ns();
            let txs = txs.take().context("producer links already taken")?;
            let produced = run_producers(s, args, txs, deadline);
            ctl.producers_done.store(true, Ordering::Release);
            // The forwarder ends once the producers' rings are abandoned and drained.
            let fwd_cpu = forward
                .join()
                .map_err(|_| anyhow::anyhow!("the forwarder panicked"))?;
            let ring_drops: u64 = drops.iter().map(|d| d.load(Ordering::Relaxed)).sum();
            if let Ok((sent, ..)) = &produced {
                let dropped = cstats.dropped_events.load(Ordering::Relaxed);
                ctl.target.store(
                    sent.saturating_sub(ring_drops).saturating_sub(dropped),
                    Ordering::Release,
                );
            }
            let core = core
                .join()
                .map_err(|_| anyhow::anyhow!("the counting thread panicked"))?;
            let server_after = args.server_pid.and_then(process_cpu_s);
            stop_rx.store(true, Ordering::Release);
            let (recv_result, recv_cpu) = recv
                .join()
                .map_err(|_| anyhow::anyhow!("the receiver panicked"))?;
            recv_result?;
            let (sent, waits, producer_s, mut cpu) = produced?;
            cpu.push(("nats-forward".into(), fwd_cpu as f64 / 1e9));
            cpu.push(("nats-recv".into(), recv_cpu as f64 / 1e9));
            cpu.push(("core".into(), core.cpu_ns as f64 / 1e9));
            Ok(Phase {
                name: "nats",
                sent,
                ring_drops,
                producer_waits: waits,
                producer_s,
                duration_s: (core.last_mono_ns - start) as f64 / 1e9,
                core,
                cpu,
                server_cpu_s: server_before.zip(server_after).map(|(a, b)| b - a),
                nats: Some(NatsFigures {
                    collector: Arc::clone(&cstats),
                    remote,
                    engine_ring_drops: engine_drops.load(Ordering::Relaxed),
                    hb_len,
                    registry_report,
                }),
            })
        })();
        // Whatever happened: release the producer links (the forwarder then ends, the
        // channel closes and the publisher flushes and ends) and stop every loop.
        drop(txs.take());
        ctl.producers_done.store(true, Ordering::Release);
        ctl.stop.store(true, Ordering::Release);
        stop_rx.store(true, Ordering::Release);
        stop_pub.store(true, Ordering::Release);
        let (pub_result, pub_cpu) = publish
            .join()
            .map_err(|_| anyhow::anyhow!("the publisher panicked"))?;
        let mut phase = result?;
        pub_result?;
        phase
            .cpu
            .push(("nats-publish".into(), pub_cpu as f64 / 1e9));
        Ok(phase)
    })
}

// ---------------------------------------------------------------------------------------
// Report.

#[derive(Serialize)]
struct Normalised<'a> {
    symbol: &'a str,
    exchange: &'a str,
    bid: f64,
    bid_qty: f64,
    ask: f64,
    ask_qty: f64,
    exch_ts: i64,
    recv_ts: i64,
}

/// Mean JSON bytes per quote over the first quotes the producers send: Binance
/// `bookTicker` (raw and in the combined-stream wrapper arb subscribes to), OKX `bbo-tbt`,
/// and serde_json of a normalised object.
#[derive(Debug, Default)]
struct JsonSizes {
    quotes: u64,
    binance_raw: f64,
    binance_combined: f64,
    okx_bbo: f64,
    normalised: f64,
}

fn json_sizes(args: &Args, reg: &SymbolRegistry) -> anyhow::Result<JsonSizes> {
    let per = args.events / args.producers as u64;
    let sample_per = per.clamp(1, JSON_SAMPLE / args.producers as u64);
    let t0 = clock::wall_ns();
    let mut buf = String::with_capacity(512);
    let mut json = Vec::with_capacity(512);
    let (mut n_all, mut braw, mut bcomb, mut okx, mut norm) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for p in 0..args.producers {
        let ex = Exchange::ALL[p % Exchange::COUNT];
        for n in 0..sample_per {
            let (k, bid, bid_qty, ask, ask_qty) = quote_values(p, n, args.symbols);
            let id = SymbolId(k as u32);
            let base = reg.base(id);
            let recv_ts = t0 + (n as i64) * 1000;
            let exch_ts = recv_ts - 1_000_000;
            // Binance: the documented raw payload; arb reads the combined stream, which
            // wraps it as {"stream":"<lower>@bookTicker","data":<payload>}.
            buf.clear();
            write!(
                buf,
                r#"{{"u":{},"s":"{base}USDT","b":"{bid:.8}","B":"{bid_qty:.8}","a":"{ask:.8}","A":"{ask_qty:.8}"}}"#,
                400_900_217 + n
            )?;
            let raw = buf.len() as u64;
            braw += raw;
            // {"stream":"   "@bookTicker","data":   }
            bcomb += raw + 11 + (base.len() as u64 + 4) + 20 + 1;
            // OKX bbo-tbt, one item (prices as OKX prints them: no trailing zeros).
            buf.clear();
            write!(
                buf,
                r#"{{"arg":{{"channel":"bbo-tbt","instId":"{base}-USDT"}},"data":[{{"asks":[["{ask}","{ask_qty}","0","{}"]],"bids":[["{bid}","{bid_qty}","0","{}"]],"ts":"{}","seqId":{}}}]}}"#,
                1 + n % 20,
                1 + n % 11,
                exch_ts / 1_000_000,
                38_825_510_122 + n
            )?;
            okx += buf.len() as u64;
            json.clear();
            serde_json::to_writer(
                &mut json,
                &Normalised {
                    symbol: reg.name(id),
                    exchange: ex.as_str(),
                    bid,
                    bid_qty,
                    ask,
                    ask_qty,
                    exch_ts,
                    recv_ts,
                },
            )?;
            norm += json.len() as u64;
            n_all += 1;
        }
    }
    let d = n_all.max(1) as f64;
    Ok(JsonSizes {
        quotes: n_all,
        binance_raw: braw as f64 / d,
        binance_combined: bcomb as f64 / d,
        okx_bbo: okx as f64 / d,
        normalised: norm as f64 / d,
    })
}

fn rustc_version() -> String {
    std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown (rustc not on PATH)".into())
}

fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1e3)
}

fn print_phase(ph: &Phase, json: &JsonSizes) {
    let r = Ordering::Relaxed;
    let c = &ph.core;
    let h = &c.hist;
    let mut dropped = ph.ring_drops;
    let mut lost_note = String::new();
    if let Some(n) = &ph.nats {
        let cs = &n.collector;
        let rc = &n.remote.collectors[0];
        dropped += cs.dropped_events.load(r) + n.engine_ring_drops;
        let _ = write!(
            lost_note,
            " (ring {} + collector channel {} + engine ring {}; lost batches {}, slow-consumer msgs {}, stale {})",
            ph.ring_drops,
            cs.dropped_events.load(r),
            n.engine_ring_drops,
            rc.lost_batches.load(r),
            n.remote.nats.slow_consumer.load(r),
            rc.stale_quotes.load(r)
        );
    } else {
        let _ = write!(lost_note, " (ring {})", ph.ring_drops);
    }
    let missing = ph.sent.saturating_sub(c.quotes);
    println!("[{}]", ph.name);
    println!(
        "  events   sent {}  received {}  dropped {}{}  missing {}",
        ph.sent, c.quotes, dropped, lost_note, missing
    );
    println!(
        "  rate     {:.0} events/s end-to-end ({} received / {:.3} s, first push → last pop); producers offered {:.0}/s over {:.3} s, waited for ring space {} times",
        c.quotes as f64 / ph.duration_s.max(1e-9),
        c.quotes,
        ph.duration_s,
        ph.sent as f64 / ph.producer_s.max(1e-9),
        ph.producer_s,
        ph.producer_waits
    );
    if h.is_empty() {
        println!("  latency  (no samples)");
    } else {
        println!(
            "  latency  push → pop, µs: p50 {}  p99 {}  p99.9 {}  max {}  (mean {:.1}, {} samples)",
            us(h.value_at_quantile(0.5)),
            us(h.value_at_quantile(0.99)),
            us(h.value_at_quantile(0.999)),
            us(h.max()),
            h.mean() / 1e3,
            h.len()
        );
    }
    if ph.nats.is_some() && !c.engine_view.is_empty() {
        let e = &c.engine_view;
        println!(
            "           as the engine sees it (recv_ts moved by the ping clock offset, {:+.1} .. {:+.1} µs here): p50 {}  p99 {}  p99.9 {}  max {}",
            c.offset_range.0 as f64 / 1e3,
            c.offset_range.1 as f64 / 1e3,
            us(e.value_at_quantile(0.5)),
            us(e.value_at_quantile(0.99)),
            us(e.value_at_quantile(0.999)),
            us(e.max())
        );
    }
    if let Some(n) = &ph.nats {
        let cs = &n.collector;
        let rc = &n.remote.collectors[0];
        let events = cs.events.load(r);
        let batches = cs.batches.load(r);
        let hbs = cs.heartbeats.load(r);
        let bytes = cs.bytes.load(r);
        let delivered = events.saturating_sub(cs.dropped_events.load(r));
        let data_bytes = bytes.saturating_sub(hbs * n.hb_len);
        println!(
            "  collector {} events in {} batches ({:.1} events/batch), {} heartbeats; channel drops {} batches ({} events); published {}, publish errors {}",
            events,
            batches,
            delivered as f64 / batches.max(1) as f64,
            hbs,
            cs.dropped_batches.load(r),
            cs.dropped_events.load(r),
            cs.published.load(r),
            cs.publish_errors.load(r)
        );
        println!(
            "  receiver batches {}, events {}, lost batches {}, unmapped {}, decode errors {}, heartbeats {}, timeouts {}, clock offset {:+.1} µs, rtt {:.1} µs; {}",
            rc.batches.load(r),
            rc.events.load(r),
            rc.lost_batches.load(r),
            rc.unmapped.load(r),
            rc.decode_errors.load(r),
            rc.heartbeats.load(r),
            rc.timeouts.load(r),
            rc.clock_offset_ns.load(r) as f64 / 1e3,
            rc.rtt_ns.load(r) as f64 / 1e3,
            n.registry_report
        );
        let per_event = data_bytes as f64 / delivered.max(1) as f64;
        // Client → server framing per message: "PUB <subject> <len>\r\n" ... "\r\n".
        let subject = arb_io::nats::data_subject(COLLECTOR, Exchange::Binance).len() as f64;
        let avg_payload = data_bytes as f64 / batches.max(1) as f64;
        let framing = 4.0 + subject + 1.0 + (avg_payload.max(1.0).log10().floor() + 1.0) + 4.0;
        let with_framing = (data_bytes as f64 + framing * batches as f64) / delivered.max(1) as f64;
        println!(
            "  wire     data payload {} B / {} events = {:.2} B/event (quote record {} B + {} B header per batch; heartbeats excluded: {} x {} B); with NATS PUB framing ≈ {:.2} B/event",
            data_bytes,
            delivered,
            per_event,
            wire::QUOTE_LEN,
            wire::HEADER_LEN,
            hbs,
            n.hb_len,
            with_framing
        );
        println!(
            "  json     mean of {} quotes: binance bookTicker {:.1} B ({:.2}x the wire), in the combined-stream wrapper {:.1} B ({:.2}x), okx bbo-tbt {:.1} B ({:.2}x), serde_json normalised {:.1} B ({:.2}x)",
            json.quotes,
            json.binance_raw,
            json.binance_raw / per_event,
            json.binance_combined,
            json.binance_combined / per_event,
            json.okx_bbo,
            json.okx_bbo / per_event,
            json.normalised,
            json.normalised / per_event
        );
    }
    let mut cpu = String::new();
    for (name, s) in &ph.cpu {
        let _ = write!(cpu, "{name} {s:.2}  ");
    }
    if let Some(s) = ph.server_cpu_s {
        let _ = write!(cpu, "nats-server {s:.2}  ");
    }
    println!(
        "  cpu s    {}(wall {:.2} s, {} cores)",
        cpu,
        ph.duration_s,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse()?;
    let venues = venues(args.producers);
    let reg = registry(args.symbols, &venues)?;
    let json = json_sizes(&args, &reg)?;
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("arb nats_pipeline: collector → NATS → engine on loopback, versus local feeds");
    println!(
        "machine  nproc {nproc}, {}, profile {}",
        rustc_version(),
        if cfg!(debug_assertions) {
            "debug (unoptimised: numbers meaningless)"
        } else {
            "release"
        }
    );
    println!(
        "input    {} synthetic Event::Quote from {} producer threads into FeedTx rings ({} slots, DropNewest): decoded feed output stand-ins, NO JSON decode in the timing",
        args.events, args.producers, RING
    );
    println!(
        "settings symbols {} on {} venues ({}), rate {}, linger {} µs, max {} events/batch, channel {} batches, nats {}",
        args.symbols,
        venues.len(),
        venues
            .iter()
            .map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(","),
        if args.rate > 0.0 {
            format!("{:.0} events/s paced (full ring drops)", args.rate)
        } else {
            "max (producers wait for ring space)".into()
        },
        args.linger_us,
        args.max_events,
        args.channel_batches,
        args.nats
    );
    println!(
        "latency  = clock::wall_ns() when the counting \"core\" thread pops the quote − its recv_ts_ns (wall_ns() at the producer's push)"
    );
    if args.rate <= 0.0 {
        println!(
            "note     at max rate every ring and batch queue runs full, so latency there is queueing behind the backlog; the paced runs give the path's latency"
        );
    }
    let mut failed = false;
    if args.mode != Mode::NatsOnly {
        let ph = local_phase(&args)?;
        print_phase(&ph, &json);
        failed |= ph.core.quotes == 0;
    }
    if args.mode != Mode::LocalOnly {
        let ph = nats_phase(&args, &reg, &venues)?;
        print_phase(&ph, &json);
        failed |= ph.core.quotes == 0;
    }
    if failed {
        eprintln!("nats_pipeline: a phase received nothing");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
