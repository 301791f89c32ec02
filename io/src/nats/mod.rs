//! NATS scale-out: collectors near the venues publish normalised events to NATS, one
//! engine subscribes to them and feeds them to its core like local feeds.
//!
//! - [`collector`]: the collector role's two threads. The *forwarder* drains the feed
//!   threads' rings, encodes batches in the [`arb_engine::wire`] format (one subject per
//!   venue, several events per message within a linger bound) and emits heartbeats; the
//!   *publisher* owns the NATS client on its own small current-thread runtime, publishes,
//!   and answers the symbol-table and clock-ping requests. The hand-off between them is a
//!   bounded channel: a full channel drops the batch and counts it.
//! - [`remote`]: the engine role's receiver, one thread in a feed thread's place: it
//!   subscribes to each collector, translates symbol ids and clocks, applies the
//!   staleness limit and the venue-state rules (heartbeat timeouts retire a collector's
//!   quotes at once) and pushes the events into the core's ring.
//! - [`table`]: the symbol table a collector serves and the engine's registry built from
//!   several of them.
//!
//! Subjects (see `engine/WIRE.md`): `arb.v1.<collector>.<venue>` data,
//! `arb.v1.<collector>.hb` heartbeats, `arb.v1.<collector>.symbols` and
//! `arb.v1.<collector>.ping` requests.
//!
//! Nothing here buffers without bound: the channel to the publisher has a fixed number
//! of slots, the NATS client's own outgoing queue and each subscription's queue are
//! bounded ([`NatsConfig::client_capacity`], [`NatsConfig::subscription_capacity`]), and
//! every drop is counted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arb_engine::Exchange;

pub mod collector;
pub mod remote;
pub mod table;

/// Version segment of every subject; changes with an incompatible wire version.
pub const SUBJECT_VERSION: &str = "v1";

/// Connection settings shared by both roles.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// Server URLs (`nats://host:port`); the client picks one and fails over to the
    /// others (and to the cluster peers the servers announce).
    pub servers: Vec<String>,
    /// Client name the server shows (`arb-collector-tokyo`, `arb-engine`).
    pub client_name: String,
    /// Messages the client queues for sending while the connection is slow or down.
    pub client_capacity: usize,
    /// Messages a subscription queues before the client drops (counted as slow consumer).
    pub subscription_capacity: usize,
    /// Timeout of one connection attempt.
    pub connect_timeout: Duration,
    /// Longest wait between reconnection attempts (the backoff doubles up to it).
    pub reconnect_cap: Duration,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            servers: vec!["nats://127.0.0.1:4222".into()],
            client_name: "arb".into(),
            client_capacity: 4096,
            subscription_capacity: 8192,
            connect_timeout: Duration::from_secs(2),
            reconnect_cap: Duration::from_secs(2),
        }
    }
}

/// Error of the NATS roles' set-up.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// A collector name that is not one subject token.
    #[error(
        "collector name {0:?} must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_' (it is a NATS subject token)"
    )]
    BadName(String),
    /// No server URL configured.
    #[error("no NATS server configured (--nats nats://HOST:PORT or [nats] servers)")]
    NoServer,
    /// The runtime could not start.
    #[error("starting the NATS runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// The client could not connect.
    #[error("connecting to NATS {servers}: {error}")]
    Connect {
        /// The configured servers.
        servers: String,
        /// What the client said.
        error: String,
    },
    /// A subscription could not be made.
    #[error("subscribing to {subject}: {error}")]
    Subscribe {
        /// The subject.
        subject: String,
        /// What the client said.
        error: String,
    },
}

/// Checks that `name` can be a subject token.
///
/// # Errors
/// [`NatsError::BadName`].
pub fn validate_name(name: &str) -> Result<(), NatsError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if ok {
        Ok(())
    } else {
        Err(NatsError::BadName(name.to_owned()))
    }
}

/// `arb.v1.<collector>`.
pub fn subject_prefix(collector: &str) -> String {
    format!("arb.{SUBJECT_VERSION}.{collector}")
}

/// Data subject of one venue: `arb.v1.<collector>.<venue>`.
pub fn data_subject(collector: &str, venue: Exchange) -> String {
    format!("{}.{}", subject_prefix(collector), venue.as_str())
}

/// Heartbeat subject: `arb.v1.<collector>.hb`.
pub fn heartbeat_subject(collector: &str) -> String {
    format!("{}.hb", subject_prefix(collector))
}

/// Symbol-table request subject: `arb.v1.<collector>.symbols`.
pub fn symbols_subject(collector: &str) -> String {
    format!("{}.symbols", subject_prefix(collector))
}

/// Clock-ping request subject: `arb.v1.<collector>.ping`.
pub fn ping_subject(collector: &str) -> String {
    format!("{}.ping", subject_prefix(collector))
}

/// The NATS connection's own state and counters (written by the client's event
/// callback, read by the API and the status line).
#[derive(Debug, Default)]
pub struct NatsLinkStats {
    /// Connected to a server now.
    pub connected: AtomicBool,
    /// Successful connections (the first and every reconnect).
    pub connects: AtomicU64,
    /// Connections lost.
    pub disconnects: AtomicU64,
    /// Messages the client dropped because a subscription's queue was full.
    pub slow_consumer: AtomicU64,
    /// Server or client errors reported.
    pub errors: AtomicU64,
    /// The last error text (cold path: errors only).
    last_error: Mutex<String>,
}

impl NatsLinkStats {
    /// The last error the client reported, if any.
    pub fn last_error(&self) -> Option<String> {
        let e = self
            .last_error
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default();
        (!e.is_empty()).then_some(e)
    }

    fn note(&self, event: &async_nats::Event) {
        // Relaxed: statistics.
        match event {
            async_nats::Event::Connected => {
                // `connect` may have counted this connection already (see there).
                if !self.connected.swap(true, Ordering::Relaxed) {
                    self.connects.fetch_add(1, Ordering::Relaxed);
                }
            }
            async_nats::Event::Disconnected | async_nats::Event::Closed => {
                if self.connected.swap(false, Ordering::Relaxed) {
                    self.disconnects.fetch_add(1, Ordering::Relaxed);
                }
            }
            async_nats::Event::SlowConsumer(_) => {
                self.slow_consumer.fetch_add(1, Ordering::Relaxed);
            }
            async_nats::Event::ServerError(_) | async_nats::Event::ClientError(_) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut e) = self.last_error.lock() {
                    *e = event.to_string();
                    e.truncate(200);
                }
            }
            async_nats::Event::LameDuckMode | async_nats::Event::Draining => {}
        }
    }
}

/// A current-thread runtime for one NATS I/O thread.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, NatsError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Connects with bounded queues, endless reconnection with capped exponential backoff,
/// and the connection's events counted in `stats`. With `retry_initial`, returns at once
/// and keeps trying in the background (a collector starts before its NATS server).
pub(crate) async fn connect(
    config: &NatsConfig,
    stats: &Arc<NatsLinkStats>,
    retry_initial: bool,
) -> Result<async_nats::Client, NatsError> {
    if config.servers.is_empty() {
        return Err(NatsError::NoServer);
    }
    let cap = config.reconnect_cap;
    let events = Arc::clone(stats);
    let mut options = async_nats::ConnectOptions::new()
        .name(&config.client_name)
        .client_capacity(config.client_capacity)
        .subscription_capacity(config.subscription_capacity)
        .connection_timeout(config.connect_timeout)
        .max_reconnects(None)
        .reconnect_delay_callback(move |attempts| backoff(attempts, cap))
        .event_callback(move |event| {
            events.note(&event);
            async {}
        });
    if retry_initial {
        options = options.retry_on_initial_connect();
    }
    let client = options
        .connect(config.servers.clone())
        .await
        .map_err(|e| NatsError::Connect {
            servers: config.servers.join(","),
            error: e.to_string(),
        })?;
    if client.connection_state() == async_nats::connection::State::Connected {
        // The callback may not have seen the first connection (made inside `connect`).
        if !stats.connected.swap(true, Ordering::Relaxed) {
            stats.connects.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(client)
}

/// Reconnection delay: 50 ms doubling per attempt, capped, with the first retry at once.
fn backoff(attempts: usize, cap: Duration) -> Duration {
    if attempts <= 1 {
        return Duration::ZERO;
    }
    let shift = (attempts - 2).min(16) as u32;
    Duration::from_millis(50u64 << shift).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_subject_tokens() {
        assert!(validate_name("tokyo-1").is_ok());
        assert!(validate_name("sg_2").is_ok());
        for bad in ["", "a.b", "a b", "*", ">", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(data_subject("tokyo", Exchange::Okx), "arb.v1.tokyo.okx");
        assert_eq!(heartbeat_subject("tokyo"), "arb.v1.tokyo.hb");
    }

    #[test]
    fn backoff_doubles_to_its_cap() {
        let cap = Duration::from_secs(2);
        assert_eq!(backoff(1, cap), Duration::ZERO);
        assert_eq!(backoff(2, cap), Duration::from_millis(50));
        assert_eq!(backoff(3, cap), Duration::from_millis(100));
        assert_eq!(backoff(40, cap), cap);
    }
}
