//! `arb.toml`, the settings of live mode: loading with clear errors (unknown keys are
//! errors, naming the key), defaults that match `tools/arb.example.toml`, and the per-venue
//! rules the live client takes.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use arb_engine::Exchange;
use arb_feeds::live::{Heartbeat, VenueRules};
use serde::Deserialize;

/// The commented example, printed by `arb run --print-default-config`.
pub const EXAMPLE: &str = include_str!("../arb.example.toml");

/// A day in seconds: the bound of the top-level time settings.
const DAY_S: u64 = 24 * 60 * 60;
/// A day in milliseconds.
const DAY_MS: u64 = DAY_S * 1000;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[run]`: the process.
    pub run: RunSection,
    /// `[engine]`: history sizes.
    pub engine: EngineSection,
    /// `[discovery]`: which symbols to follow.
    pub discovery: DiscoverySection,
    /// `[tls]`: extra trust roots.
    pub tls: TlsSection,
    /// `[nats]`: the scale-out roles.
    pub nats: NatsSection,
    /// `[venues.<name>]`, by venue id as written (checked to be known).
    pub venues: BTreeMap<String, VenueSection>,
}

/// `[run]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunSection {
    /// Dashboard and API address; anything but loopback needs `allow_remote` and a token.
    pub listen: SocketAddr,
    /// Allow a non-loopback `listen` address.
    pub allow_remote: bool,
    /// Access token every request must carry; empty = none.
    pub token: String,
    /// Parquet store root; empty = do not store.
    pub data: PathBuf,
    /// Feed threads (1..=8); venues are dealt round-robin across them.
    pub feed_threads: usize,
    /// Core of each feed thread (empty = not pinned, else one per feed thread).
    pub feed_cores: Vec<usize>,
    /// Core of the spread engine thread, if pinned.
    pub engine_core: Option<usize>,
    /// Core of the I/O sink thread, if pinned.
    pub io_core: Option<usize>,
    /// Spin hot threads instead of sleeping.
    pub busy_poll: bool,
    /// Slots of each ring between threads (a power of two).
    pub ring_capacity: usize,
    /// Refuse to start when the start-up reservation exceeds this, MiB.
    pub memory_budget_mb: u64,
    /// Seconds to close connections and flush the store on a signal.
    pub shutdown_timeout_s: f64,
}

impl Default for RunSection {
    fn default() -> Self {
        RunSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 8181)),
            allow_remote: false,
            token: String::new(),
            data: PathBuf::from("data"),
            feed_threads: 2,
            feed_cores: Vec::new(),
            engine_core: None,
            io_core: None,
            busy_poll: false,
            ring_capacity: 1 << 16,
            memory_budget_mb: 8192,
            shutdown_timeout_s: 10.0,
        }
    }
}

/// `[engine]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSection {
    /// History buckets per (symbol, venue).
    pub buckets: usize,
    /// Width of one history bucket, ms.
    pub bucket_ms: i64,
    /// Raw quotes kept per (symbol, venue).
    pub raw_points: usize,
}

impl Default for EngineSection {
    fn default() -> Self {
        let h = arb_engine::history::HistoryConfig::default();
        EngineSection {
            buckets: h.buckets,
            bucket_ms: h.bucket_ns / 1_000_000,
            raw_points: h.raw_points,
        }
    }
}

/// `[discovery]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoverySection {
    /// Keep symbols quoted in these assets.
    pub quote_assets: Vec<String>,
    /// Keep symbols listed on at least this many enabled venues.
    pub min_venues: usize,
    /// At most this many symbols by summed 24 h quote volume (0 = no limit).
    pub max_symbols: usize,
    /// Re-read the venues' symbol lists this often, minutes (0 = never).
    pub refresh_minutes: u64,
    /// REST timeout per request, ms.
    pub timeout_ms: u64,
    /// Attempts per REST request.
    pub attempts: u32,
}

impl Default for DiscoverySection {
    fn default() -> Self {
        DiscoverySection {
            quote_assets: vec!["USDT".into(), "USDC".into()],
            min_venues: 2,
            max_symbols: 200,
            refresh_minutes: 60,
            timeout_ms: 10_000,
            attempts: 3,
        }
    }
}

/// `[nats]`: the scale-out roles (`arb run --role collector|engine`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsSection {
    /// NATS servers to connect to (with failover).
    pub servers: Vec<String>,
    /// This collector's name (its subjects are `arb.v1.<name>.<venue>`).
    pub name: String,
    /// The collectors an engine subscribes to.
    pub collectors: Vec<String>,
    /// Longest a batch's first event waits before the batch is sent, µs.
    pub batch_linger_us: u64,
    /// Events per batch at most (1..=8192).
    pub batch_max_events: u16,
    /// Collector heartbeat period, ms.
    pub heartbeat_ms: u64,
    /// An engine marks a collector down after this long without a heartbeat, ms.
    pub heartbeat_timeout_ms: u64,
    /// How long an engine waits at start-up for the collectors' symbol tables, s.
    pub wait_for_collectors_s: u64,
    /// Batches queued between a collector's forwarder and its NATS thread.
    pub channel_batches: usize,
    /// Messages the NATS client queues while the server is slow or away.
    pub client_capacity: usize,
    /// Messages one subscription queues before the client drops them.
    pub subscription_capacity: usize,
    /// Longest wait between NATS reconnection attempts, ms.
    pub reconnect_cap_ms: u64,
}

impl Default for NatsSection {
    fn default() -> Self {
        let c = arb_io::nats::collector::CollectorConfig::default();
        let n = arb_io::nats::NatsConfig::default();
        NatsSection {
            servers: n.servers,
            name: "collector".into(),
            collectors: Vec::new(),
            batch_linger_us: (c.linger_ns / 1000) as u64,
            batch_max_events: c.max_events,
            heartbeat_ms: (c.heartbeat_ns / 1_000_000) as u64,
            heartbeat_timeout_ms: 1000,
            wait_for_collectors_s: 30,
            channel_batches: c.channel_batches,
            client_capacity: n.client_capacity,
            subscription_capacity: n.subscription_capacity,
            reconnect_cap_ms: n.reconnect_cap.as_millis() as u64,
        }
    }
}

/// `[tls]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// Extra PEM root certificates trusted besides the webpki roots.
    pub extra_root_certs: Vec<PathBuf>,
}

/// `[venues.<name>]`: every key optional; unset keys take the venue's defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VenueSection {
    /// Connect to this venue (default true).
    pub enabled: Option<bool>,
    /// REST base URL.
    pub rest_url: Option<String>,
    /// WebSocket URL.
    pub ws_url: Option<String>,
    /// Lowest 24 h quote volume a symbol needs on this venue (0 = no bound).
    pub min_quote_volume: Option<f64>,
    /// Highest 24 h quote volume a symbol may have on this venue (0 = no bound).
    pub max_quote_volume: Option<f64>,
    /// Symbols per connection.
    pub symbols_per_conn: Option<usize>,
    /// Outgoing messages per second per connection.
    pub out_msgs_per_s: Option<u32>,
    /// Client ping interval, ms (0 = the server pings).
    pub ping_interval_ms: Option<u64>,
    /// Nothing received for this long = dead connection, ms.
    pub silence_timeout_ms: Option<u64>,
    /// Connection attempts per `connect_window_ms`.
    pub connect_budget: Option<u32>,
    /// Window of the connection budget, ms.
    pub connect_window_ms: Option<u64>,
    /// First reconnect delay, ms.
    pub backoff_base_ms: Option<u64>,
    /// Largest reconnect delay, ms.
    pub backoff_cap_ms: Option<u64>,
    /// TCP + TLS + WebSocket handshake deadline, ms.
    pub connect_timeout_ms: Option<u64>,
    /// Replace a connection after this long, ms.
    pub max_lifetime_ms: Option<u64>,
    /// Larger frames are counted as oversize and skipped, bytes.
    pub max_frame_bytes: Option<usize>,
}

/// A venue as the run uses it.
#[derive(Debug, Clone)]
pub struct Venue {
    /// Which venue.
    pub exchange: Exchange,
    /// Connect to it.
    pub enabled: bool,
    /// REST base URL, without a trailing `/`.
    pub rest_url: String,
    /// Lowest 24 h quote volume a symbol needs here; `None` = no bound.
    pub min_quote_volume: Option<f64>,
    /// Highest 24 h quote volume a symbol may have here; `None` = no bound.
    pub max_quote_volume: Option<f64>,
    /// Connection rules: the venue's defaults with the file's keys applied.
    pub rules: VenueRules,
}

impl Config {
    /// Reads `path`, or the defaults when `None`.
    ///
    /// # Errors
    /// The file cannot be read, is not TOML, has an unknown key or a bad value (the
    /// message names the line and the key).
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the config {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in the config {}", path.display()))
    }

    /// Parses the text of a config file and checks it.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let c: Config = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        for name in c.venues.keys() {
            anyhow::ensure!(
                name.parse::<Exchange>().is_ok(),
                "[venues.{name}]: unknown venue (known: {})",
                Exchange::ALL.map(Exchange::as_str).join(", ")
            );
        }
        anyhow::ensure!(
            (1..=Exchange::COUNT).contains(&c.run.feed_threads),
            "[run] feed_threads must be 1..=8"
        );
        anyhow::ensure!(
            c.run.feed_cores.is_empty() || c.run.feed_cores.len() == c.run.feed_threads,
            "[run] feed_cores lists {} cores for {} feed_threads: give one core per feed thread",
            c.run.feed_cores.len(),
            c.run.feed_threads
        );
        anyhow::ensure!(
            c.run.ring_capacity.is_power_of_two(),
            "[run] ring_capacity must be a power of two"
        );
        anyhow::ensure!(
            c.engine.buckets > 0 && c.engine.bucket_ms > 0 && c.engine.raw_points > 0,
            "[engine] buckets, bucket_ms and raw_points must be positive"
        );
        anyhow::ensure!(
            c.discovery.min_venues >= 1 && c.discovery.attempts >= 1,
            "[discovery] min_venues and attempts must be at least 1"
        );
        // Time settings are bounded so that everything the run derives from them
        // (nanoseconds in an i64, a `Duration` added to `Instant::now()`) fits: found by
        // the `config` fuzz target (fuzz/fuzz_targets/config.rs).
        anyhow::ensure!(
            c.run.shutdown_timeout_s > 0.0 && c.run.shutdown_timeout_s <= DAY_S as f64,
            "[run] shutdown_timeout_s must be positive and at most {DAY_S} (a day)"
        );
        anyhow::ensure!(
            c.run.memory_budget_mb.checked_mul(1 << 20).is_some(),
            "[run] memory_budget_mb is too large"
        );
        anyhow::ensure!(
            c.engine.bucket_ms <= DAY_MS as i64,
            "[engine] bucket_ms must be at most {DAY_MS} (a day)"
        );
        anyhow::ensure!(
            c.discovery.refresh_minutes <= 7 * 24 * 60 && c.discovery.timeout_ms <= DAY_MS,
            "[discovery] refresh_minutes must be at most {} (a week) and timeout_ms at most \
             {DAY_MS} (a day)",
            7 * 24 * 60
        );
        anyhow::ensure!(
            c.nats.batch_linger_us <= DAY_MS * 1000
                && c.nats.heartbeat_ms <= DAY_MS
                && c.nats.heartbeat_timeout_ms <= DAY_MS
                && c.nats.reconnect_cap_ms <= DAY_MS
                && c.nats.wait_for_collectors_s <= DAY_S,
            "[nats] batch_linger_us, heartbeat_ms, heartbeat_timeout_ms, reconnect_cap_ms and \
             wait_for_collectors_s must each be at most a day"
        );
        anyhow::ensure!(
            (1..=8192).contains(&c.nats.batch_max_events)
                && c.nats.heartbeat_ms >= 10
                && c.nats.heartbeat_timeout_ms > c.nats.heartbeat_ms
                && c.nats.channel_batches >= 1
                && c.nats.client_capacity >= 1
                && c.nats.subscription_capacity >= 1,
            "[nats] batch_max_events must be 1..=8192 (a batch stays well under NATS's 1 MiB \
             message limit), channel_batches and the capacities at least 1, heartbeat_ms at \
             least 10, and heartbeat_timeout_ms above heartbeat_ms"
        );
        arb_io::nats::validate_name(&c.nats.name)
            .map_err(|e| anyhow::anyhow!("[nats] name: {e}"))?;
        for n in &c.nats.collectors {
            arb_io::nats::validate_name(n)
                .map_err(|e| anyhow::anyhow!("[nats] collectors: {e}"))?;
        }
        for v in c.venues() {
            v.rules
                .validate()
                .map_err(|e| anyhow::anyhow!("[venues.{}]: {e}", v.exchange.as_str()))?;
        }
        Ok(c)
    }

    /// Every venue with its defaults filled in, in `Exchange::ALL` order.
    pub fn venues(&self) -> Vec<Venue> {
        Exchange::ALL
            .iter()
            .map(|&ex| {
                let s = self
                    .venues
                    .iter()
                    .find(|(k, _)| k.parse::<Exchange>().ok() == Some(ex))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                let mut r = VenueRules::defaults(ex);
                if let Some(u) = s.ws_url {
                    r.ws_url = u;
                }
                let set = |dst: &mut u64, v: Option<u64>| {
                    if let Some(v) = v {
                        *dst = v;
                    }
                };
                if let Some(v) = s.symbols_per_conn {
                    r.symbols_per_conn = v;
                }
                if let Some(v) = s.out_msgs_per_s {
                    r.out_msgs_per_s = v;
                }
                match s.ping_interval_ms {
                    Some(0) => r.heartbeat = Heartbeat::ServerPings,
                    Some(ms) => r.heartbeat = Heartbeat::ClientPings { interval_ms: ms },
                    None => {}
                }
                set(&mut r.silence_timeout_ms, s.silence_timeout_ms);
                if let Some(v) = s.connect_budget {
                    r.connect_budget = v;
                }
                set(&mut r.connect_window_ms, s.connect_window_ms);
                set(&mut r.backoff_base_ms, s.backoff_base_ms);
                set(&mut r.backoff_cap_ms, s.backoff_cap_ms);
                set(&mut r.connect_timeout_ms, s.connect_timeout_ms);
                set(&mut r.max_lifetime_ms, s.max_lifetime_ms);
                if let Some(v) = s.max_frame_bytes {
                    r.max_frame_bytes = v;
                }
                let positive = |v: Option<f64>| v.filter(|&x| x > 0.0);
                Venue {
                    exchange: ex,
                    enabled: s.enabled.unwrap_or(true),
                    rest_url: s
                        .rest_url
                        .unwrap_or_else(|| arb_feeds::discover::default_rest_url(ex).to_owned())
                        .trim_end_matches('/')
                        .to_owned(),
                    min_quote_volume: positive(s.min_quote_volume),
                    max_quote_volume: positive(s.max_quote_volume),
                    rules: r,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_example_parses_to_the_defaults() {
        let c = Config::parse(EXAMPLE).unwrap();
        let d = Config::default();
        assert_eq!(c.run.listen, d.run.listen);
        assert_eq!(c.run.feed_threads, d.run.feed_threads);
        assert_eq!(c.engine.buckets, d.engine.buckets);
        assert_eq!(c.discovery.quote_assets, d.discovery.quote_assets);
        assert_eq!(format!("{:?}", c.nats), format!("{:?}", d.nats));
        for (a, b) in c.venues().iter().zip(d.venues()) {
            assert_eq!(a.rules, b.rules, "{:?}", a.exchange);
            assert_eq!(a.rest_url, b.rest_url);
            assert!(a.enabled);
        }
    }

    #[test]
    fn unknown_keys_and_venues_are_named() {
        let e = Config::parse("[run]\nlisten_addr = \"x\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("listen_addr"), "{e:#}");
        let e = Config::parse("[venues.kraken]\n").unwrap_err();
        assert!(format!("{e:#}").contains("kraken"), "{e:#}");
        let e = Config::parse("[venues.mexc]\nsymbols_per_conn = 40\n").unwrap_err();
        assert!(format!("{e:#}").contains("mexc"), "{e:#}");
    }

    #[test]
    fn nats_settings_are_checked() {
        for bad in [
            "[nats]\nname = \"a.b\"\n",
            "[nats]\ncollectors = [\"ok\", \"no pe\"]\n",
            "[nats]\nbatch_max_events = 9000\n",
            "[nats]\nheartbeat_ms = 500\nheartbeat_timeout_ms = 400\n",
        ] {
            let e = Config::parse(bad).unwrap_err();
            assert!(format!("{e:#}").contains("[nats]"), "{bad}: {e:#}");
        }
        let c = Config::parse(
            "[nats]\nservers = [\"nats://a:4222\", \"nats://b:4222\"]\nname = \"tokyo-1\"\n",
        )
        .unwrap();
        assert_eq!(c.nats.servers.len(), 2);
        assert_eq!(c.nats.name, "tokyo-1");
    }

    #[test]
    fn venue_keys_override_the_defaults() {
        let c = Config::parse(
            "[venues.okx]\nws_url = \"ws://127.0.0.1:9/okx/ws\"\nrest_url = \"http://127.0.0.1:9/okx/\"\nping_interval_ms = 500\nsilence_timeout_ms = 2000\nenabled = false\n",
        )
        .unwrap();
        let okx = c
            .venues()
            .into_iter()
            .find(|v| v.exchange == Exchange::Okx)
            .unwrap();
        assert_eq!(okx.rules.ws_url, "ws://127.0.0.1:9/okx/ws");
        assert_eq!(okx.rest_url, "http://127.0.0.1:9/okx");
        assert_eq!(
            okx.rules.heartbeat,
            Heartbeat::ClientPings { interval_ms: 500 }
        );
        assert!(!okx.enabled);
    }

    /// Inputs of the `config` fuzz target (fuzz/fuzz_targets/config.rs) that were accepted
    /// but not usable: `inf` seconds panics `Duration::from_secs_f64` in the shutdown
    /// watchdog, and the huge values overflow the nanosecond and byte conversions of
    /// `arb run` and its collector / engine roles.
    #[test]
    fn fuzz_regressions_time_and_size_settings_are_bounded() {
        for bad in [
            "[run]\nshutdown_timeout_s = inf\n",
            "[run]\nshutdown_timeout_s = nan\n",
            "[run]\nshutdown_timeout_s = 1e300\n",
            "[run]\nmemory_budget_mb = 18446744073709551615\n",
            "[engine]\nbucket_ms = 9223372036854775807\n",
            "[discovery]\nrefresh_minutes = 307445734561825861\n",
            "[discovery]\ntimeout_ms = 18446744073709551615\n",
            "[nats]\nheartbeat_ms = 9999999999999\nheartbeat_timeout_ms = 99999999999999\n",
            "[nats]\nbatch_linger_us = 18446744073709551615\n",
            "[nats]\nwait_for_collectors_s = 18446744073709551615\n",
            "[nats]\nreconnect_cap_ms = 18446744073709551615\n",
        ] {
            let e = Config::parse(bad).unwrap_err();
            let section = &bad[..bad.find(']').unwrap() + 1];
            assert!(format!("{e:#}").contains(section), "{bad}: {e:#}");
        }
        let c = Config::parse(
            "[run]\nshutdown_timeout_s = 86400\n[engine]\nbucket_ms = 86400000\n\
             [nats]\nheartbeat_ms = 86399999\nheartbeat_timeout_ms = 86400000\n",
        )
        .unwrap();
        assert_eq!(c.engine.bucket_ms, 86_400_000);
    }
}
