//! `arb mock-exchange`: one local HTTP + WebSocket server that plays all eight venues for
//! tests and demos: each venue's REST discovery endpoints, its WebSocket subscribe / ack /
//! error / heartbeat rules, market data from the synthetic generator routed by
//! subscription, and fault injection (drops, silence, malformed and oversize frames,
//! rejected topics, rate-limit closes, slow REST), all counted in `GET /mock/stats`.
//!
//! Layout: this module owns the command line, the shared state and the accept loop;
//! [`conn`] serves one connection (HTTP or WebSocket), [`venue`] holds each venue's
//! session rules, [`rest`] the REST bodies, [`feed`] the paced generator and its routing,
//! [`faults`] the frame mutations.

mod conn;
mod faults;
mod feed;
mod flood;
mod rest;
mod venue;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use arb_engine::Exchange;
use arb_engine::clock::{self, Stopwatch};
use arb_feeds::r#gen::{GenConfig, Generator};

use crate::shutdown::Shutdown;
use faults::Faults;
use feed::Hub;
use rest::Universe;

/// Arguments of `arb mock-exchange`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Every venue lives under its own path prefix (binance bybit mexc gateio kucoin okx bitget
bingx): REST at the venue's real paths (e.g. /binance/api/v3/exchangeInfo, POST
/kucoin/api/v1/bullet-public) and WebSocket at /<venue>/ws. GET /mock/stats returns the
counters as JSON. The first stdout line is `# mock-exchange listening on http://ADDR` (a TOML comment, so
stdout with --print-config is a complete arb.toml).

Examples:
  arb mock-exchange --print-config                 # free port, arb.toml fragment on stdout
  arb mock-exchange --listen 127.0.0.1:9100 --tls --heartbeat-scale 0.1
  arb mock-exchange --drop-every 30 --fault-venues binance,okx --reject-topic DOGE
  arb mock-exchange --flood-venue okx --flood-factor 10 --flood-after 60 --flood-secs 30
  curl -X POST 'http://ADDR/mock/flood?venue=okx&factor=10&secs=30'")]
pub(crate) struct MockArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    listen: SocketAddr,
    /// Serve https:// and wss:// instead, with a fresh self-signed certificate for
    /// 127.0.0.1 and localhost.
    #[arg(long)]
    tls: bool,
    /// Where to write the certificate as PEM (default: `<temp dir>/arb-mock-<port>.pem`).
    #[arg(long, value_name = "FILE", requires = "tls")]
    tls_cert_out: Option<PathBuf>,
    /// After the listening line, print the arb.toml fragment pointing every venue here.
    #[arg(long)]
    print_config: bool,
    /// Symbols of the synthetic market, each listed on all 8 venues.
    #[arg(long, default_value_t = 50)]
    symbols: usize,
    /// Market-data frames per second over all venues (before subscription filtering).
    #[arg(long, default_value_t = 20_000, value_name = "FRAMES_PER_S")]
    rate: u64,
    /// Seed of the synthetic market.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Play this capture (`arb gen` output or a recording) at its recorded pace, looping,
    /// instead of the synthetic market (--symbols, --rate, --seed are then unused); REST
    /// lists the capture's symbols.
    #[arg(long, value_name = "FILE")]
    capture: Option<PathBuf>,
    /// Multiplies every heartbeat interval and timeout (server pings, client-ping
    /// timeouts, KuCoin's pingInterval), e.g. 0.01 for fast tests.
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    heartbeat_scale: f64,
    /// Close every connection (of --fault-venues) every this many seconds.
    #[arg(long, value_name = "SECONDS")]
    drop_every: Option<f64>,
    /// Venues that --drop-every, --silent-after, --malformed-every and --oversize-every
    /// apply to, comma-separated (default: all).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    fault_venues: Vec<String>,
    /// A connection stops sending anything (data, pings, replies) this many seconds after
    /// it opens; the socket stays open.
    #[arg(long, value_name = "SECONDS")]
    silent_after: Option<f64>,
    /// Every Nth data frame of a connection is replaced by invalid bytes in the venue's
    /// encoding (broken JSON, broken protobuf, broken gzip).
    #[arg(long, value_name = "N")]
    malformed_every: Option<u64>,
    /// Every Nth data frame of a connection is padded to --oversize-bytes (still valid).
    #[arg(long, value_name = "N")]
    oversize_every: Option<u64>,
    /// Size of an oversize frame, bytes (for BingX: inflated size).
    #[arg(long, default_value_t = 2 * 1024 * 1024, value_name = "BYTES")]
    oversize_bytes: usize,
    /// Subscriptions whose topic or symbol contains this text (ASCII case ignored) get the
    /// venue's error reply, on every venue.
    #[arg(long, value_name = "PATTERN")]
    reject_topic: Option<String>,
    /// Enforce Binance's 5 and Bitget's 10 incoming messages per second: close with
    /// code 1008 when exceeded.
    #[arg(long)]
    rate_limit_close: bool,
    /// Delay every REST answer by this many milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    rest_delay_ms: u64,
    /// Outbound queue per connection, frames; a full queue drops (counted).
    #[arg(long, default_value_t = 8192, value_name = "FRAMES")]
    queue: usize,
    /// Flood this venue: each of its data frames is sent --flood-factor times during the
    /// flood window (also settable at run time: `POST /mock/flood?venue=V&factor=F&secs=S`).
    #[arg(long, value_name = "VENUE")]
    flood_venue: Option<String>,
    /// Copies of each data frame of --flood-venue while flooding.
    #[arg(long, default_value_t = 10, value_name = "N")]
    flood_factor: u32,
    /// The flood starts this many seconds after the server starts.
    #[arg(long, default_value_t = 0.0, value_name = "SECONDS")]
    flood_after: f64,
    /// The flood lasts this many seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    flood_secs: f64,
    /// Stop after this many seconds (default: run until SIGTERM / Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    duration: Option<f64>,
}

/// Where market data comes from.
#[derive(Debug)]
enum Source {
    /// The synthetic generator.
    Generator(Box<Generator>),
    /// A capture file's bytes.
    Capture(Vec<u8>),
}

/// Counters of one venue, served by `GET /mock/stats`.
#[derive(Debug, Default)]
pub(crate) struct VenueStats {
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) connections_open: AtomicU64,
    pub(crate) subscribe_requests: AtomicU64,
    pub(crate) topics_subscribed: AtomicU64,
    pub(crate) rejected_topics: AtomicU64,
    pub(crate) frames_sent: AtomicU64,
    pub(crate) frames_dropped: AtomicU64,
    /// Extra copies of data frames queued by the flood fault.
    pub(crate) frames_flooded: AtomicU64,
    pub(crate) pings_sent: AtomicU64,
    pub(crate) pongs_received: AtomicU64,
    pub(crate) closes_by_fault: AtomicU64,
    pub(crate) rate_limit_closes: AtomicU64,
    pub(crate) rest_requests: AtomicU64,
}

impl VenueStats {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn to_json(&self) -> serde_json::Value {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "connections_accepted": g(&self.connections_accepted),
            "connections_open": g(&self.connections_open),
            "subscribe_requests": g(&self.subscribe_requests),
            "topics_subscribed": g(&self.topics_subscribed),
            "rejected_topics": g(&self.rejected_topics),
            "frames_sent": g(&self.frames_sent),
            "frames_dropped": g(&self.frames_dropped),
            "frames_flooded": g(&self.frames_flooded),
            "pings_sent": g(&self.pings_sent),
            "pongs_received": g(&self.pongs_received),
            "closes_by_fault": g(&self.closes_by_fault),
            "rate_limit_closes": g(&self.rate_limit_closes),
            "rest_requests": g(&self.rest_requests),
        })
    }
}

/// Everything the connection threads and the feed share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Counters per venue, by [`Exchange::index`].
    pub(crate) stats: [VenueStats; Exchange::COUNT],
    /// Open WebSocket connections per venue and what each subscribed.
    pub(crate) hub: Hub,
    /// The listed symbols, prices and REST material.
    pub(crate) universe: Universe,
    /// KuCoin tokens handed out by `bullet-public`.
    pub(crate) tokens: Mutex<Vec<String>>,
    /// Fault settings.
    pub(crate) faults: Faults,
    /// The flood fault (changeable at run time).
    pub(crate) flood: flood::Flood,
    /// Heartbeat scale.
    pub(crate) hb_scale: f64,
    /// Rate-limit closes on.
    pub(crate) rate_limit_close: bool,
    /// REST delay.
    pub(crate) rest_delay: Duration,
    /// Outbound queue capacity per connection.
    pub(crate) queue: usize,
    /// `http://ADDR` or `https://ADDR`.
    pub(crate) http_base: String,
    /// `ws://ADDR` or `wss://ADDR`.
    pub(crate) ws_base: String,
    /// Server start: every time in the mock is a [`Duration`] since then.
    pub(crate) started: Stopwatch,
    /// Set when the server stops.
    pub(crate) stop: AtomicBool,
    /// TLS configuration with `--tls`.
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    /// Source of ids and tokens.
    pub(crate) ids: AtomicU64,
}

impl Shared {
    /// Returns the time since the server started.
    pub(crate) fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Returns the counters of `ex`.
    pub(crate) fn stats(&self, ex: Exchange) -> &VenueStats {
        &self.stats[ex.index()]
    }

    /// Returns a fresh pseudo-random 64-bit value (ids, tokens; not cryptographic).
    pub(crate) fn random(&self) -> u64 {
        let n = self.ids.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        let mut z = n;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The stats JSON.
    pub(crate) fn stats_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for ex in Exchange::ALL {
            m.insert(ex.as_str().to_owned(), self.stats(ex).to_json());
        }
        serde_json::Value::Object(m)
    }
}

/// The TOML fragment that points every venue at `http_base` / `ws_base`.
fn config_fragment(http_base: &str, ws_base: &str, cert: Option<&std::path::Path>) -> String {
    let mut s = String::new();
    if let Some(p) = cert {
        let path = toml::Value::String(p.display().to_string());
        let _ = writeln!(s, "[tls]\nextra_root_certs = [{path}]\n");
    }
    for ex in Exchange::ALL {
        let v = ex.as_str();
        let _ = writeln!(
            s,
            "[venues.{v}]\nrest_url = \"{http_base}/{v}\"\nws_url = \"{ws_base}/{v}/ws\"\n"
        );
    }
    s
}

/// Builds the self-signed certificate, writes its PEM to `out`, returns the server config.
fn tls_config(out: &std::path::Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .context("generating the self-signed certificate")?;
    std::fs::write(out, ck.cert.pem()).with_context(|| format!("writing {}", out.display()))?;
    let cert = ck.cert.der().clone();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .context("TLS server certificate")?;
    Ok(Arc::new(cfg))
}

/// Runs the mock exchange until SIGTERM / SIGINT (or `--duration`).
///
/// # Errors
/// Invalid arguments, an unreadable capture, the address cannot be bound, or the
/// certificate cannot be made or written.
pub(crate) fn run(args: &MockArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.symbols > 0 && args.rate > 0,
        "--symbols and --rate must be positive"
    );
    anyhow::ensure!(
        args.heartbeat_scale.is_finite() && args.heartbeat_scale > 0.0,
        "--heartbeat-scale must be a positive number"
    );
    anyhow::ensure!(
        args.flood_after.is_finite()
            && args.flood_after >= 0.0
            && args.flood_secs.is_finite()
            && args.flood_secs >= 0.0
            && args.flood_factor >= 1,
        "--flood-after and --flood-secs must be non-negative seconds, --flood-factor at least 1"
    );
    let flood_venue = args
        .flood_venue
        .as_deref()
        .map(|v| {
            v.trim()
                .parse::<Exchange>()
                .map_err(|_| anyhow::anyhow!("--flood-venue: unknown venue {v:?}"))
        })
        .transpose()?;
    for (name, v) in [
        ("--drop-every", args.drop_every),
        ("--silent-after", args.silent_after),
    ] {
        if let Some(v) = v {
            anyhow::ensure!(v.is_finite() && v > 0.0, "{name} must be positive seconds");
        }
    }
    let mut fault_venues = Vec::new();
    for v in &args.fault_venues {
        let ex: Exchange = v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("--fault-venues: unknown venue {v:?}"))?;
        fault_venues.push(ex);
    }
    if fault_venues.is_empty() {
        fault_venues = Exchange::ALL.to_vec();
    }
    let shutdown = Shutdown::install()?;

    let gen_cfg = GenConfig {
        symbols: args.symbols,
        venues: Exchange::ALL.to_vec(),
        rate_per_s: args.rate,
        // Within the generator's message cap at any rate.
        duration_s: feed::LOOP_SECS.min(1e9 / args.rate as f64).max(1.0),
        trade_fraction: 0.2,
        seed: args.seed,
        start_ns: clock::wall_ns(),
    };
    let (source, universe) = match &args.capture {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let universe = feed::capture_universe(&bytes)
                .with_context(|| format!("reading the capture {}", path.display()))?;
            (Source::Capture(bytes), universe)
        }
        None => {
            let generator = Generator::new(&gen_cfg).context("building the synthetic market")?;
            let universe = Universe::build(&gen_cfg).context("building the symbol listings")?;
            (Source::Generator(Box::new(generator)), universe)
        }
    };

    let listener =
        TcpListener::bind(args.listen).with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let (tls, cert_path) = if args.tls {
        let path = args
            .tls_cert_out
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("arb-mock-{}.pem", addr.port())));
        (Some(tls_config(&path)?), Some(path))
    } else {
        (None, None)
    };
    let (http, ws) = if args.tls {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    let shared = Arc::new(Shared {
        stats: Default::default(),
        hub: Hub::new(),
        universe,
        tokens: Mutex::new(Vec::new()),
        faults: Faults {
            venues: fault_venues,
            drop_every: args.drop_every.map(Duration::from_secs_f64),
            silent_after: args.silent_after.map(Duration::from_secs_f64),
            malformed_every: args.malformed_every.filter(|&n| n > 0),
            oversize_every: args.oversize_every.filter(|&n| n > 0),
            oversize_bytes: args.oversize_bytes,
            reject_topic: args.reject_topic.clone().filter(|p| !p.is_empty()),
        },
        flood: flood::Flood::new(
            flood_venue,
            args.flood_factor,
            Duration::from_secs_f64(args.flood_after),
            Duration::from_secs_f64(args.flood_secs),
        ),
        hb_scale: args.heartbeat_scale,
        rate_limit_close: args.rate_limit_close,
        rest_delay: Duration::from_millis(args.rest_delay_ms),
        queue: args.queue.max(1),
        http_base: format!("{http}://{addr}"),
        ws_base: format!("{ws}://{addr}"),
        started: Stopwatch::start(),
        stop: AtomicBool::new(false),
        tls,
        ids: AtomicU64::new(clock::wall_ns() as u64),
    });

    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "# mock-exchange listening on {}", shared.http_base)?;
        if args.print_config {
            write!(
                out,
                "{}",
                config_fragment(&shared.http_base, &shared.ws_base, cert_path.as_deref())
            )?;
        }
        out.flush()?;
    }

    let feeder = {
        let shared = Arc::clone(&shared);
        let cfg = gen_cfg;
        std::thread::Builder::new()
            .name("mock-feed".into())
            .spawn(move || match source {
                Source::Generator(g) => feed::run(&shared, *g, cfg),
                Source::Capture(bytes) => feed::run_capture(&shared, &bytes),
            })?
    };
    listener.set_nonblocking(true)?;
    let mut next_log = Duration::from_secs(10);
    let deadline = args.duration.map(|d| Duration::from_secs_f64(d.max(0.0)));
    loop {
        if shutdown.requested() || deadline.is_some_and(|d| shared.now() >= d) {
            break;
        }
        match listener.accept() {
            Ok((stream, _)) => {
                let shared = Arc::clone(&shared);
                let spawned = std::thread::Builder::new()
                    .name("mock-conn".into())
                    .spawn(move || conn::serve(&shared, stream));
                if let Err(e) = spawned {
                    tracing::warn!("mock-exchange: cannot start a connection thread: {e}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                tracing::warn!("mock-exchange: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if shared.now() >= next_log {
            next_log += Duration::from_secs(10);
            eprintln!("{}", summary_line(&shared));
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    // Give connection threads a moment to send their close frames.
    let wait_until = shared.now() + Duration::from_secs(2);
    while shared.hub.open() > 0 && shared.now() < wait_until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = feeder.join();
    eprintln!("{}", summary_line(&shared));
    Ok(ExitCode::SUCCESS)
}

/// One stderr line with the totals and the busiest counters.
fn summary_line(shared: &Shared) -> String {
    let sum = |f: fn(&VenueStats) -> &AtomicU64| -> u64 {
        shared
            .stats
            .iter()
            .map(|s| f(s).load(Ordering::Relaxed))
            .sum()
    };
    format!(
        "mock-exchange: {} open / {} accepted connections, {} topics, {} frames sent, {} dropped, \
         {} pings sent, {} pongs, {} fault closes, {} rate-limit closes, {} REST requests",
        sum(|s| &s.connections_open),
        sum(|s| &s.connections_accepted),
        sum(|s| &s.topics_subscribed),
        sum(|s| &s.frames_sent),
        sum(|s| &s.frames_dropped),
        sum(|s| &s.pings_sent),
        sum(|s| &s.pongs_received),
        sum(|s| &s.closes_by_fault),
        sum(|s| &s.rate_limit_closes),
        sum(|s| &s.rest_requests),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_fragment_names_every_venue() {
        let s = config_fragment("http://127.0.0.1:1", "ws://127.0.0.1:1", None);
        let v: toml::Table = toml::from_str(&s).expect("valid TOML");
        let venues = v["venues"].as_table().expect("venues table");
        assert_eq!(venues.len(), 8);
        assert_eq!(
            venues["kucoin"]["ws_url"].as_str(),
            Some("ws://127.0.0.1:1/kucoin/ws")
        );
        assert!(!s.contains("[tls]"));
    }
}
