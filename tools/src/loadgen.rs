//! `arb loadgen`: N WebSocket clients against a running arb server (loopback), a fraction
//! of them slow, multiplexed on a few poll-loop threads; reports delivery latency
//! percentiles (fast vs slow clients), messages received, disconnects, and the server's
//! RSS before and after.

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

Examples:
  arb loadgen --clients 1000 --duration 30
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
}

#[derive(Default)]
struct Totals {
    fast: Option<Histogram<u64>>,
    slow: Option<Histogram<u64>>,
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
    while watch.elapsed_s() < args.duration && !shutdown.requested() {
        std::thread::sleep(Duration::from_millis(1000));
        let rss = http_get(&host, "/api/health")
            .ok()
            .and_then(|h| h["memory"]["rss_bytes"].as_u64())
            .unwrap_or(0);
        rss_series.push(rss);
        eprintln!(
            "arb loadgen: {:5.1}s  {} messages  {} disconnects  server rss {}",
            watch.elapsed_s(),
            received.load(Ordering::Relaxed),
            disconnects.load(Ordering::Relaxed),
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
    eprintln!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(p) = &args.report_json {
        std::fs::write(p, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
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
}

struct Client {
    ws: tungstenite::WebSocket<TcpStream>,
    slow: bool,
    next_read_ns: i64,
    open: bool,
    /// Sent once every client is connected, so no socket fills while the others connect.
    subscribe: String,
}

/// Connects one client (blocking handshake) and makes it non-blocking.
fn connect(url: &str, channels: &[String], symbols: &[String]) -> anyhow::Result<Client> {
    let (host, _) = split_url(url)?;
    let stream = TcpStream::connect(&host)?;
    // A generous timeout for the handshake: a busy server answers late.
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let (ws, _) = tungstenite::client(url, stream).map_err(|e| anyhow::anyhow!("{e}"))?;
    ws.get_ref().set_nonblocking(true)?;
    Ok(Client {
        ws,
        slow: false,
        next_read_ns: 0,
        open: true,
        subscribe: json!({"op": "subscribe", "channels": channels, "symbols": symbols}).to_string(),
    })
}

/// One worker thread: its clients on one mio poll loop (so a thousand clients cost a
/// couple of threads, not a thousand); fast clients read everything that arrives, slow
/// ones one message per `delay`.
fn worker(ctx: &WorkerCtx, plans: Vec<ClientPlan>) {
    use mio::unix::SourceFd;
    use mio::{Events, Interest, Poll, Token};
    use std::os::fd::AsRawFd as _;

    let (mut fast, mut slow) = (hist(), hist());
    let mut clients: Vec<Client> = Vec::with_capacity(plans.len());
    let Ok(mut poll) = Poll::new() else {
        return;
    };
    for plan in plans {
        match connect(&ctx.url, &ctx.channels, &plan.symbols) {
            Ok(mut c) => {
                c.slow = plan.slow;
                let fd = c.ws.get_ref().as_raw_fd();
                if poll
                    .registry()
                    .register(&mut SourceFd(&fd), Token(clients.len()), Interest::READABLE)
                    .is_ok()
                {
                    clients.push(c);
                    ctx.connected.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                if ctx.connect_failures.fetch_add(1, Ordering::Relaxed) == 0 {
                    eprintln!("arb loadgen: a client could not connect: {e:#}");
                }
            }
        }
    }
    // Subscribe only when every worker's clients are connected.
    ctx.ready.fetch_add(1, Ordering::AcqRel);
    while ctx.ready.load(Ordering::Acquire) < ctx.workers && !ctx.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
    }
    for c in &mut clients {
        let msg = tungstenite::Message::Text(std::mem::take(&mut c.subscribe).into());
        if c.ws.send(msg).is_err() {
            // WouldBlock on a fresh socket is not expected; flush below retries.
            let _ = c.ws.flush();
        }
    }
    let mut events = Events::with_capacity(1024);
    let delay_ns = i64::try_from(ctx.delay.as_nanos()).unwrap_or(i64::MAX);
    let mut counted = 0u64;
    while !ctx.stop.load(Ordering::Relaxed) {
        let _ = poll.poll(&mut events, Some(Duration::from_millis(5)));
        let now = clock::mono_ns();
        // Fast clients: whatever became readable. Slow ones: one message when due,
        // whether or not a new event came (their socket stays full).
        let mut ready: Vec<usize> = events.iter().map(|e| e.token().0).collect();
        ready.extend(
            (0..clients.len()).filter(|&i| clients[i].slow && clients[i].next_read_ns <= now),
        );
        for i in ready {
            let Some(c) = clients.get_mut(i) else {
                continue;
            };
            if !c.open || (c.slow && c.next_read_ns > now) {
                continue;
            }
            let budget = if c.slow { 1 } else { usize::MAX };
            let mut n = 0;
            while n < budget {
                match c.ws.read() {
                    Ok(tungstenite::Message::Text(t)) => {
                        n += 1;
                        if let Some(p) = field_f64(t.as_str(), "\"pub_ts\":") {
                            let now_us = clock::wall_ns() / 1000;
                            let lat = (now_us - (p * 1e6) as i64).max(1) as u64;
                            let h = if c.slow { &mut slow } else { &mut fast };
                            let _ = h.record(lat.min(60_000_000));
                            counted += 1;
                        }
                    }
                    Ok(tungstenite::Message::Close(_)) => {
                        c.open = false;
                        ctx.disconnects.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if e.kind() == std::io::ErrorKind::WouldBlock =>
                    {
                        break;
                    }
                    Err(_) => {
                        c.open = false;
                        ctx.disconnects.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
            // Pings are answered as part of reading; push the pong out.
            let _ = c.ws.flush();
            if c.slow {
                c.next_read_ns = now + delay_ns;
            }
        }
        if counted >= 4096 {
            ctx.received.fetch_add(counted, Ordering::Relaxed);
            counted = 0;
        }
    }
    ctx.received.fetch_add(counted, Ordering::Relaxed);
    for c in &mut clients {
        if c.open {
            let _ = c.ws.close(None);
            let _ = c.ws.flush();
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
