//! `arb loadgen`: N WebSocket clients against a running arb server (loopback), a fraction
//! of them slow; reports delivery latency percentiles (fast vs slow clients), messages
//! received, disconnects, and the server's RSS before and after.

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
    /// Seconds to run.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
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
    let mut handles = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        let slow = i < slow_n;
        let subs: Vec<String> = (0..args.symbols.min(symbols.len()))
            .map(|k| symbols[(i * args.symbols + k) % symbols.len()].clone())
            .collect();
        let (url, channels) = (args.url.clone(), args.channels.clone());
        let (stop, totals, received, disconnects, connect_failures) = (
            Arc::clone(&stop),
            Arc::clone(&totals),
            Arc::clone(&received),
            Arc::clone(&disconnects),
            Arc::clone(&connect_failures),
        );
        let delay = Duration::from_millis(args.slow_delay_ms);
        handles.push(
            std::thread::Builder::new()
                .name(format!("client-{i}"))
                .stack_size(256 * 1024)
                .spawn(move || {
                    let mut h = hist();
                    let n = client(
                        &url,
                        &channels,
                        &subs,
                        slow.then_some(delay),
                        &stop,
                        &mut h,
                        &received,
                    );
                    match n {
                        Ok((_, closed)) => {
                            if closed {
                                disconnects.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            if connect_failures.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("arb loadgen: a client could not connect: {e:#}");
                            }
                        }
                    }
                    if let Ok(mut t) = totals.lock() {
                        let slot = if slow { &mut t.slow } else { &mut t.fast };
                        match slot {
                            Some(acc) => {
                                let _ = acc.add(&h);
                            }
                            None => *slot = Some(h),
                        }
                    }
                })?,
        );
        // Do not stampede the listener's backlog.
        if i % 64 == 63 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let watch = Stopwatch::start();
    while watch.elapsed_s() < args.duration {
        std::thread::sleep(Duration::from_millis(1000));
        eprintln!(
            "arb loadgen: {:5.1}s  {} messages  {} disconnects",
            watch.elapsed_s(),
            received.load(Ordering::Relaxed),
            disconnects.load(Ordering::Relaxed)
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
        "duration_s": args.duration,
        "messages": received.load(Ordering::Relaxed),
        "messages_per_s": received.load(Ordering::Relaxed) as f64 / args.duration,
        "disconnects": disconnects.load(Ordering::Relaxed),
        "connect_failures": connect_failures.load(Ordering::Relaxed),
        "latency_fast": pct(&t.fast),
        "latency_slow": pct(&t.slow),
        "server_rss_before_bytes": rss_before,
        "server_rss_after_bytes": rss_after,
        "server_drops": health["drops"],
    });
    eprintln!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(p) = &args.report_json {
        std::fs::write(p, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One client: connect, subscribe, read until `stop`; returns (messages, closed by the
/// server).
fn client(
    url: &str,
    channels: &[String],
    symbols: &[String],
    slow: Option<Duration>,
    stop: &AtomicBool,
    h: &mut Histogram<u64>,
    received: &AtomicU64,
) -> anyhow::Result<(u64, bool)> {
    let (host, _) = split_url(url)?;
    let stream = TcpStream::connect(&host)?;
    // A generous timeout for the handshake (a busy server answers late), then a short one
    // so the loop sees `stop` in time.
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let (mut ws, _) = tungstenite::client(url, stream).map_err(|e| anyhow::anyhow!("{e}"))?;
    ws.get_mut()
        .set_read_timeout(Some(Duration::from_millis(200)))?;
    let sub = json!({"op": "subscribe", "channels": channels, "symbols": symbols});
    ws.send(tungstenite::Message::Text(sub.to_string().into()))?;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if let Some(d) = slow {
            std::thread::sleep(d);
        }
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => {
                let now_us = clock::wall_ns() / 1000;
                if let Some(p) = field_f64(t.as_str(), "\"pub_ts\":") {
                    let lat = (now_us - (p * 1e6) as i64).max(1) as u64;
                    let _ = h.record(lat.min(60_000_000));
                    n += 1;
                    if n.is_multiple_of(256) {
                        received.fetch_add(256, Ordering::Relaxed);
                    }
                }
            }
            Ok(tungstenite::Message::Close(_)) => {
                received.fetch_add(n % 256, Ordering::Relaxed);
                return Ok((n, true));
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                received.fetch_add(n % 256, Ordering::Relaxed);
                return Ok((n, true));
            }
        }
    }
    received.fetch_add(n % 256, Ordering::Relaxed);
    let _ = ws.close(None);
    Ok((n, false))
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
