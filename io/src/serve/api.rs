//! The HTTP API: JSON over the engine's shared state (ranking board, per-venue history,
//! counters published by the pipeline), errors as `{"error": ...}` with the right status.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/health` | status, uptime, memory reserved and RSS, events, drops, ring depth |
//! | `GET /api/symbols` | every symbol and the venues listing it |
//! | `GET /api/exchanges` | per venue: state, messages, messages/s, last message age, reconnects, decode errors (an array); in the engine role `{exchanges, collectors, nats}`: the venues, then per collector its state, venues, clock offset, one-way delay, heartbeat age, arrival-age quantiles and counters, and the NATS connection |
//! | `GET /api/opportunities?limit=&min_spread=&exchange=&symbol=` | the live ranking: best executable spread per symbol and its pair |
//! | `GET /api/window?symbol=&exchange1=&exchange2=&minutes=` | the live pair series with bands (chart object), both executable spreads, and the pair's recent signals |
//! | `GET /api/rolling_window_data?limit=` | NDJSON, one chart object per live opportunity (the old endpoint) |
//! | `GET /api/history?symbol=&exchange1=&exchange2=&from=&to=` | NDJSON chart object from the Parquet store (read off the server's thread) |
//! | `GET /api/dashboard_data` | NDJSON chart objects from the store for the opportunities of the newest `arb analyze` CSV (`opportunity_cycles_040bp > 40`), else the live ranking |
//! | `GET /metrics` | Prometheus text: counters, gauges, latency quantiles per stage (and `arb_collector_*`, `arb_nats_*` in the engine role) |
//! | `GET /` | the dashboard (HTML, JS, CSS and uPlot served from the binary) |
//!
//! Venues and symbols are written as [`crate::names`] spells them and parsed in any
//! spelling. Numbers that are not finite are `null`.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use arb_engine::history::{HistPoint, HistoryStore};
use arb_engine::pairs::{Horizon, PairQuery, PairReader, PairSeries};
use arb_engine::ranking::RankingBoard;
use arb_engine::{Exchange, SymbolId, SymbolRegistry, VenuePair, clock};
use serde_json::{Value, json};

use super::http::{Request, Response};
use crate::names;

/// A venue's connection state for the API.
#[derive(Debug, Clone, Default)]
pub struct VenueStatus {
    /// The venue.
    pub exchange: Option<Exchange>,
    /// `connected`, `degraded`, `down` or `idle` (no connection yet).
    pub state: &'static str,
    /// Frames received.
    pub messages: u64,
    /// Frames per second over the last interval.
    pub messages_per_s: f64,
    /// Since the last frame, ms (`None` before the first).
    pub last_message_age_ms: Option<f64>,
    /// Reconnects.
    pub reconnects: u64,
    /// Frames that did not decode.
    pub decode_errors: u64,
    /// Live connections' details (`arb run`); `None` in a replay.
    pub link: Option<LinkStatus>,
}

/// A venue's live connections, as `/api/exchanges` shows them.
#[derive(Debug, Clone, Default)]
pub struct LinkStatus {
    /// Connections (shards).
    pub connections: u64,
    /// Of which streaming now.
    pub connections_up: u64,
    /// TCP connection attempts.
    pub connect_attempts: u64,
    /// Attempts that failed before the WebSocket opened.
    pub connect_failures: u64,
    /// Drops because nothing arrived within the silence timeout.
    pub heartbeat_timeouts: u64,
    /// Connections replaced with no gap (lifetime, shutdown notice).
    pub replacements: u64,
    /// Attempts that waited for the venue's connection budget.
    pub budget_waits: u64,
    /// Error replies from the venue (rejected topics, bad requests).
    pub venue_errors: u64,
    /// The last such error's text.
    pub last_error: Option<String>,
    /// Frames over the size limit, skipped.
    pub oversize_frames: u64,
}

/// One collector of the engine role (`arb run --role engine`), as `/api/exchanges` and
/// `/metrics` show it. Times are on the engine's clock; estimates are `None` until the
/// first sample.
#[derive(Debug, Clone, Default)]
pub struct CollectorStatus {
    /// Its name (a NATS subject token).
    pub name: String,
    /// Heartbeats arriving within the timeout (`state` `up`, else `down`).
    pub up: bool,
    /// Venues it owns for this engine.
    pub venues: Vec<Exchange>,
    /// Collector clock minus engine clock, ms (best of the recent pings).
    pub clock_offset_ms: Option<f64>,
    /// One-way delay estimate from the pings, ms.
    pub one_way_delay_ms: Option<f64>,
    /// Round trip of the best recent ping, ms.
    pub rtt_ms: Option<f64>,
    /// Since the last heartbeat, ms (`None` before the first).
    pub heartbeat_age_ms: Option<f64>,
    /// Arrival age of quotes (collector receive → engine receive, after the offset), ms:
    /// p50.
    pub arrival_age_p50_ms: Option<f64>,
    /// p99.
    pub arrival_age_p99_ms: Option<f64>,
    /// p99.9.
    pub arrival_age_p999_ms: Option<f64>,
    /// Samples behind the arrival-age quantiles.
    pub arrival_age_samples: u64,
    /// Data batches applied.
    pub batches: u64,
    /// Quotes and trades pushed to the core.
    pub events: u64,
    /// Batches missing by sequence number.
    pub lost_batches: u64,
    /// Quotes older than the staleness limit on arrival, dropped.
    pub stale_quotes: u64,
    /// Events whose symbol the engine does not watch, or that came before the table.
    pub unmapped: u64,
    /// Batches for a venue another collector owns, dropped.
    pub foreign: u64,
    /// Messages that did not decode.
    pub decode_errors: u64,
    /// Heartbeats received.
    pub heartbeats: u64,
    /// Times the collector was marked down for missing heartbeats.
    pub heartbeat_timeouts: u64,
}

/// The engine role's NATS connection, as `/api/exchanges` and `/metrics` show it.
#[derive(Debug, Clone, Default)]
pub struct NatsStatus {
    /// Connected to a server now.
    pub connected: bool,
    /// Successful connections (the first and every reconnect).
    pub connects: u64,
    /// Connections lost.
    pub disconnects: u64,
    /// Messages the client dropped because a subscription's queue was full.
    pub slow_consumer: u64,
    /// Server or client errors reported.
    pub errors: u64,
    /// The last error's text.
    pub last_error: Option<String>,
}

/// Latency quantiles of one stage, ns.
#[derive(Debug, Clone)]
pub struct StageQuantiles {
    /// Stage name (`decoded_core`, ...).
    pub stage: &'static str,
    /// Samples.
    pub count: u64,
    /// p50, p99, p99.9, max.
    pub p50: u64,
    /// p99.
    pub p99: u64,
    /// p99.9.
    pub p999: u64,
    /// Max.
    pub max: u64,
}

/// What the pipeline publishes for the API every 100 ms (cold path, behind a mutex the
/// hot threads never touch).
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Events the core took.
    pub events: u64,
    /// Events per second over the last interval.
    pub events_per_s: f64,
    /// Bytes reserved at start-up.
    pub memory_reserved_bytes: u64,
    /// Resident set now.
    pub rss_bytes: u64,
    /// Drops by ring (`feed_rings`, `sink_ring`, `store_ring`).
    pub drops: Vec<(&'static str, u64)>,
    /// Deepest feed ring seen.
    pub max_feed_ring_depth: u64,
    /// Drops of each feed thread's input ring, by thread (their sum is `feed_rings`).
    pub drops_by_feed_thread: Vec<u64>,
    /// The Parquet store's counters (`write_errors`, `rows_dropped_write`, `files`,
    /// `rows_written`), when the store is on.
    pub store: Vec<(&'static str, u64)>,
    /// The server's WebSocket figures (`clients`, `lag_max_ms`: the furthest a client
    /// reads behind the stream, `slow_closed`, `ping_closed`), when serving.
    pub websocket: Vec<(&'static str, u64)>,
    /// Per venue.
    pub venues: Vec<VenueStatus>,
    /// Latency per stage since start.
    pub stages: Vec<StageQuantiles>,
    /// Other counters for `/metrics` (`name`, value), e.g. `quotes_total`.
    pub counters: Vec<(&'static str, u64)>,
    /// The engine role's collectors, in `--collectors` order (empty otherwise).
    pub collectors: Vec<CollectorStatus>,
    /// The engine role's NATS connection (`None` otherwise).
    pub nats: Option<NatsStatus>,
}

impl Status {
    /// The engine role: `/api/exchanges` then answers an object with the collectors.
    fn is_engine_role(&self) -> bool {
        self.nats.is_some() || !self.collectors.is_empty()
    }
}

/// Everything the API reads, shared with the pipeline.
#[derive(Debug)]
pub struct LiveState {
    /// Symbols.
    pub registry: Arc<SymbolRegistry>,
    /// Per-venue history the core writes.
    pub history: Arc<HistoryStore>,
    /// The core's ranking.
    pub ranking: Arc<RankingBoard>,
    /// The core's staleness rule.
    pub stale_after_ns: i64,
    /// Wall time the process started.
    pub started_wall_ns: i64,
    /// Published by the pipeline's collector.
    pub status: Mutex<Status>,
    /// The Parquet store's root, for the history endpoints (`None`: no store).
    pub store_root: Option<std::path::PathBuf>,
    /// Where to look for the newest `summary_stats_*.csv` of `arb analyze` (the
    /// opportunity list of `/api/dashboard_data`).
    pub analysis_dirs: Vec<std::path::PathBuf>,
}

/// Work a request hands to a short-lived thread, so store reads never block the event
/// loop.
pub type Job = Box<dyn FnOnce() -> Response + Send>;

/// How a route answers: at once, or by a job off the server's thread.
#[derive(Debug)]
pub enum Answer {
    /// The response.
    Now(Response),
    /// Run this and send its response.
    Later(JobBox),
}

/// A [`Job`] with a `Debug` impl.
pub struct JobBox(pub Job);

impl std::fmt::Debug for JobBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobBox")
    }
}

/// Longest range `/api/history` reads in one request.
pub const MAX_HISTORY_NS: i64 = 24 * 3_600_000_000_000;

/// The route handlers and their reusable buffers (one per server thread).
#[derive(Debug)]
pub struct Api {
    state: Arc<LiveState>,
    reader: PairReader,
    board: Vec<(SymbolId, f64)>,
    /// The newest analysis CSV's pairs, re-read only when a newer file appears (the
    /// directories are listed at most every 10 s).
    analysis: AnalysisCache,
    /// The last signals (bounded), for the chart markers of `/api/window`.
    signals: std::collections::VecDeque<arb_engine::spread::Signal>,
}

/// Signals kept for chart markers.
const RECENT_SIGNALS: usize = 4096;

#[derive(Debug, Default)]
struct AnalysisCache {
    checked_mono_ns: i64,
    file: Option<std::path::PathBuf>,
    rows: Vec<(String, Exchange, Exchange)>,
}

impl AnalysisCache {
    fn rows(&mut self, dirs: &[std::path::PathBuf]) -> &[(String, Exchange, Exchange)] {
        let now = clock::mono_ns();
        if self.checked_mono_ns != 0 && now - self.checked_mono_ns < 10_000_000_000 {
            return &self.rows;
        }
        self.checked_mono_ns = now;
        let newest = newest_analysis_file(dirs);
        if newest != self.file {
            self.rows = newest
                .as_deref()
                .and_then(read_analysis)
                .unwrap_or_default();
            self.file = newest;
        }
        &self.rows
    }
}

// The dashboard, served from the binary (uPlot vendored from npm: assets/vendor/uplot).
const ASSET_INDEX: &str = include_str!("../../assets/index.html");
const ASSET_APP_JS: &str = include_str!("../../assets/app.js");
const ASSET_APP_CSS: &str = include_str!("../../assets/app.css");
const ASSET_UPLOT_JS: &str = include_str!("../../assets/vendor/uplot/uPlot.iife.min.js");
const ASSET_UPLOT_CSS: &str = include_str!("../../assets/vendor/uplot/uPlot.min.css");

fn asset(body: &str, content_type: &'static str) -> Response {
    Response::bytes(200, content_type, body.as_bytes().to_vec())
}

/// Minutes of the live charts (as the legacy page showed).
pub const LIVE_CHART_MINUTES: f64 = 15.0;

/// Opportunities per request at most (the ranking board's size).
const MAX_LIMIT: usize = 64;

impl Api {
    /// Handlers over `state`.
    pub fn new(state: Arc<LiveState>) -> Self {
        Api {
            state,
            reader: PairReader::default(),
            board: Vec::new(),
            analysis: AnalysisCache::default(),
            signals: std::collections::VecDeque::with_capacity(RECENT_SIGNALS),
        }
    }

    /// Remembers a signal for the chart markers (the last 4 096).
    pub fn note_signal(&mut self, s: &arb_engine::spread::Signal) {
        if self.signals.len() == RECENT_SIGNALS {
            self.signals.pop_front();
        }
        self.signals.push_back(*s);
    }

    /// The shared state.
    pub fn state(&self) -> &Arc<LiveState> {
        &self.state
    }

    /// The legacy bus's first message: every (venue, symbol) listing.
    pub fn symbol_info_legacy(&self) -> Value {
        let r = &self.state.registry;
        let payload: Vec<Value> = (0..r.len() as u32)
            .flat_map(|i| {
                let id = SymbolId(i);
                r.venues(id).map(move |e| {
                    json!({
                        "Exchange": names::exchange_name(e),
                        "Name": names::symbol_name(r.name(id)),
                        // Not known to arb yet (no instrument metadata from the venues).
                        "PriceStep": Value::Null,
                        "QuantityStep": Value::Null,
                        "MinNotional": Value::Null,
                    })
                })
            })
            .collect();
        json!({"MessageType": "AllSymbolInfo", "Payload": payload})
    }

    /// The ranking as the WebSocket `opportunities` message: the top `limit`.
    pub fn opportunities_json(&mut self, limit: usize) -> Value {
        let now = self.state.ranking.read(&mut self.board).unwrap_or(0);
        let list: Vec<Value> = self
            .board
            .iter()
            .filter_map(|&(sym, _)| best_pair(&self.state, sym, now, None))
            .take(limit)
            .map(|b| b.to_json(&self.state.registry))
            .collect();
        json!({"type": "opportunities", "timestamp": now as f64 / 1e9, "pub_ts": clock::wall_ns() as f64 / 1e9, "opportunities": list})
    }

    /// Answers one request, handing store reads (`/api/history`,
    /// `/api/dashboard_data`) to a job.
    pub fn answer(&mut self, req: &Request<'_>) -> Answer {
        if req.method == "GET" || req.method == "HEAD" {
            let job = match req.path {
                "/api/history" => Some(self.history(req)),
                "/api/dashboard_data" => Some(self.dashboard_data()),
                _ => None,
            };
            if let Some(j) = job {
                return match j {
                    Ok(job) => Answer::Later(JobBox(job)),
                    Err(r) => Answer::Now(r),
                };
            }
        }
        Answer::Now(self.handle(req))
    }

    fn store(&self) -> Result<crate::store::read::Store, Response> {
        self.state
            .store_root
            .as_ref()
            .map(|r| crate::store::read::Store::new(r.clone()))
            .ok_or_else(|| {
                Response::error(
                    404,
                    "no store: start arb with --store DIR (arb demo keeps one under ./data)",
                )
            })
    }

    /// `GET /api/history?symbol=&exchange1=&exchange2=&from=&to=`: the pair's chart object
    /// from the store (as-of join within 2 s, bands), NDJSON; default the last 15 minutes
    /// of the store.
    fn history(&mut self, req: &Request<'_>) -> Result<Job, Response> {
        let (sym, pair) = self.pair_params(req)?;
        let store = self.store()?;
        let time = |k: &str| -> Result<Option<i64>, Response> {
            match req.param(k) {
                None => Ok(None),
                Some(v) => crate::history::parse_time_ns(&v).map(Some).ok_or_else(|| {
                    Response::error(
                        400,
                        format!("{k} must be RFC 3339, YYYY-MM-DDTHH:MM[:SS] (UTC) or epoch seconds, got {v:?}"),
                    )
                }),
            }
        };
        let (from, to) = (time("from")?, time("to")?);
        let symbol = names::symbol_name(self.state.registry.name(sym));
        Ok(Box::new(move || {
            let stats = crate::store::read::ReadStats::default();
            let (start, end) = match (from, to) {
                (Some(f), Some(t)) => (f, t),
                (Some(f), None) => (f, f.saturating_add(15 * 60_000_000_000)),
                (None, Some(t)) => (t.saturating_sub(15 * 60_000_000_000), t),
                (None, None) => match store.hour_span(crate::store::Kind::Quotes).ok().flatten() {
                    Some((_, last)) => {
                        let end = (last + 1) * crate::store::schema::HOUR_NS;
                        (end - crate::store::schema::HOUR_NS, end)
                    }
                    None => return Response::error(404, "the store holds no quotes yet"),
                },
            };
            if end <= start || end - start > MAX_HISTORY_NS {
                return Response::error(400, "the range must be positive and at most 24 h");
            }
            let range = crate::store::read::TimeRange {
                start_ns: start,
                end_ns: end,
            };
            match crate::history::pair_chart(
                &store,
                &symbol,
                pair.first,
                pair.second,
                range,
                &stats,
            ) {
                Ok(chart) => {
                    let mut body = Vec::new();
                    // One line: write_json ends it with a newline.
                    if chart.write_json(&mut body).is_err() {
                        return Response::error(500, "serialising the chart failed");
                    }
                    Response::bytes(200, "application/x-ndjson", body)
                }
                Err(e) => Response::error(500, format!("reading the store: {e}")),
            }
        }))
    }

    /// `GET /api/dashboard_data`: one chart object per opportunity from the store's last
    /// 15 minutes, NDJSON. Opportunities come from the newest `arb analyze` CSV
    /// (`opportunity_cycles_040bp > 40`), else from the live ranking.
    fn dashboard_data(&mut self) -> Result<Job, Response> {
        let store = self.store()?;
        let rows = self.analysis.rows(&self.state.analysis_dirs).to_vec();
        let picks: Vec<(String, Exchange, Exchange)> = match rows {
            rows if !rows.is_empty() => rows,
            _ => self
                .top_pairs(20)
                .into_iter()
                .map(|(sym, pair)| {
                    (
                        names::symbol_name(self.state.registry.name(sym)),
                        pair.first,
                        pair.second,
                    )
                })
                .collect(),
        };
        Ok(Box::new(move || {
            let stats = crate::store::read::ReadStats::default();
            let Some((_, last)) = store.hour_span(crate::store::Kind::Quotes).ok().flatten() else {
                return Response::error(404, "the store holds no quotes yet");
            };
            // The last 15 minutes the store holds (its newest hour's end, at most).
            let end = (last + 1) * crate::store::schema::HOUR_NS;
            let newest = newest_ts(&store, &stats).unwrap_or(end).min(end);
            let range = crate::store::read::TimeRange {
                start_ns: newest - 15 * 60_000_000_000,
                end_ns: newest + 1,
            };
            let mut body = Vec::new();
            for (symbol, a, b) in picks.iter().take(20) {
                if let Ok(chart) = crate::history::pair_chart(&store, symbol, *a, *b, range, &stats)
                {
                    let _ = chart.write_json(&mut body);
                }
            }
            Response::bytes(200, "application/x-ndjson", body)
        }))
    }

    /// Answers one request.
    pub fn handle(&mut self, req: &Request<'_>) -> Response {
        if req.method != "GET" && req.method != "HEAD" {
            let mut r = Response::error(405, format!("{} is not supported; use GET", req.method));
            r.extra.push(("Allow", "GET, HEAD".into()));
            return r;
        }
        let result = match req.path {
            "/api/health" => Ok(self.health()),
            "/api/symbols" => Ok(self.symbols()),
            "/api/exchanges" => Ok(self.exchanges()),
            "/api/opportunities" => self.opportunities(req).map(|v| Response::json(200, &v)),
            "/api/window" => self.window(req),
            "/api/rolling_window_data" => self.rolling(req),
            "/metrics" => Ok(self.metrics()),
            "/" | "/index.html" => Ok(asset(ASSET_INDEX, "text/html; charset=utf-8")),
            "/assets/app.js" => Ok(asset(ASSET_APP_JS, "text/javascript; charset=utf-8")),
            "/assets/app.css" => Ok(asset(ASSET_APP_CSS, "text/css; charset=utf-8")),
            "/assets/uPlot.min.js" => Ok(asset(ASSET_UPLOT_JS, "text/javascript; charset=utf-8")),
            "/assets/uPlot.min.css" => Ok(asset(ASSET_UPLOT_CSS, "text/css; charset=utf-8")),
            _ => Err(Response::error(404, format!("no route {}", req.path))),
        };
        result.unwrap_or_else(|e| e)
    }

    fn status(&self) -> Status {
        self.state
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    fn health(&self) -> Response {
        let s = self.status();
        let now = clock::wall_ns();
        let drops: serde_json::Map<String, Value> = s
            .drops
            .iter()
            .map(|(k, v)| ((*k).to_string(), json!(v)))
            .collect();
        Response::json(
            200,
            &json!({
                "status": "healthy",
                "timestamp": now as f64 / 1e9,
                "uptime_s": (now - self.state.started_wall_ns) as f64 / 1e9,
                "memory": {"reserved_bytes": s.memory_reserved_bytes, "rss_bytes": s.rss_bytes},
                "events": s.events,
                "events_per_s": s.events_per_s,
                "drops": drops,
                "max_feed_ring_depth": s.max_feed_ring_depth,
                "drops_by_feed_thread": s.drops_by_feed_thread,
                "store": (!s.store.is_empty()).then(|| s.store.iter()
                    .map(|(k, v)| ((*k).to_string(), json!(v)))
                    .collect::<serde_json::Map<String, Value>>()),
                "websocket": (!s.websocket.is_empty()).then(|| s.websocket.iter()
                    .map(|(k, v)| ((*k).to_string(), json!(v)))
                    .collect::<serde_json::Map<String, Value>>()),
                "latency": s.stages.iter().map(|st| json!({
                    "stage": st.stage, "count": st.count, "p50": st.p50, "p99": st.p99,
                    "p999": st.p999, "max": st.max,
                })).collect::<Vec<_>>(),
            }),
        )
    }

    fn symbols(&self) -> Response {
        let r = &self.state.registry;
        let mut list: Vec<Value> = (0..r.len() as u32)
            .map(|i| {
                let id = SymbolId(i);
                json!({
                    "symbol": names::symbol_name(r.name(id)),
                    "base": r.base(id),
                    "quote": r.quote(id),
                    "exchanges": r.venues(id).map(names::exchange_name).collect::<Vec<_>>(),
                })
            })
            .collect();
        list.sort_by(|a, b| a["symbol"].as_str().cmp(&b["symbol"].as_str()));
        Response::json(200, &Value::Array(list))
    }

    fn exchanges(&self) -> Response {
        let s = self.status();
        let list: Vec<Value> = s
            .venues
            .iter()
            .filter_map(|v| {
                let e = v.exchange?;
                Some(json!({
                    "exchange": names::exchange_name(e),
                    "id": e.as_str(),
                    "state": v.state,
                    "messages": v.messages,
                    "messages_per_s": v.messages_per_s,
                    "last_message_age_ms": v.last_message_age_ms,
                    "reconnects": v.reconnects,
                    "decode_errors": v.decode_errors,
                    "connections": v.link.as_ref().map(|l| json!({
                        "total": l.connections,
                        "up": l.connections_up,
                        "connect_attempts": l.connect_attempts,
                        "connect_failures": l.connect_failures,
                        "heartbeat_timeouts": l.heartbeat_timeouts,
                        "replacements": l.replacements,
                        "budget_waits": l.budget_waits,
                        "venue_errors": l.venue_errors,
                        "last_error": l.last_error,
                        "oversize_frames": l.oversize_frames,
                    })),
                }))
            })
            .collect();
        if !s.is_engine_role() {
            return Response::json(200, &Value::Array(list));
        }
        let collectors: Vec<Value> = s.collectors.iter().map(collector_json).collect();
        let nats = s.nats.as_ref().map(|n| {
            json!({
                "connected": n.connected,
                "connects": n.connects,
                "disconnects": n.disconnects,
                "slow_consumer": n.slow_consumer,
                "errors": n.errors,
                "last_error": n.last_error,
            })
        });
        Response::json(
            200,
            &json!({"exchanges": list, "collectors": collectors, "nats": nats}),
        )
    }

    /// The live ranking with each symbol's best pair, filtered.
    fn opportunities(&mut self, req: &Request<'_>) -> Result<Value, Response> {
        let limit = match req.param("limit") {
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    Response::error(400, format!("limit must be a positive integer, got {v:?}"))
                })?
                .min(MAX_LIMIT),
            None => 20,
        };
        let min_spread =
            match req.param("min_spread") {
                Some(v) => Some(v.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(
                    || {
                        Response::error(
                            400,
                            format!("min_spread must be a number (percent), got {v:?}"),
                        )
                    },
                )?),
                None => None,
            };
        let exchange = match req.param("exchange") {
            Some(v) => Some(
                names::parse_exchange(&v)
                    .ok_or_else(|| Response::error(400, format!("unknown exchange {v:?}")))?,
            ),
            None => None,
        };
        let symbol = match req.param("symbol") {
            Some(v) => Some(self.symbol_id(&v)?),
            None => None,
        };
        let now = self.state.ranking.read(&mut self.board).unwrap_or(0);
        let mut out = Vec::new();
        for &(sym, _) in &self.board {
            if symbol.is_some_and(|s| s != sym) {
                continue;
            }
            let Some(best) = best_pair(&self.state, sym, now, exchange) else {
                continue;
            };
            if min_spread.is_some_and(|m| best.exec_pct < m) {
                continue;
            }
            out.push(best.to_json(&self.state.registry));
            if out.len() >= limit {
                break;
            }
        }
        Ok(json!({ "timestamp": now as f64 / 1e9, "opportunities": out }))
    }

    fn symbol_id(&self, s: &str) -> Result<SymbolId, Response> {
        let written = names::parse_symbol(s).ok_or_else(|| {
            Response::error(400, format!("symbol must look like BTC_USDT, got {s:?}"))
        })?;
        let engine_name = written.replacen('_', "/", 1);
        self.state
            .registry
            .lookup_name(&engine_name)
            .ok_or_else(|| Response::error(404, format!("unknown symbol {written}")))
    }

    fn pair_params(&self, req: &Request<'_>) -> Result<(SymbolId, VenuePair), Response> {
        let need = |k: &str| {
            req.param(k)
                .ok_or_else(|| Response::error(400, format!("missing parameter {k}")))
        };
        let sym = self.symbol_id(&need("symbol")?)?;
        let ex = |k: &str| -> Result<Exchange, Response> {
            let v = need(k)?;
            names::parse_exchange(&v)
                .ok_or_else(|| Response::error(400, format!("unknown exchange {v:?}")))
        };
        let (a, b) = (ex("exchange1")?, ex("exchange2")?);
        let pair = VenuePair::new(a, b)
            .ok_or_else(|| Response::error(400, "exchange1 and exchange2 must differ"))?;
        Ok((sym, pair))
    }

    /// The live series of one pair over the last `minutes` (default 15), raw points when
    /// the raw history covers the span, 1 s buckets otherwise.
    fn window(&mut self, req: &Request<'_>) -> Result<Response, Response> {
        let (sym, pair) = self.pair_params(req)?;
        let minutes = match req.param("minutes") {
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|m| *m > 0.0 && m.is_finite())
                .ok_or_else(|| {
                    Response::error(400, format!("minutes must be positive, got {v:?}"))
                })?,
            None => 15.0,
        };
        let state = Arc::clone(&self.state);
        let series = self.chart(sym, pair, minutes)?;
        let mut v = chart_json(&state.registry, sym, pair, series);
        v["exec12"] = floats(&series.exec_ab_pct);
        v["exec21"] = floats(&series.exec_ba_pct);
        let from = series.ts_ns.first().copied().unwrap_or(i64::MAX);
        v["signals"] = Value::Array(
            self.signals
                .iter()
                .filter(|s| s.symbol == sym && s.pair == pair && s.ts_ns >= from)
                .map(|s| {
                    json!({
                        "ts": (s.ts_ns / 1_000_000) as f64 / 1e3,
                        "kind": if s.kind == arb_engine::spread::SignalKind::Entry { "Entry" } else { "Exit" },
                        "deviation": finite(s.dev_pct),
                    })
                })
                .collect(),
        );
        Ok(Response::json(200, &v))
    }

    fn chart(
        &mut self,
        sym: SymbolId,
        pair: VenuePair,
        minutes: f64,
    ) -> Result<&PairSeries, Response> {
        let mut board = Vec::new();
        let now = self.state.ranking.read(&mut board).unwrap_or(0);
        let since = now.saturating_sub((minutes * 60e9) as i64);
        let mut q = PairQuery::new(sym, pair, Horizon::Raw);
        q.stale_after_ns = self.state.stale_after_ns;
        q.since_ns = since;
        let map_err = |e: arb_engine::history::HistoryError| match e {
            arb_engine::history::HistoryError::NoSeries => Response::error(
                404,
                format!(
                    "{} is not listed on both {} and {}",
                    names::symbol_name(self.state.registry.name(sym)),
                    names::exchange_name(pair.first),
                    names::exchange_name(pair.second)
                ),
            ),
            other => Response::error(503, format!("history: {other}; try again")),
        };
        // Raw points when the raw ring holds the whole span (it is not full yet, or its
        // oldest point is older than the span); 1 s buckets otherwise.
        let raw_points = self.state.history.config().raw_points;
        let raw_covers = {
            let all = PairQuery {
                since_ns: i64::MIN,
                ..q
            };
            let s = self
                .reader
                .read(&self.state.history, &all)
                .map_err(map_err)?;
            s.ts_ns.len() < raw_points || s.ts_ns.first().is_some_and(|&t| t <= since)
        };
        if !raw_covers {
            q.horizon = Horizon::Buckets;
        }
        let history = Arc::clone(&self.state.history);
        self.reader.read(&history, &q).map_err(map_err)
    }

    fn rolling(&mut self, req: &Request<'_>) -> Result<Response, Response> {
        let limit = req
            .param("limit")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(20)
            .clamp(1, MAX_LIMIT);
        let mut body = Vec::new();
        for (sym, pair) in self.top_pairs(limit) {
            if let Some(v) = self.chart_object(sym, pair, LIVE_CHART_MINUTES) {
                let _ = serde_json::to_writer(&mut body, &v);
                body.push(b'\n');
            }
        }
        Ok(Response::bytes(200, "application/x-ndjson", body))
    }

    /// The pairs the legacy chart stream shows: those of the newest `arb analyze` CSV
    /// with `opportunity_cycles_040bp > 40`, else the live ranking's.
    pub fn chart_pairs(&mut self, limit: usize) -> Vec<(SymbolId, VenuePair)> {
        let rows = self.analysis.rows(&self.state.analysis_dirs).to_vec();
        {
            let picked: Vec<(SymbolId, VenuePair)> = rows
                .iter()
                .filter_map(|(sym, a, b)| {
                    let id = self
                        .state
                        .registry
                        .lookup_name(&sym.replacen('_', "/", 1))?;
                    Some((id, VenuePair::new(*a, *b)?))
                })
                .take(limit)
                .collect();
            if !picked.is_empty() {
                return picked;
            }
        }
        self.top_pairs(limit)
    }

    /// The live ranking's first `limit` symbols, each with its best pair now.
    pub fn top_pairs(&mut self, limit: usize) -> Vec<(SymbolId, VenuePair)> {
        let now = self.state.ranking.read(&mut self.board).unwrap_or(0);
        self.board
            .iter()
            .filter_map(|&(sym, _)| best_pair(&self.state, sym, now, None).map(|b| (sym, b.pair)))
            .take(limit)
            .collect()
    }

    /// The legacy chart object of a pair over the last `minutes`, or `None` when the
    /// pair has no series.
    pub fn chart_object(&mut self, sym: SymbolId, pair: VenuePair, minutes: f64) -> Option<Value> {
        let state = Arc::clone(&self.state);
        let series = self.chart(sym, pair, minutes).ok()?;
        Some(chart_json(&state.registry, sym, pair, series))
    }

    fn metrics(&self) -> Response {
        let s = self.status();
        let mut out = String::with_capacity(4096);
        let mut gauge = |name: &str, help: &str, v: f64| {
            let _ = writeln!(
                out,
                "# HELP arb_{name} {help}\n# TYPE arb_{name} gauge\narb_{name} {v}"
            );
        };
        gauge(
            "uptime_seconds",
            "Seconds since start.",
            (clock::wall_ns() - self.state.started_wall_ns) as f64 / 1e9,
        );
        gauge(
            "memory_reserved_bytes",
            "Bytes reserved at start-up.",
            s.memory_reserved_bytes as f64,
        );
        gauge("rss_bytes", "Resident set size.", s.rss_bytes as f64);
        gauge(
            "events_per_second",
            "Events the core took per second.",
            s.events_per_s,
        );
        gauge(
            "feed_ring_depth_max",
            "Deepest feed ring seen.",
            s.max_feed_ring_depth as f64,
        );
        for (key, name, help) in [
            ("clients", "ws_clients", "WebSocket clients open."),
            (
                "lag_max_ms",
                "ws_client_lag_max_ms",
                "The furthest a WebSocket client reads behind the stream (ping round trip), ms.",
            ),
        ] {
            if let Some((_, v)) = s.websocket.iter().find(|(k, _)| *k == key) {
                gauge(name, help, *v as f64);
            }
        }
        let _ = writeln!(
            out,
            "# HELP arb_events_total Events the core took.\n# TYPE arb_events_total counter\narb_events_total {}",
            s.events
        );
        let _ = writeln!(
            out,
            "# HELP arb_drops_total Items dropped on full rings.\n# TYPE arb_drops_total counter"
        );
        for (ring, v) in &s.drops {
            let _ = writeln!(out, "arb_drops_total{{ring=\"{ring}\"}} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP arb_feed_ring_drops_total Items dropped on a feed thread's full input ring.\n# TYPE arb_feed_ring_drops_total counter"
        );
        for (t, v) in s.drops_by_feed_thread.iter().enumerate() {
            let _ = writeln!(out, "arb_feed_ring_drops_total{{thread=\"{t}\"}} {v}");
        }
        for (name, v) in &s.counters {
            let _ = writeln!(out, "# TYPE arb_{name} counter\narb_{name} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP arb_venue_messages_total Frames received per venue.\n# TYPE arb_venue_messages_total counter"
        );
        for v in &s.venues {
            if let Some(e) = v.exchange {
                let _ = writeln!(
                    out,
                    "arb_venue_messages_total{{venue=\"{}\"}} {}",
                    e.as_str(),
                    v.messages
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP arb_venue_connected 1 when the venue's connections are up.\n# TYPE arb_venue_connected gauge"
        );
        for v in &s.venues {
            if let Some(e) = v.exchange {
                let _ = writeln!(
                    out,
                    "arb_venue_connected{{venue=\"{}\"}} {}",
                    e.as_str(),
                    u8::from(v.state == "connected")
                );
            }
        }
        // Live connections (arb run): one family per counter, labelled by venue.
        type Get = fn(&VenueStatus, &LinkStatus) -> u64;
        let link_families: [(&str, &str, Get); 7] = [
            (
                "reconnects_total",
                "Connections that were up and dropped.",
                |v, _| v.reconnects,
            ),
            (
                "connect_attempts_total",
                "TCP connection attempts.",
                |_, l| l.connect_attempts,
            ),
            (
                "heartbeat_timeouts_total",
                "Connections dropped for silence.",
                |_, l| l.heartbeat_timeouts,
            ),
            (
                "replacements_total",
                "Connections replaced with no gap.",
                |_, l| l.replacements,
            ),
            (
                "budget_waits_total",
                "Attempts that waited for the connection budget.",
                |_, l| l.budget_waits,
            ),
            (
                "venue_errors_total",
                "Error replies from the venue.",
                |_, l| l.venue_errors,
            ),
            ("connections_up", "Connections streaming now.", |_, l| {
                l.connections_up
            }),
        ];
        if s.venues.iter().any(|v| v.link.is_some()) {
            for (name, help, get) in link_families {
                let kind = if name.ends_with("_total") {
                    "counter"
                } else {
                    "gauge"
                };
                let _ = writeln!(
                    out,
                    "# HELP arb_venue_{name} {help}\n# TYPE arb_venue_{name} {kind}"
                );
                for v in &s.venues {
                    if let (Some(e), Some(l)) = (v.exchange, v.link.as_ref()) {
                        let _ = writeln!(
                            out,
                            "arb_venue_{name}{{venue=\"{}\"}} {}",
                            e.as_str(),
                            get(v, l)
                        );
                    }
                }
            }
        }
        write_collector_metrics(&mut out, &s);
        let _ = writeln!(
            out,
            "# HELP arb_stage_latency_seconds Latency per pipeline stage since start.\n# TYPE arb_stage_latency_seconds summary"
        );
        for st in &s.stages {
            for (q, v) in [
                ("0.5", st.p50),
                ("0.99", st.p99),
                ("0.999", st.p999),
                ("1", st.max),
            ] {
                let _ = writeln!(
                    out,
                    "arb_stage_latency_seconds{{stage=\"{}\",quantile=\"{q}\"}} {}",
                    st.stage,
                    v as f64 / 1e9
                );
            }
            let _ = writeln!(
                out,
                "arb_stage_latency_seconds_count{{stage=\"{}\"}} {}",
                st.stage, st.count
            );
        }
        Response::bytes(200, "text/plain; version=0.0.4", out.into_bytes())
    }
}

/// One collector in `/api/exchanges`.
fn collector_json(c: &CollectorStatus) -> Value {
    let ms = |v: Option<f64>| v.map_or(Value::Null, finite);
    json!({
        "name": c.name,
        "state": if c.up { "up" } else { "down" },
        "venues": c.venues.iter().map(|&e| names::exchange_name(e)).collect::<Vec<_>>(),
        "clock_offset_ms": ms(c.clock_offset_ms),
        "one_way_delay_ms": ms(c.one_way_delay_ms),
        "rtt_ms": ms(c.rtt_ms),
        "heartbeat_age_ms": ms(c.heartbeat_age_ms),
        "arrival_age_p50_ms": ms(c.arrival_age_p50_ms),
        "arrival_age_p99_ms": ms(c.arrival_age_p99_ms),
        "arrival_age_p999_ms": ms(c.arrival_age_p999_ms),
        "arrival_age_samples": c.arrival_age_samples,
        "batches": c.batches,
        "events": c.events,
        "lost_batches": c.lost_batches,
        "stale_quotes": c.stale_quotes,
        "unmapped": c.unmapped,
        "foreign": c.foreign,
        "decode_errors": c.decode_errors,
        "heartbeats": c.heartbeats,
        "heartbeat_timeouts": c.heartbeat_timeouts,
    })
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(v: &str) -> std::borrow::Cow<'_, str> {
    if v.contains(['\\', '"', '\n']) {
        v.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
            .into()
    } else {
        v.into()
    }
}

/// Milliseconds as seconds, rounded to the nanosecond (so `0.2250` ms prints `0.000225`,
/// not the binary noise of a division).
fn ms_to_s(ms: f64) -> f64 {
    (ms * 1e6).round() / 1e9
}

/// The engine role's `arb_collector_*` families (labelled by collector) and `arb_nats_*`;
/// nothing otherwise. A collector without an estimate yet has no sample in that family.
fn write_collector_metrics(out: &mut String, s: &Status) {
    if !s.collectors.is_empty() {
        type Gauge = fn(&CollectorStatus) -> Option<f64>;
        let gauges: [(&str, &str, Gauge); 3] = [
            (
                "up",
                "1 while the collector's heartbeats arrive within the timeout.",
                |c| Some(f64::from(u8::from(c.up))),
            ),
            (
                "clock_offset_seconds",
                "Collector clock minus engine clock (best of the recent pings).",
                |c| c.clock_offset_ms.map(ms_to_s),
            ),
            (
                "one_way_delay_seconds",
                "One-way delay estimate from the clock pings.",
                |c| c.one_way_delay_ms.map(ms_to_s),
            ),
        ];
        for (name, help, get) in gauges {
            let _ = writeln!(
                out,
                "# HELP arb_collector_{name} {help}\n# TYPE arb_collector_{name} gauge"
            );
            for c in &s.collectors {
                if let Some(v) = get(c).filter(|v| v.is_finite()) {
                    let _ = writeln!(
                        out,
                        "arb_collector_{name}{{collector=\"{}\"}} {v}",
                        label(&c.name)
                    );
                }
            }
        }
        type Counter = fn(&CollectorStatus) -> u64;
        let counters: [(&str, &str, Counter); 5] = [
            ("batches_total", "Data batches applied.", |c| c.batches),
            (
                "events_total",
                "Quotes and trades pushed to the core.",
                |c| c.events,
            ),
            (
                "lost_batches_total",
                "Batches missing by sequence number.",
                |c| c.lost_batches,
            ),
            (
                "stale_quotes_total",
                "Quotes older than the staleness limit on arrival, dropped.",
                |c| c.stale_quotes,
            ),
            (
                "heartbeat_timeouts_total",
                "Times the collector was marked down for missing heartbeats.",
                |c| c.heartbeat_timeouts,
            ),
        ];
        for (name, help, get) in counters {
            let _ = writeln!(
                out,
                "# HELP arb_collector_{name} {help}\n# TYPE arb_collector_{name} counter"
            );
            for c in &s.collectors {
                let _ = writeln!(
                    out,
                    "arb_collector_{name}{{collector=\"{}\"}} {}",
                    label(&c.name),
                    get(c)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP arb_collector_arrival_age_seconds Age of quotes on arrival (collector receive to engine receive, after the clock offset).\n# TYPE arb_collector_arrival_age_seconds summary"
        );
        for c in &s.collectors {
            let name = label(&c.name);
            for (q, v) in [
                ("0.5", c.arrival_age_p50_ms),
                ("0.99", c.arrival_age_p99_ms),
                ("0.999", c.arrival_age_p999_ms),
            ] {
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    let _ = writeln!(
                        out,
                        "arb_collector_arrival_age_seconds{{collector=\"{name}\",quantile=\"{q}\"}} {}",
                        ms_to_s(v)
                    );
                }
            }
            let _ = writeln!(
                out,
                "arb_collector_arrival_age_seconds_count{{collector=\"{name}\"}} {}",
                c.arrival_age_samples
            );
        }
    }
    if let Some(n) = &s.nats {
        let _ = writeln!(
            out,
            "# HELP arb_nats_connected 1 while connected to a NATS server.\n# TYPE arb_nats_connected gauge\narb_nats_connected {}",
            u8::from(n.connected)
        );
        let _ = writeln!(
            out,
            "# HELP arb_nats_disconnects_total NATS connections lost.\n# TYPE arb_nats_disconnects_total counter\narb_nats_disconnects_total {}",
            n.disconnects
        );
        let _ = writeln!(
            out,
            "# HELP arb_nats_slow_consumer_total Messages the NATS client dropped on a full subscription queue.\n# TYPE arb_nats_slow_consumer_total counter\narb_nats_slow_consumer_total {}",
            n.slow_consumer
        );
    }
}

/// A symbol's best executable spread now, from the newest point of each venue's history.
#[derive(Debug, Clone, Copy)]
struct Best {
    sym: SymbolId,
    pair: VenuePair,
    /// Buy here.
    buy: Exchange,
    /// Sell here.
    sell: Exchange,
    exec_pct: f64,
    dev_pct: f64,
    age_ns: i64,
}

impl Best {
    fn to_json(self, r: &SymbolRegistry) -> Value {
        json!({
            "symbol": names::symbol_name(r.name(self.sym)),
            "exchange1": names::exchange_name(self.pair.first),
            "exchange2": names::exchange_name(self.pair.second),
            "buy": names::exchange_name(self.buy),
            "sell": names::exchange_name(self.sell),
            "exec_spread": finite(self.exec_pct),
            "deviation": finite(self.dev_pct),
            "leg_age_ms": self.age_ns as f64 / 1e6,
        })
    }
}

fn best_pair(state: &LiveState, sym: SymbolId, now: i64, only: Option<Exchange>) -> Option<Best> {
    let mut legs: Vec<(Exchange, HistPoint)> = Vec::with_capacity(Exchange::COUNT);
    for e in Exchange::ALL {
        let Some(s) = state.history.series_of(sym, e) else {
            continue;
        };
        if let Ok(Some(p)) = state.history.latest(s)
            && !p.is_down()
            && now.saturating_sub(p.ts_ns) <= state.stale_after_ns
        {
            legs.push((e, p));
        }
    }
    // The board is republished every 250 ms: legs may be newer than its time.
    let now = legs.iter().map(|(_, p)| p.ts_ns).fold(now, i64::max);
    let mut best: Option<Best> = None;
    for (i, &(ea, a)) in legs.iter().enumerate() {
        for &(eb, b) in &legs[i + 1..] {
            if only.is_some_and(|o| o != ea && o != eb) {
                continue;
            }
            let Some(pair) = VenuePair::new(ea, eb) else {
                continue;
            };
            let (p1, p2) = if pair.first == ea { (a, b) } else { (b, a) };
            let (b1, a1, b2, a2) = (
                f64::from(p1.bid),
                f64::from(p1.ask),
                f64::from(p2.bid),
                f64::from(p2.ask),
            );
            let e12 = (b2 - a1) / a1 * 100.0;
            let e21 = (b1 - a2) / a2 * 100.0;
            let (exec, buy, sell) = if e12 >= e21 {
                (e12, pair.first, pair.second)
            } else {
                (e21, pair.second, pair.first)
            };
            if !exec.is_finite() || best.is_some_and(|b| b.exec_pct >= exec) {
                continue;
            }
            best = Some(Best {
                sym,
                pair,
                buy,
                sell,
                exec_pct: exec,
                dev_pct: (b1 / b2 - 1.0) * 100.0,
                age_ns: now.saturating_sub(p1.ts_ns.min(p2.ts_ns)),
            });
        }
    }
    best
}

/// A JSON number, `null` when not finite.
pub(crate) fn finite(v: f64) -> Value {
    if v.is_finite() { json!(v) } else { Value::Null }
}

fn floats(v: &[f64]) -> Value {
    Value::Array(v.iter().map(|&x| finite(x)).collect())
}

/// The newest quote time in the store's newest hour (from file statistics).
fn newest_ts(
    store: &crate::store::read::Store,
    stats: &crate::store::read::ReadStats,
) -> Option<i64> {
    let (_, last) = store.hour_span(crate::store::Kind::Quotes).ok().flatten()?;
    let files = store
        .open_files(
            crate::store::Kind::Quotes,
            crate::store::read::TimeRange::hour(last),
            stats,
        )
        .ok()?;
    let mut newest = None;
    for f in &files {
        let md = f.metadata();
        let col = md
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| c.name() == crate::store::schema::col::TIMESTAMP)?;
        for rg in md.row_groups() {
            if let Some(parquet::file::statistics::Statistics::Int64(s)) =
                rg.column(col).statistics()
                && let Some(&max) = s.max_opt()
            {
                newest = Some(newest.map_or(max, |n: i64| n.max(max)));
            }
        }
    }
    newest
}

/// The newest `summary_stats_*.csv` in `dirs` (names carry the time they were written).
fn newest_analysis_file(dirs: &[std::path::PathBuf]) -> Option<std::path::PathBuf> {
    let mut newest: Option<std::path::PathBuf> = None;
    for d in dirs {
        let Ok(rd) = std::fs::read_dir(d) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            let n = name.to_string_lossy();
            if n.starts_with("summary_stats_")
                && n.ends_with(".csv")
                && newest
                    .as_ref()
                    .is_none_or(|p| p.file_name().is_some_and(|f| *f < *name))
            {
                newest = Some(e.path());
            }
        }
    }
    newest
}

/// The pairs with `opportunity_cycles_040bp > 40` of an `arb analyze` CSV, as (symbol,
/// venue, venue), in the file's order.
fn read_analysis(path: &std::path::Path) -> Option<Vec<(String, Exchange, Exchange)>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next()?.split(',').collect();
    let col = |k: &str| header.iter().position(|h| *h == k);
    let (s, e1, e2, c) = (
        col("symbol")?,
        col("exchange1")?,
        col("exchange2")?,
        col("opportunity_cycles_040bp")?,
    );
    let mut out = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let cycles: f64 = f.get(c).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        if cycles > 40.0
            && let (Some(sym), Some(a), Some(b)) = (
                f.get(s),
                f.get(e1).and_then(|v| names::parse_exchange(v)),
                f.get(e2).and_then(|v| names::parse_exchange(v)),
            )
        {
            out.push(((*sym).to_string(), a, b));
        }
    }
    Some(out)
}

/// The legacy chart object: `{symbol, exchange1, exchange2, timestamps (epoch s),
/// spreads, upperBand, lowerBand}`.
pub fn chart_json(r: &SymbolRegistry, sym: SymbolId, pair: VenuePair, s: &PairSeries) -> Value {
    json!({
        "symbol": names::symbol_name(r.name(sym)),
        "exchange1": names::exchange_name(pair.first),
        "exchange2": names::exchange_name(pair.second),
        "timestamps": s.ts_ns.iter().map(|&t| ((t / 1_000_000) as f64) / 1e3).collect::<Vec<_>>(),
        "spreads": floats(&s.dev_pct),
        "upperBand": floats(&s.upper_band),
        "lowerBand": floats(&s.lower_band),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arb_engine::history::HistoryConfig;

    fn api(status: Status) -> Api {
        let mut r = SymbolRegistry::new();
        r.insert(Exchange::Binance, "BTCUSDT", "BTC", "USDT")
            .unwrap();
        let registry = Arc::new(r);
        let history = Arc::new(HistoryStore::new(
            &registry,
            HistoryConfig {
                buckets: 16,
                bucket_ns: 1_000_000_000,
                raw_points: 16,
            },
        ));
        Api::new(Arc::new(LiveState {
            registry,
            history,
            ranking: Arc::new(RankingBoard::new(8)),
            stale_after_ns: 5_000_000_000,
            started_wall_ns: clock::wall_ns(),
            status: Mutex::new(status),
            store_root: None,
            analysis_dirs: Vec::new(),
        }))
    }

    fn venues() -> Vec<VenueStatus> {
        [Exchange::Binance, Exchange::Okx]
            .into_iter()
            .map(|e| VenueStatus {
                exchange: Some(e),
                state: "connected",
                messages: 10,
                ..VenueStatus::default()
            })
            .collect()
    }

    /// `tokyo` up with every estimate; `sg` down, never heard from (no estimates).
    fn engine_status() -> Status {
        Status {
            venues: venues(),
            collectors: vec![
                CollectorStatus {
                    name: "tokyo".into(),
                    up: true,
                    venues: vec![Exchange::Binance, Exchange::Okx],
                    clock_offset_ms: Some(-1.5),
                    one_way_delay_ms: Some(0.25),
                    rtt_ms: Some(0.5),
                    heartbeat_age_ms: Some(120.0),
                    arrival_age_p50_ms: Some(2.0),
                    arrival_age_p99_ms: Some(8.0),
                    arrival_age_p999_ms: Some(20.0),
                    arrival_age_samples: 1000,
                    batches: 40,
                    events: 900,
                    lost_batches: 2,
                    stale_quotes: 3,
                    unmapped: 4,
                    foreign: 5,
                    decode_errors: 6,
                    heartbeats: 7,
                    heartbeat_timeouts: 1,
                },
                CollectorStatus {
                    name: "sg".into(),
                    up: false,
                    ..CollectorStatus::default()
                },
            ],
            nats: Some(NatsStatus {
                connected: true,
                connects: 2,
                disconnects: 1,
                slow_consumer: 9,
                errors: 1,
                last_error: Some("server error: authorization violation".into()),
            }),
            ..Status::default()
        }
    }

    fn json(r: &Response) -> Value {
        assert_eq!(r.status, 200);
        serde_json::from_slice(&r.body).unwrap()
    }

    fn text(r: &Response) -> String {
        assert_eq!(r.status, 200);
        String::from_utf8(r.body.clone()).unwrap()
    }

    #[test]
    fn exchanges_of_the_engine_role_carry_the_collectors_and_nats() {
        let v = json(&api(engine_status()).exchanges());
        let list = v["exchanges"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1]["exchange"], "OKX");
        assert_eq!(list[1]["state"], "connected");
        let c = v["collectors"].as_array().unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[0],
            json!({
                "name": "tokyo",
                "state": "up",
                "venues": ["Binance", "OKX"],
                "clock_offset_ms": -1.5,
                "one_way_delay_ms": 0.25,
                "rtt_ms": 0.5,
                "heartbeat_age_ms": 120.0,
                "arrival_age_p50_ms": 2.0,
                "arrival_age_p99_ms": 8.0,
                "arrival_age_p999_ms": 20.0,
                "arrival_age_samples": 1000,
                "batches": 40,
                "events": 900,
                "lost_batches": 2,
                "stale_quotes": 3,
                "unmapped": 4,
                "foreign": 5,
                "decode_errors": 6,
                "heartbeats": 7,
                "heartbeat_timeouts": 1,
            })
        );
        assert_eq!(c[1]["name"], "sg");
        assert_eq!(c[1]["state"], "down");
        assert_eq!(c[1]["venues"], json!([]));
        for k in [
            "clock_offset_ms",
            "one_way_delay_ms",
            "rtt_ms",
            "heartbeat_age_ms",
            "arrival_age_p99_ms",
        ] {
            assert!(c[1][k].is_null(), "{k}: {}", c[1][k]);
        }
        assert_eq!(
            v["nats"],
            json!({
                "connected": true,
                "connects": 2,
                "disconnects": 1,
                "slow_consumer": 9,
                "errors": 1,
                "last_error": "server error: authorization violation",
            })
        );
    }

    #[test]
    fn exchanges_without_collectors_stay_an_array() {
        let v = json(
            &api(Status {
                venues: venues(),
                ..Status::default()
            })
            .exchanges(),
        );
        let list = v.as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["exchange"], "Binance");
        assert!(list[0].get("collectors").is_none());
    }

    #[test]
    fn metrics_of_the_engine_role_have_the_collector_and_nats_families() {
        let m = text(&api(engine_status()).metrics());
        for line in [
            "# HELP arb_collector_up 1 while the collector's heartbeats arrive within the timeout.",
            "# TYPE arb_collector_up gauge",
            "arb_collector_up{collector=\"tokyo\"} 1",
            "arb_collector_up{collector=\"sg\"} 0",
            "# TYPE arb_collector_clock_offset_seconds gauge",
            "arb_collector_clock_offset_seconds{collector=\"tokyo\"} -0.0015",
            "# TYPE arb_collector_one_way_delay_seconds gauge",
            "arb_collector_one_way_delay_seconds{collector=\"tokyo\"} 0.00025",
            "# TYPE arb_collector_arrival_age_seconds summary",
            "arb_collector_arrival_age_seconds{collector=\"tokyo\",quantile=\"0.5\"} 0.002",
            "arb_collector_arrival_age_seconds{collector=\"tokyo\",quantile=\"0.99\"} 0.008",
            "arb_collector_arrival_age_seconds{collector=\"tokyo\",quantile=\"0.999\"} 0.02",
            "arb_collector_arrival_age_seconds_count{collector=\"tokyo\"} 1000",
            "arb_collector_arrival_age_seconds_count{collector=\"sg\"} 0",
            "# TYPE arb_collector_batches_total counter",
            "arb_collector_batches_total{collector=\"tokyo\"} 40",
            "arb_collector_batches_total{collector=\"sg\"} 0",
            "arb_collector_events_total{collector=\"tokyo\"} 900",
            "arb_collector_lost_batches_total{collector=\"tokyo\"} 2",
            "arb_collector_stale_quotes_total{collector=\"tokyo\"} 3",
            "# HELP arb_collector_heartbeat_timeouts_total Times the collector was marked down for missing heartbeats.",
            "arb_collector_heartbeat_timeouts_total{collector=\"tokyo\"} 1",
            "# TYPE arb_nats_connected gauge",
            "arb_nats_connected 1",
            "# TYPE arb_nats_disconnects_total counter",
            "arb_nats_disconnects_total 1",
            "# TYPE arb_nats_slow_consumer_total counter",
            "arb_nats_slow_consumer_total 9",
        ] {
            assert!(m.lines().any(|l| l == line), "missing {line:?} in\n{m}");
        }
        // No estimate yet: no sample (not a misleading 0).
        for absent in [
            "arb_collector_clock_offset_seconds{collector=\"sg\"}",
            "arb_collector_one_way_delay_seconds{collector=\"sg\"}",
            "arb_collector_arrival_age_seconds{collector=\"sg\",",
        ] {
            assert!(!m.contains(absent), "{absent} in\n{m}");
        }
        // Every family has its HELP and TYPE once.
        for family in [
            "arb_collector_up",
            "arb_collector_clock_offset_seconds",
            "arb_collector_one_way_delay_seconds",
            "arb_collector_arrival_age_seconds",
            "arb_collector_batches_total",
            "arb_collector_events_total",
            "arb_collector_lost_batches_total",
            "arb_collector_stale_quotes_total",
            "arb_collector_heartbeat_timeouts_total",
            "arb_nats_connected",
            "arb_nats_disconnects_total",
            "arb_nats_slow_consumer_total",
        ] {
            for kind in ["HELP", "TYPE"] {
                let head = format!("# {kind} {family} ");
                assert_eq!(m.matches(&head).count(), 1, "{head:?} in\n{m}");
            }
        }
    }

    #[test]
    fn metrics_without_collectors_have_no_collector_or_nats_family() {
        let m = text(
            &api(Status {
                venues: venues(),
                ..Status::default()
            })
            .metrics(),
        );
        assert!(m.contains("arb_venue_connected{venue=\"okx\"} 1"), "{m}");
        assert!(!m.contains("arb_collector_"), "{m}");
        assert!(!m.contains("arb_nats_"), "{m}");
    }

    #[test]
    fn health_and_metrics_show_drops_per_feed_thread_and_store_errors() {
        let a = api(Status {
            drops: vec![("feed_rings", 7)],
            drops_by_feed_thread: vec![0, 7],
            store: vec![("write_errors", 3), ("rows_dropped_write", 1200)],
            ..Status::default()
        });
        let h = json(&a.health());
        assert_eq!(h["drops_by_feed_thread"], json!([0, 7]));
        assert_eq!(h["store"]["write_errors"], 3);
        assert_eq!(h["store"]["rows_dropped_write"], 1200);
        let m = text(&a.metrics());
        assert!(
            m.contains("arb_feed_ring_drops_total{thread=\"1\"} 7"),
            "{m}"
        );
        assert!(
            m.contains("arb_feed_ring_drops_total{thread=\"0\"} 0"),
            "{m}"
        );
        // Without a store, `store` is null.
        assert!(json(&api(Status::default()).health())["store"].is_null());
    }

    #[test]
    fn health_and_metrics_show_websocket_clients_and_their_read_lag() {
        let a = api(Status {
            websocket: vec![("clients", 12), ("lag_max_ms", 850), ("slow_closed", 2)],
            ..Status::default()
        });
        let h = json(&a.health());
        assert_eq!(h["websocket"]["clients"], 12);
        assert_eq!(h["websocket"]["lag_max_ms"], 850);
        let m = text(&a.metrics());
        assert!(m.contains("arb_ws_clients 12\n"), "{m}");
        assert!(m.contains("arb_ws_client_lag_max_ms 850\n"), "{m}");
        // Not serving: no `websocket` object, no gauges.
        let idle = api(Status::default());
        assert!(json(&idle.health())["websocket"].is_null());
        assert!(!text(&idle.metrics()).contains("arb_ws_clients"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("tokyo-1"), "tokyo-1");
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
