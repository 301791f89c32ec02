//! The server's side of a run: its command-line options, the shared state it reads, and
//! the status the collector loop publishes for it every tick (venues, drops, latency
//! quantiles, memory, and the engine role's collectors and NATS connection).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use arb_engine::Exchange;
use arb_engine::metrics::{Stage, StageHistograms};
use arb_engine::worker::TapDrops;
use arb_io::nats::remote::RemoteSet;
use arb_io::serve::api::{
    CollectorStatus, LinkStatus, LiveState, NatsStatus, StageQuantiles, Status, VenueStatus,
};
use arb_io::serve::{ServerConfig, ServerStats};
use arb_io::store::Kind;

use crate::pipeline::PublishView;
use crate::report;

/// HTTP server options.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServeOpts {
    /// Serve the HTTP API on this address while running (e.g. 127.0.0.1:8181; port 0
    /// picks a free one). Anything but loopback needs --allow-remote and --token.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Allow a non-loopback --listen address (then --token is required).
    #[arg(long, requires = "listen")]
    allow_remote: bool,
    /// Access token every request must carry (`Authorization: Bearer T` or `?token=T`).
    #[arg(long, value_name = "T", env = "ARB_TOKEN", requires = "listen")]
    token: Option<String>,
    /// Origins allowed to call the API from a browser (repeatable); others get 403.
    #[arg(long = "allowed-origin", value_name = "URL", requires = "listen")]
    allowed_origins: Vec<String>,
    /// Connections open at once.
    #[arg(long, default_value_t = 4096, requires = "listen")]
    max_connections: usize,
}

impl ServeOpts {
    /// The server configuration, if `--listen` was given.
    ///
    /// # Errors
    /// The remote-access rules.
    pub(crate) fn config(&self) -> anyhow::Result<Option<ServerConfig>> {
        let Some(listen) = self.listen else {
            return Ok(None);
        };
        let c = ServerConfig {
            listen,
            allow_remote: self.allow_remote,
            token: self.token.clone(),
            allowed_origins: self.allowed_origins.clone(),
            max_connections: self.max_connections.max(1),
            ..ServerConfig::default()
        };
        c.validate()?;
        Ok(Some(c))
    }
}

/// Fresh shared state for the API.
pub(crate) fn live_state(view: &PublishView<'_>) -> Arc<LiveState> {
    Arc::new(LiveState {
        registry: Arc::clone(view.registry),
        history: Arc::clone(view.history),
        ranking: Arc::clone(view.ranking),
        stale_after_ns: view.stale_after_ns,
        started_wall_ns: arb_engine::clock::wall_ns(),
        status: Mutex::new(Status::default()),
        store_root: view.store_root.map(std::path::Path::to_path_buf),
        // The newest `arb analyze` CSV in the store root or the working directory.
        analysis_dirs: view
            .store_root
            .map(std::path::Path::to_path_buf)
            .into_iter()
            .chain(std::iter::once(std::path::PathBuf::from(".")))
            .collect(),
    })
}

/// Events and time at the previous publish, for rates.
#[derive(Debug, Default)]
pub(crate) struct Rates {
    last: Option<(f64, u64, [u64; Exchange::COUNT])>,
}

/// Publishes the API's status from the run's counters.
pub(crate) fn publish(
    state: &LiveState,
    view: &PublishView<'_>,
    totals: &StageHistograms,
    elapsed_s: f64,
    rates: &mut Rates,
    server_drops: Option<&TapDrops>,
    server: Option<&ServerStats>,
) {
    let r = Ordering::Relaxed;
    let events = view.core_stats.events.load(r);
    let sink = view.sink_stats;
    let msgs: [u64; Exchange::COUNT] = std::array::from_fn(|i| sink.venues[i].messages.load(r));
    let (ev_rate, msg_rates) = match rates.last {
        Some((t, e, m)) if elapsed_s > t => {
            let dt = elapsed_s - t;
            (
                (events - e) as f64 / dt,
                std::array::from_fn::<f64, { Exchange::COUNT }, _>(|i| {
                    msgs[i].saturating_sub(m[i]) as f64 / dt
                }),
            )
        }
        _ => (0.0, [0.0; Exchange::COUNT]),
    };
    rates.last = Some((elapsed_s, events, msgs));
    let newest = sink
        .venues
        .iter()
        .map(|v| v.last_ts_ns.load(r))
        .max()
        .unwrap_or(0);
    let venues = Exchange::ALL
        .iter()
        .map(|&e| {
            let v = &sink.venues[e.index()];
            let last = v.last_ts_ns.load(r);
            let up = v.connections_up.load(r);
            let age_ms = (last > 0).then(|| (newest - last) as f64 / 1e6);
            let state = if up == 0 && v.disconnects.load(r) > 0 {
                "down"
            } else if up == 0 && last == 0 {
                "idle"
            } else if age_ms.is_some_and(|a| a * 1e6 > view.stale_after_ns as f64) {
                "degraded"
            } else {
                "connected"
            };
            // Live, the connections know best: their state, their reconnects, and the
            // age of the last frame against the wall clock (a replay has no such clock).
            let (state, age_ms, reconnects) = match view.link {
                Some(link) => {
                    let l = link.venue(e);
                    let last = l.last_frame_wall_ns.load(r);
                    let age = (last > 0)
                        .then(|| (arb_engine::clock::wall_ns() - last).max(0) as f64 / 1e6);
                    (l.state().as_str(), age, l.reconnects.load(r))
                }
                None => (state, age_ms, v.reconnects.load(r)),
            };
            let link = view.link.map(|link| {
                let l = link.venue(e);
                LinkStatus {
                    connections: l.conns.load(r),
                    connections_up: l.conns_up.load(r),
                    connect_attempts: l.connect_attempts.load(r),
                    connect_failures: l.connect_failures.load(r),
                    heartbeat_timeouts: l.heartbeat_timeouts.load(r),
                    replacements: l.replacements.load(r),
                    budget_waits: l.budget_waits.load(r),
                    venue_errors: l.venue_errors.load(r),
                    last_error: link.last_error(e),
                    oversize_frames: l.oversize_frames.load(r),
                }
            });
            VenueStatus {
                exchange: Some(e),
                state,
                messages: msgs[e.index()],
                messages_per_s: msg_rates[e.index()],
                last_message_age_ms: age_ms,
                reconnects,
                link,
                decode_errors: view
                    .feed_stats
                    .iter()
                    .map(|f| {
                        f.decode_errors[e.index()]
                            .iter()
                            .map(|a| a.load(r))
                            .sum::<u64>()
                    })
                    .sum(),
            }
        })
        .collect();
    let stages = Stage::all()
        .filter_map(|st| {
            let h = totals.get(st);
            (!h.is_empty()).then(|| StageQuantiles {
                stage: st.name(),
                count: h.len(),
                p50: h.value_at_quantile(0.5),
                p99: h.value_at_quantile(0.99),
                p999: h.value_at_quantile(0.999),
                max: h.max(),
            })
        })
        .collect();
    let status = Status {
        events,
        events_per_s: ev_rate,
        memory_reserved_bytes: view.reserved_bytes,
        rss_bytes: report::rss_bytes(),
        drops: vec![
            ("feed_rings", view.feed_drops),
            ("sink_ring", view.out_drops),
            ("server_ring", server_drops.map_or(0, |d| tap_total(d, r))),
            ("store_ring", view.store.map_or(0, |(_, d)| tap_total(d, r))),
            (
                "store_write_failed",
                view.store.map_or(0, |(s, _)| {
                    Kind::ALL.iter().map(|&k| s.rows_dropped_write.get(k)).sum()
                }),
            ),
        ],
        max_feed_ring_depth: view.core_stats.max_input_depth.load(r),
        drops_by_feed_thread: view.feed_ring_drops.iter().map(|d| d.load(r)).collect(),
        store: view.store.map_or_else(Vec::new, |(s, _)| {
            vec![
                ("write_errors", s.write_errors.load(r)),
                (
                    "rows_dropped_write",
                    Kind::ALL.iter().map(|&k| s.rows_dropped_write.get(k)).sum(),
                ),
                ("files", s.files.load(r)),
                (
                    "rows_written",
                    Kind::ALL.iter().map(|&k| s.rows_written.get(k)).sum(),
                ),
            ]
        }),
        websocket: server.map_or_else(Vec::new, |s| {
            vec![
                ("clients", s.ws_clients.load(r)),
                ("lag_max_ms", s.ws_lag_max_ms.load(r)),
                ("slow_closed", s.ws_slow_closed.load(r)),
                ("ping_closed", s.ws_ping_closed.load(r)),
            ]
        }),
        venues,
        stages,
        counters: {
            let mut c = vec![
                ("quotes_total", sink.quotes.load(r)),
                ("trades_total", sink.trades.load(r)),
                ("signals_total", sink.signals.load(r)),
                ("gaps_total", sink.gaps.load(r)),
            ];
            if let Some((st, _)) = view.store {
                c.extend([
                    ("store_quote_rows_total", st.rows_written.get(Kind::Quotes)),
                    ("store_trade_rows_total", st.rows_written.get(Kind::Trades)),
                    (
                        "store_spread_rows_total",
                        st.rows_written.get(Kind::Spreads),
                    ),
                    ("store_files_total", st.files.load(r)),
                    ("store_bytes_total", st.bytes.load(r)),
                    ("store_write_errors_total", st.write_errors.load(r)),
                ]);
            }
            if let Some(s) = server {
                c.extend([
                    ("http_requests_total", s.requests.load(r)),
                    ("http_errors_total", s.errors.load(r)),
                    ("connections_refused_total", s.refused.load(r)),
                    ("ws_messages_sent_total", s.ws_sent.load(r)),
                    ("ws_slow_clients_closed_total", s.ws_slow_closed.load(r)),
                    ("ws_ping_timeouts_total", s.ws_ping_closed.load(r)),
                ]);
            }
            c
        },
        collectors: view.remote.map(collectors).unwrap_or_default(),
        nats: view.remote.map(|set| nats(set, r)),
    };
    if let Ok(mut s) = state.status.lock() {
        *s = status;
    }
}

/// Outputs a tap ring dropped, all kinds.
fn tap_total(d: &TapDrops, r: Ordering) -> u64 {
    d.quotes.load(r) + d.trades.load(r) + d.signals.load(r) + d.gaps.load(r) + d.states.load(r)
}

/// The engine role's collectors for the API (heartbeat age against the wall clock now).
fn collectors(set: &RemoteSet) -> Vec<CollectorStatus> {
    let r = Ordering::Relaxed;
    let now = arb_engine::clock::wall_ns();
    let ms = |ns: i64| ns as f64 / 1e6;
    set.collectors
        .iter()
        .map(|c| {
            // Estimates exist once a ping was answered, quantiles once a quote arrived.
            let pinged = c.pings.load(r) > 0;
            let samples = c.age_samples.load(r);
            let age = |q: &std::sync::atomic::AtomicI64| (samples > 0).then(|| ms(q.load(r)));
            let bits = c.venues.load(r);
            let last_hb = c.last_heartbeat_wall_ns.load(r);
            CollectorStatus {
                name: c.name.clone(),
                up: c.up.load(r),
                venues: Exchange::ALL
                    .iter()
                    .copied()
                    .filter(|e| bits & (1 << e.index()) != 0)
                    .collect(),
                clock_offset_ms: pinged.then(|| ms(c.clock_offset_ns.load(r))),
                one_way_delay_ms: pinged.then(|| ms(c.one_way_delay_ns.load(r))),
                rtt_ms: pinged.then(|| ms(c.rtt_ns.load(r))),
                heartbeat_age_ms: (last_hb > 0).then(|| ms(now.saturating_sub(last_hb).max(0))),
                arrival_age_p50_ms: age(&c.age_p50_ns),
                arrival_age_p99_ms: age(&c.age_p99_ns),
                arrival_age_p999_ms: age(&c.age_p999_ns),
                arrival_age_samples: samples,
                batches: c.batches.load(r),
                events: c.events.load(r),
                lost_batches: c.lost_batches.load(r),
                stale_quotes: c.stale_quotes.load(r),
                unmapped: c.unmapped.load(r),
                foreign: c.foreign.load(r),
                decode_errors: c.decode_errors.load(r),
                heartbeats: c.heartbeats.load(r),
                heartbeat_timeouts: c.timeouts.load(r),
            }
        })
        .collect()
}

/// The engine role's NATS connection for the API.
fn nats(set: &RemoteSet, r: Ordering) -> NatsStatus {
    let n = &set.nats;
    NatsStatus {
        connected: n.connected.load(r),
        connects: n.connects.load(r),
        disconnects: n.disconnects.load(r),
        slow_consumer: n.slow_consumer.load(r),
        errors: n.errors.load(r),
        last_error: n.last_error(),
    }
}
