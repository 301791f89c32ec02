//! `arb loadgen`: N WebSocket clients against a running arb server (loopback), a fraction
//! of them slow, multiplexed on a few poll-loop threads; reports delivery latency
//! percentiles (fast vs slow clients), messages received, disconnects, reconnects, and the
//! server's RSS before and after. A client whose connection ends reconnects by itself
//! (capped, jittered exponential backoff) and subscribes again, unless --no-reconnect.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use arb_engine::clock::{self, Stopwatch};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// Arguments of `arb loadgen`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Delivery latency is the time from the server serialising an update (its pub_ts) to the \
client reading it, so it includes the server's queueing per client and the socket. Run the \
server first, e.g. `arb demo` or `arb replay FILE --listen 127.0.0.1:8181 --loop forever`.

Reconnection is on by default: a client whose connection closes or fails (or whose server closed its side) waits a jittered backoff (from --reconnect-min-ms, doubling up to --reconnect-max-ms, reset once data flows again), connects again and sends the same subscription; reconnects are counted in the report and in --status-file. --no-reconnect leaves closed clients closed.

--status-file F is rewritten (atomically) every second during the run with one JSON object: t_s, clients, open, receiving (open and received data since their latest connect), messages, disconnects, reconnects, reconnect_attempts, reconnect_ms {count, p50, p99, max} (time from a client losing its connection to its first message on the next one), and window_s, fast_p99_ms, slow_p99_ms, fast_count, slow_count: delivery latency over the last 10 s only (null when no message was timed), so a soak can plot it per sample.

Examples:
  arb loadgen --clients 1000 --duration 30
  arb loadgen --clients 1000 --duration 600 --status-file /tmp/lg.json
  arb loadgen --clients 1000 --slow-fraction 0.1 --slow-delay-ms 500 --duration 60 --report-json l.json")]
pub(crate) struct LoadgenArgs {
    /// WebSocket URL of the server's stream endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:8181/ws")]
    url: String,
    /// Clients to connect.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Symbols each client subscribes to (picked round-robin from /api/symbols).
    #[arg(long, default_value_t = 10)]
    symbols: usize,
    /// Channels each client subscribes to.
    #[arg(long, value_delimiter = ',', default_value = "quotes,spreads")]
    channels: Vec<String>,
    /// Fraction of clients that read slowly.
    #[arg(long, default_value_t = 0.0)]
    slow_fraction: f64,
    /// How long a slow client sleeps before each read, ms.
    #[arg(long, default_value_t = 500)]
    slow_delay_ms: u64,
    /// Seconds to run (after every client connected).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Threads driving the clients (each runs a poll loop over its share).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Write the results as JSON.
    #[arg(long, value_name = "FILE")]
    report_json: Option<std::path::PathBuf>,
    /// Rewrite this file every second with the live counters as JSON (see below).
    #[arg(long, value_name = "FILE")]
    status_file: Option<std::path::PathBuf>,
    /// Do not reconnect clients whose connection ended (reconnecting is the default).
    #[arg(long)]
    no_reconnect: bool,
    /// First reconnect backoff, ms (doubles per failed attempt, jittered to 50..100 %).
    #[arg(long, default_value_t = 100, value_name = "MS")]
    reconnect_min_ms: u64,
    /// Backoff cap, ms.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    reconnect_max_ms: u64,
}

/// A client's reconnect backoff: `min` doubling per failure up to `max`, each wait drawn
/// from 50..100 % of the current step (so a thousand clients do not retry in lockstep).
#[derive(Debug, Clone)]
struct Backoff {
    min_ms: u64,
    max_ms: u64,
    step_ms: u64,
    rng: u64,
}

impl Backoff {
    fn new(min_ms: u64, max_ms: u64, seed: u64) -> Backoff {
        let min_ms = min_ms.max(1);
        Backoff {
            min_ms,
            max_ms: max_ms.max(min_ms),
            step_ms: min_ms,
            rng: seed | 1,
        }
    }

    /// The next wait, ms; doubles the step for the one after.
    fn next_ms(&mut self) -> u64 {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let half = self.step_ms / 2;
        let wait = self.step_ms - half + self.rng % (half + 1);
        self.step_ms = (self.step_ms * 2).min(self.max_ms);
        wait
    }

    /// Back to the first step (the connection works again).
    fn reset(&mut self) {
        self.step_ms = self.min_ms;
    }
}

#[derive(Default)]
struct Totals {
    fast: Option<Histogram<u64>>,
    slow: Option<Histogram<u64>>,
}

/// Live counters every worker updates, read by the status file and the report.
#[derive(Default)]
struct Live {
    /// Clients with an open connection.
    open: AtomicU64,
    /// Open clients that received a message since their latest connect.
    receiving: AtomicU64,
    /// Successful reconnections.
    reconnects: AtomicU64,
    /// Reconnection attempts (successful or not).
    reconnect_attempts: AtomicU64,
    /// Time from losing a connection to the first message on the next one, ms.
    reconnect_ms: Mutex<Option<Histogram<u64>>>,
    /// Delivery latency recorded since the status writer last took it (fast, slow): each
    /// worker adds its own about once a second.
    window: Mutex<LatencyPair>,
}

/// Delivery latency of the fast and the slow clients (`None` until one is timed).
type LatencyPair = (Option<Histogram<u64>>, Option<Histogram<u64>>);

/// Adds `h` into `slot` (empty histograms are skipped).
fn merge_into(slot: &mut Option<Histogram<u64>>, h: &Histogram<u64>) {
    if h.is_empty() {
        return;
    }
    match slot {
        Some(acc) => {
            let _ = acc.add(h);
        }
        None => *slot = Some(h.clone()),
    }
}

/// The status file's rolling latency: the last [`WINDOW_SECS`] one-second windows.
const WINDOW_SECS: usize = 10;

impl Live {
    fn reconnect_json(&self) -> Value {
        match self.reconnect_ms.lock().ok().as_deref() {
            Some(Some(h)) if !h.is_empty() => json!({
                "count": h.len(), "p50": h.value_at_quantile(0.5), "p99": h.value_at_quantile(0.99),
                "max": h.max(),
            }),
            _ => json!({"count": 0}),
        }
    }
}

fn hist() -> Histogram<u64> {
    // 1 µs .. 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

/// `host:port` and path of a `ws://` URL.
fn split_url(url: &str) -> anyhow::Result<(String, String)> {
    let rest = url
        .strip_prefix("ws://")
        .context("--url must start with ws:// (loadgen targets loopback servers)")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((host.to_string(), format!("/{path}")))
}

/// A GET over a fresh connection; returns the JSON body.
fn http_get(host: &str, path: &str) -> anyhow::Result<Value> {
    let mut s = TcpStream::connect(host).with_context(|| format!("connecting to {host}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .context("no HTTP body")?;
    Ok(serde_json::from_str(body)?)
}

pub(crate) fn run(args: &LoadgenArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.clients > 0, "--clients must be positive");
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.slow_fraction),
        "--slow-fraction must be within 0..1"
    );
    let (host, _) = split_url(&args.url)?;
    let symbols: Vec<String> = http_get(&host, "/api/symbols")?
        .as_array()
        .context("/api/symbols is not a list")?
        .iter()
        .filter_map(|s| s["symbol"].as_str().map(str::to_string))
        .collect();
    anyhow::ensure!(!symbols.is_empty(), "the server lists no symbols");
    let rss_before = http_get(&host, "/api/health")?["memory"]["rss_bytes"]
        .as_u64()
        .unwrap_or(0);
    let slow_n = (args.clients as f64 * args.slow_fraction).round() as usize;
    eprintln!(
        "arb loadgen: {} clients ({} slow, {} ms per read) x {} symbols on {}, {} s",
        args.clients, slow_n, args.slow_delay_ms, args.symbols, args.url, args.duration
    );
    let stop = Arc::new(AtomicBool::new(false));
    let totals = Arc::new(Mutex::new(Totals::default()));
    let received = Arc::new(AtomicU64::new(0));
    let disconnects = Arc::new(AtomicU64::new(0));
    let connect_failures = Arc::new(AtomicU64::new(0));
    let connected = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(AtomicU64::new(0));
    let live = Arc::new(Live::default());
    let threads = args.threads.clamp(1, args.clients);
    let mut handles = Vec::with_capacity(threads);
    for t in 0..threads {
        // Client i belongs to thread i % threads; slow clients are spread the same way.
        let plans: Vec<ClientPlan> = (t..args.clients)
            .step_by(threads)
            .map(|i| ClientPlan {
                slow: (i * slow_n) / args.clients.max(1)
                    != ((i + 1) * slow_n) / args.clients.max(1),
                symbols: (0..args.symbols.min(symbols.len()))
                    .map(|k| symbols[(i * args.symbols + k) % symbols.len()].clone())
                    .collect(),
            })
            .collect();
        let ctx = WorkerCtx {
            url: args.url.clone(),
            channels: args.channels.clone(),
            delay: Duration::from_millis(args.slow_delay_ms),
            stop: Arc::clone(&stop),
            totals: Arc::clone(&totals),
            received: Arc::clone(&received),
            disconnects: Arc::clone(&disconnects),
            connect_failures: Arc::clone(&connect_failures),
            connected: Arc::clone(&connected),
            ready: Arc::clone(&ready),
            workers: threads as u64,
            live: Arc::clone(&live),
            reconnect: (!args.no_reconnect)
                .then_some((args.reconnect_min_ms, args.reconnect_max_ms)),
            seed: clock::wall_ns() as u64 ^ ((t as u64 + 1) * 0x9E37_79B9_7F4A_7C15),
        };
        handles.push(
            std::thread::Builder::new()
                .name(format!("loadgen-{t}"))
                .spawn(move || worker(&ctx, plans))?,
        );
    }
    // The measured run starts once every client is connected (or failed to).
    let setup = Stopwatch::start();
    while connected.load(Ordering::Relaxed) + connect_failures.load(Ordering::Relaxed)
        < args.clients as u64
        && setup.elapsed_s() < 120.0
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "arb loadgen: {} clients connected in {:.1} s ({} failed)",
        connected.load(Ordering::Relaxed),
        setup.elapsed_s(),
        connect_failures.load(Ordering::Relaxed)
    );
    let received_at_start = received.load(Ordering::Relaxed);
    let watch = Stopwatch::start();
    // The server's RSS once a second while loaded: flat or growing?
    let mut rss_series: Vec<u64> = Vec::new();
    // SIGINT / SIGTERM end the run early, with the report of what was measured.
    let shutdown = crate::shutdown::Shutdown::install()?;
    // The last WINDOW_SECS per-second windows of delivery latency (fast, slow).
    let mut windows: std::collections::VecDeque<LatencyPair> =
        std::collections::VecDeque::with_capacity(WINDOW_SECS + 1);
    let mut write_status = |t: f64| {
        let Some(p) = &args.status_file else {
            return;
        };
        if let Ok(mut w) = live.window.lock() {
            windows.push_back(std::mem::take(&mut *w));
        }
        while windows.len() > WINDOW_SECS {
            windows.pop_front();
        }
        let (mut wf, mut ws) = (None, None);
        for (f, s) in &windows {
            if let Some(f) = f {
                merge_into(&mut wf, f);
            }
            if let Some(s) = s {
                merge_into(&mut ws, s);
            }
        }
        let p99 =
            |h: &Option<Histogram<u64>>| h.as_ref().map(|h| h.value_at_quantile(0.99) as f64 / 1e3);
        let count = |h: &Option<Histogram<u64>>| h.as_ref().map_or(0, |h| h.len());
        let v = json!({
            "window_s": windows.len(),
            "fast_p99_ms": p99(&wf),
            "slow_p99_ms": p99(&ws),
            "fast_count": count(&wf),
            "slow_count": count(&ws),
            "t_s": t,
            "clients": args.clients,
            "open": live.open.load(Ordering::Relaxed),
            "receiving": live.receiving.load(Ordering::Relaxed),
            "messages": received.load(Ordering::Relaxed),
            "disconnects": disconnects.load(Ordering::Relaxed),
            "reconnects": live.reconnects.load(Ordering::Relaxed),
            "reconnect_attempts": live.reconnect_attempts.load(Ordering::Relaxed),
            "reconnect_ms": live.reconnect_json(),
        });
        let tmp = p.with_extension("tmp");
        if std::fs::write(&tmp, v.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, p);
        }
    };
    write_status(0.0);
    while watch.elapsed_s() < args.duration && !shutdown.requested() {
        std::thread::sleep(Duration::from_millis(1000));
        write_status(watch.elapsed_s());
        let rss = http_get(&host, "/api/health")
            .ok()
            .and_then(|h| h["memory"]["rss_bytes"].as_u64())
            .unwrap_or(0);
        rss_series.push(rss);
        eprintln!(
            "arb loadgen: {:5.1}s  {} messages  {} open  {} receiving  {} disconnects  {} reconnects  server rss {}",
            watch.elapsed_s(),
            received.load(Ordering::Relaxed),
            live.open.load(Ordering::Relaxed),
            live.receiving.load(Ordering::Relaxed),
            disconnects.load(Ordering::Relaxed),
            live.reconnects.load(Ordering::Relaxed),
            crate::report::mib(rss)
        );
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    let health = http_get(&host, "/api/health").unwrap_or(Value::Null);
    let rss_after = health["memory"]["rss_bytes"].as_u64().unwrap_or(0);
    let t = totals
        .lock()
        .map_err(|_| anyhow::anyhow!("a client panicked"))?;
    let pct = |h: &Option<Histogram<u64>>| match h {
        Some(h) if !h.is_empty() => json!({
            "count": h.len(), "p50_us": h.value_at_quantile(0.5), "p99_us": h.value_at_quantile(0.99),
            "p999_us": h.value_at_quantile(0.999), "max_us": h.max(),
        }),
        _ => Value::Null,
    };
    let report = json!({
        "clients": args.clients,
        "slow_clients": slow_n,
        "slow_delay_ms": args.slow_delay_ms,
        "symbols_per_client": args.symbols,
        "duration_s": watch.elapsed_s(),
        "messages": received.load(Ordering::Relaxed),
        "messages_per_s": (received.load(Ordering::Relaxed) - received_at_start) as f64
            / watch.elapsed_s().max(1e-9),
        "disconnects": disconnects.load(Ordering::Relaxed),
        "connect_failures": connect_failures.load(Ordering::Relaxed),
        "reconnect": !args.no_reconnect,
        "reconnects": live.reconnects.load(Ordering::Relaxed),
        "reconnect_attempts": live.reconnect_attempts.load(Ordering::Relaxed),
        "reconnect_ms": live.reconnect_json(),
        "latency_fast": pct(&t.fast),
        "latency_slow": pct(&t.slow),
        "server_rss_before_bytes": rss_before,
        "server_rss_after_bytes": rss_after,
        // Under load, sampled once a second: the first sample after connecting, the
        // last, and the highest (a flat server has last ≈ first).
        "server_rss_loaded_first_bytes": rss_series.first(),
        "server_rss_loaded_last_bytes": rss_series.last(),
        "server_rss_loaded_max_bytes": rss_series.iter().max(),
        "server_drops": health["drops"],
    });
    write_status(watch.elapsed_s());
    eprintln!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(p) = &args.report_json {
        std::fs::write(p, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    println!(
        "arb loadgen: {} clients, {} messages, {} disconnects, {} reconnects ({} attempts), reconnect ms {}",
        args.clients,
        received.load(Ordering::Relaxed),
        disconnects.load(Ordering::Relaxed),
        live.reconnects.load(Ordering::Relaxed),
        live.reconnect_attempts.load(Ordering::Relaxed),
        live.reconnect_json()
    );
    Ok(ExitCode::SUCCESS)
}

/// What one simulated client does.
struct ClientPlan {
    slow: bool,
    symbols: Vec<String>,
}

/// What a worker thread shares with the others.
struct WorkerCtx {
    url: String,
    channels: Vec<String>,
    delay: Duration,
    stop: Arc<AtomicBool>,
    totals: Arc<Mutex<Totals>>,
    received: Arc<AtomicU64>,
    disconnects: Arc<AtomicU64>,
    connect_failures: Arc<AtomicU64>,
    connected: Arc<AtomicU64>,
    /// Workers done connecting, and how many there are.
    ready: Arc<AtomicU64>,
    workers: u64,
    live: Arc<Live>,
    /// Reconnect backoff (min, max) in ms; `None`: closed clients stay closed.
    reconnect: Option<(u64, u64)>,
    /// Seed of the backoff jitter.
    seed: u64,
}

struct Client {
    /// The connection; `None` while down (waiting for its reconnect).
    ws: Option<tungstenite::WebSocket<TcpStream>>,
    /// A reconnect's handshake in progress (non-blocking, so a slow server never stalls
    /// the thread's other clients), and when it started.
    pending: Option<(Pending, i64)>,
    slow: bool,
    next_read_ns: i64,
    /// The subscribe message, sent after every connect (the first one once every client
    /// is connected, so no socket fills while the others connect).
    subscribe: String,
    /// Received a message since the latest connect.
    got: bool,
    /// When the connection was lost (0: never), for the reconnect time.
    down_since_ns: i64,
    /// When to try connecting again.
    retry_at_ns: i64,
    backoff: Backoff,
    /// When the current connection came up, and messages read on it (for the stale-read
    /// diagnostics).
    up_ns: i64,
    read_on_conn: u64,
    /// A stale read on this connection was already reported.
    stale_told: bool,
}

/// A read this old is reported on stderr (the first few), with how long the client had
/// been connected: a server that stops closing lagging clients shows as old connections,
/// a stale backlog as fresh ones.
const STALE_US: u64 = 30_000_000;
/// At most this many stale reads are reported per worker.
const STALE_REPORTS: u32 = 5;

/// A client handshake waiting for the server.
type Pending = tungstenite::handshake::MidHandshake<tungstenite::ClientHandshake<TcpStream>>;

/// Where a non-blocking handshake stands.
enum Shake {
    Done(tungstenite::WebSocket<TcpStream>),
    Waiting(Pending),
    Failed,
}

/// What `tungstenite::client` and `MidHandshake::handshake` return.
type ShakeResult = Result<
    (
        tungstenite::WebSocket<TcpStream>,
        tungstenite::handshake::client::Response,
    ),
    tungstenite::HandshakeError<tungstenite::ClientHandshake<TcpStream>>,
>;

impl From<ShakeResult> for Shake {
    fn from(r: ShakeResult) -> Shake {
        match r {
            Ok((ws, _)) => Shake::Done(ws),
            Err(tungstenite::HandshakeError::Interrupted(mid)) => Shake::Waiting(mid),
            Err(tungstenite::HandshakeError::Failure(_)) => Shake::Failed,
        }
    }
}

/// Connects one client (blocking handshake, at most `timeout` for the answer) and makes
/// it non-blocking.
fn connect(url: &str, timeout: Duration) -> anyhow::Result<tungstenite::WebSocket<TcpStream>> {
    let (host, _) = split_url(url)?;
    let stream = TcpStream::connect(&host)?;
    stream.set_read_timeout(Some(timeout))?;
    let (ws, _) = tungstenite::client(url, stream).map_err(|e| anyhow::anyhow!("{e}"))?;
    ws.get_ref().set_nonblocking(true)?;
    Ok(ws)
}

/// One worker thread: its clients on one mio poll loop (so a thousand clients cost a
/// couple of threads, not a thousand); fast clients read everything that arrives, slow
/// ones one message per `delay`. Clients whose connection ends reconnect after their
/// backoff (when enabled) and subscribe again.
#[allow(clippy::too_many_lines)]
fn worker(ctx: &WorkerCtx, plans: Vec<ClientPlan>) {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};
    use std::os::fd::AsRawFd as _;

    let (mut fast, mut slow) = (hist(), hist());
    let Ok(mut poll) = Poll::new() else {
        return;
    };
    let (bmin, bmax) = ctx.reconnect.unwrap_or((100, 2000));
    let live = &*ctx.live;
    let mut clients: Vec<Client> = Vec::with_capacity(plans.len());
    for (i, plan) in plans.into_iter().enumerate() {
        let mut c = Client {
            ws: None,
            slow: plan.slow,
            next_read_ns: 0,
            subscribe:
                json!({"op": "subscribe", "channels": ctx.channels, "symbols": plan.symbols})
                    .to_string(),
            pending: None,
            got: false,
            down_since_ns: 0,
            retry_at_ns: 0,
            backoff: Backoff::new(bmin, bmax, ctx.seed.wrapping_add(i as u64 * 0x2545_F491)),
            up_ns: clock::mono_ns(),
            read_on_conn: 0,
            stale_told: false,
        };
        // A generous timeout for the first handshake: a busy server answers late.
        match connect(&ctx.url, Duration::from_secs(30)) {
            Ok(ws) => {
                let fd = ws.get_ref().as_raw_fd();
                if poll
                    .registry()
                    .register(&mut SourceFd(&fd), Token(i), Interest::READABLE)
                    .is_ok()
                {
                    c.ws = Some(ws);
                    ctx.connected.fetch_add(1, Ordering::Relaxed);
                    live.open.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                if ctx.connect_failures.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("arb loadgen: a client could not connect: {e:#}");
                }
                c.down_since_ns = clock::mono_ns();
                c.retry_at_ns = c.down_since_ns + ms_ns(c.backoff.next_ms());
            }
        }
        clients.push(c);
    }
    // Subscribe only when every worker's clients are connected.
    ctx.ready.fetch_add(1, Ordering::AcqRel);
    while ctx.ready.load(Ordering::Acquire) < ctx.workers && !ctx.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
    }
    for c in &mut clients {
        if let Some(ws) = &mut c.ws {
            let msg = tungstenite::Message::Text(c.subscribe.clone().into());
            if ws.send(msg).is_err() {
                // WouldBlock on a fresh socket is not expected; flush below retries.
                let _ = ws.flush();
            }
        }
    }
    // Ends a client's connection: counted, and its reconnect scheduled.
    let drop_client = |c: &mut Client, poll: &mut Poll, now: i64| {
        if let Some(ws) = c.ws.take() {
            let fd = ws.get_ref().as_raw_fd();
            let _ = poll.registry().deregister(&mut SourceFd(&fd));
            drop(ws);
            live.open.fetch_sub(1, Ordering::Relaxed);
            if c.got {
                live.receiving.fetch_sub(1, Ordering::Relaxed);
            }
            ctx.disconnects.fetch_add(1, Ordering::Relaxed);
            c.got = false;
            c.down_since_ns = now;
            c.retry_at_ns = now + ms_ns(c.backoff.next_ms());
        }
    };
    // A reconnect's handshake is done: read only, subscribe as at start, count it.
    let up = |c: &mut Client,
              mut ws: tungstenite::WebSocket<TcpStream>,
              poll: &mut Poll,
              i: usize,
              now: i64| {
        let fd = ws.get_ref().as_raw_fd();
        let _ = poll
            .registry()
            .reregister(&mut SourceFd(&fd), Token(i), Interest::READABLE);
        let msg = tungstenite::Message::Text(c.subscribe.clone().into());
        if ws.send(msg).is_err() {
            let _ = ws.flush();
        }
        c.ws = Some(ws);
        c.next_read_ns = now;
        c.up_ns = now;
        c.read_on_conn = 0;
        c.stale_told = false;
        live.open.fetch_add(1, Ordering::Relaxed);
        live.reconnects.fetch_add(1, Ordering::Relaxed);
    };
    let host = split_url(&ctx.url).map(|(h, _)| h).unwrap_or_default();
    let mut events = Events::with_capacity(1024);
    let delay_ns = i64::try_from(ctx.delay.as_nanos()).unwrap_or(i64::MAX);
    let mut counted = 0u64;
    let mut stale_reports = 0u32;
    let mut next_retry_scan = 0i64;
    // This worker's latency since its last hand-over to the status file's window.
    let (mut win_fast, mut win_slow) = (hist(), hist());
    let mut next_window_ns = 0i64;
    while !ctx.stop.load(Ordering::Relaxed) {
        let _ = poll.poll(&mut events, Some(Duration::from_millis(5)));
        let now = clock::mono_ns();
        // Fast clients: whatever became readable. Slow ones: one message when due,
        // whether or not a new event came (their socket stays full). A client whose
        // server closed its side is dropped at once (a slow one would otherwise read
        // stale buffered data for minutes before reaching the close).
        let mut ready: Vec<(usize, bool)> = events
            .iter()
            .map(|e| (e.token().0, e.is_read_closed() || e.is_error()))
            .collect();
        ready.extend(
            (0..clients.len())
                .filter(|&i| {
                    clients[i].slow && clients[i].ws.is_some() && clients[i].next_read_ns <= now
                })
                .map(|i| (i, false)),
        );
        for (i, closed) in ready {
            let Some(c) = clients.get_mut(i) else {
                continue;
            };
            if let Some((mid, started)) = c.pending.take() {
                match Shake::from(mid.handshake()) {
                    Shake::Done(ws) => up(c, ws, &mut poll, i, now),
                    Shake::Waiting(mid) => c.pending = Some((mid, started)),
                    Shake::Failed => c.retry_at_ns = now + ms_ns(c.backoff.next_ms()),
                }
                continue;
            }
            let Some(ws) = c.ws.as_mut() else {
                continue;
            };
            if closed && c.slow {
                drop_client(c, &mut poll, now);
                continue;
            }
            if c.slow && c.next_read_ns > now {
                continue;
            }
            let budget = if c.slow { 1 } else { usize::MAX };
            let mut n = 0;
            let mut lost = closed;
            let mut why = closed.then(|| "the server closed its side".to_string());
            while n < budget {
                match ws.read() {
                    Ok(tungstenite::Message::Text(t)) => {
                        n += 1;
                        if let Some(p) = field_f64(t.as_str(), "\"pub_ts\":") {
                            let now_us = clock::wall_ns() / 1000;
                            let lat = (now_us - (p * 1e6) as i64).max(1) as u64;
                            let (h, w) = if c.slow {
                                (&mut slow, &mut win_slow)
                            } else {
                                (&mut fast, &mut win_fast)
                            };
                            let _ = h.record(lat.min(60_000_000));
                            let _ = w.record(lat.min(60_000_000));
                            counted += 1;
                            c.read_on_conn += 1;
                            if lat > STALE_US && !c.stale_told && stale_reports < STALE_REPORTS {
                                c.stale_told = true;
                                stale_reports += 1;
                                let head: String = t.as_str().chars().take(160).collect();
                                eprintln!(
                                    "arb loadgen: a {} client read a message {:.1} s old, {:.1} s after connecting, {} messages into the connection: {head}",
                                    if c.slow { "slow" } else { "fast" },
                                    lat as f64 / 1e6,
                                    (now - c.up_ns) as f64 / 1e9,
                                    c.read_on_conn
                                );
                            }
                        }
                    }
                    Ok(tungstenite::Message::Close(f)) => {
                        lost = true;
                        why = Some(format!("close frame {f:?}"));
                        break;
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if e.kind() == std::io::ErrorKind::WouldBlock =>
                    {
                        break;
                    }
                    Err(e) => {
                        lost = true;
                        why = Some(format!("{e}"));
                        break;
                    }
                }
            }
            if n > 0 && !c.got {
                c.got = true;
                c.backoff.reset();
                live.receiving.fetch_add(1, Ordering::Relaxed);
                if c.down_since_ns > 0 {
                    let ms = ((now - c.down_since_ns) / 1_000_000).max(1) as u64;
                    if let Ok(mut h) = live.reconnect_ms.lock() {
                        let _ = h.get_or_insert_with(hist).record(ms.min(60_000_000));
                    }
                    c.down_since_ns = 0;
                }
            }
            if lost {
                // The first few reasons, for diagnosis.
                if ctx.disconnects.load(Ordering::Relaxed) < 3 {
                    eprintln!(
                        "arb loadgen: a client lost its connection: {}",
                        why.as_deref().unwrap_or("?")
                    );
                }
                drop_client(c, &mut poll, now);
                continue;
            }
            // Pings are answered as part of reading; push the pong out.
            let _ = ws.flush();
            if c.slow {
                c.next_read_ns = now + delay_ns;
            }
        }
        // Reconnect the clients whose backoff is over (every 10 ms at most): the TCP connect
        // (loopback: at once), then the handshake on the poll loop; give a handshake 10 s.
        if ctx.reconnect.is_some() && now >= next_retry_scan {
            next_retry_scan = now + 10_000_000;
            for (i, c) in clients.iter_mut().enumerate() {
                if let Some((_, started)) = &c.pending {
                    if now - started > 10_000_000_000 {
                        c.pending = None;
                        c.retry_at_ns = now + ms_ns(c.backoff.next_ms());
                    }
                    continue;
                }
                if c.ws.is_some() || c.retry_at_ns > now || ctx.stop.load(Ordering::Relaxed) {
                    continue;
                }
                live.reconnect_attempts.fetch_add(1, Ordering::Relaxed);
                let stream = TcpStream::connect(&host).and_then(|s| {
                    s.set_nonblocking(true)?;
                    let fd = s.as_raw_fd();
                    poll.registry().register(
                        &mut SourceFd(&fd),
                        Token(i),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    Ok(s)
                });
                let shake = match stream {
                    Ok(s) => Shake::from(tungstenite::client(ctx.url.as_str(), s)),
                    Err(_) => Shake::Failed,
                };
                match shake {
                    Shake::Done(ws) => up(c, ws, &mut poll, i, now),
                    Shake::Waiting(mid) => c.pending = Some((mid, now)),
                    Shake::Failed => c.retry_at_ns = now + ms_ns(c.backoff.next_ms()),
                }
            }
        }
        if counted >= 4096 {
            ctx.received.fetch_add(counted, Ordering::Relaxed);
            counted = 0;
        }
        if now >= next_window_ns {
            next_window_ns = now + 1_000_000_000;
            if let Ok(mut w) = live.window.lock() {
                merge_into(&mut w.0, &win_fast);
                merge_into(&mut w.1, &win_slow);
            }
            win_fast.reset();
            win_slow.reset();
        }
    }
    ctx.received.fetch_add(counted, Ordering::Relaxed);
    for c in &mut clients {
        if let Some(ws) = &mut c.ws {
            let _ = ws.close(None);
            let _ = ws.flush();
        }
    }
    if let Ok(mut t) = ctx.totals.lock() {
        let t = &mut *t;
        for (slot, h) in [(&mut t.fast, fast), (&mut t.slow, slow)] {
            if h.is_empty() {
                continue;
            }
            match slot {
                Some(acc) => {
                    let _ = acc.add(&h);
                }
                None => *slot = Some(h),
            }
        }
    }
}

/// Milliseconds as nanoseconds.
fn ms_ns(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX / 2_000_000) * 1_000_000
}

/// The number after `key` in a JSON text (cheaper than parsing every message).
fn field_f64(text: &str, key: &str) -> Option<f64> {
    let i = text.find(key)? + key.len();
    let rest = &text[i..];
    let end = rest
        .find(|c: char| {
            !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e' || c == 'E' || c == '+')
        })
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_with_jitter_and_resets() {
        let mut b = Backoff::new(100, 2000, 7);
        let waits: Vec<u64> = (0..8).map(|_| b.next_ms()).collect();
        // Steps 100, 200, 400, 800, 1600, 2000, 2000, 2000; each wait in 50..100 % of its step.
        for (w, step) in waits
            .iter()
            .zip([100, 200, 400, 800, 1600, 2000, 2000, 2000])
        {
            assert!(
                (step / 2..=step).contains(w),
                "{w} outside {step}/2..={step}"
            );
        }
        b.reset();
        assert!(b.next_ms() <= 100);
        // Jitter: two clients with different seeds do not retry in lockstep.
        let mut a = Backoff::new(100, 2000, 1);
        let mut c = Backoff::new(100, 2000, 2);
        let same = (0..10).filter(|_| a.next_ms() == c.next_ms()).count();
        assert!(same < 10);
    }

    #[test]
    fn pub_ts_is_found() {
        assert_eq!(
            field_f64(r#"{"pub_ts":12.5,"x":1}"#, "\"pub_ts\":"),
            Some(12.5)
        );
        assert_eq!(field_f64("{}", "\"pub_ts\":"), None);
    }
}
