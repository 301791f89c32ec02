//! Live venue connections: non-blocking WebSocket clients (mio, tungstenite, rustls) on a
//! feed thread, each subscribing its shard of symbols, keeping the venue's heartbeat and
//! message rate, and reconnecting with capped, jittered backoff inside the venue's
//! connection-attempt budget.
//!
//! One [`LiveFeed`] runs on one feed thread and holds every connection of the venues given
//! to it. Each venue's symbols are split into shards of
//! [`VenueRules::symbols_per_conn`]; each shard owns two connection slots, the active one
//! and a standby that is opened only to replace it (server-shutdown notice, or the
//! lifetime limit ahead of the venues' 24 h cut) so the new connection streams before the
//! old one closes. Slots, queues and decoders are made once and reused by every reconnect.
//!
//! State changes reach the core through [`FeedWorker::on_connection`] (never dropped);
//! counters go to [`LinkStats`].

mod conn;
pub mod pace;
mod prep;
pub mod rules;
pub mod stats;
mod transport;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arb_engine::event::{MAX_CONNS_PER_VENUE, conn_slot};
use arb_engine::{Exchange, clock};
use mio::{Events, Poll, Token, Waker};

use self::conn::{Conn, Cx, Why};
use self::pace::AttemptBudget;
use self::prep::{Prep, UrlSource};
use crate::capture::CaptureWriter;
use crate::feed::FeedWorker;

pub use self::prep::{Endpoint, EndpointFn};
pub use self::rules::{Heartbeat, VenueRules};
pub use self::stats::{LinkState, LinkStats, VenueLinkStats};

const WAKE: Token = Token(usize::MAX - 1);
/// Longest sleep of the event loop in wait mode: timers (pings, backoff, silence) are
/// checked at least this often.
const TICK: Duration = Duration::from_millis(20);

/// One venue's part of a live feed.
pub struct VenuePlan {
    /// The venue's rules (URL, shard size, heartbeat, budget).
    pub rules: VenueRules,
    /// Native symbols to subscribe, in order (sharded in this order).
    pub natives: Vec<String>,
    /// Per-attempt endpoint call (KuCoin's token); `None` uses `rules.ws_url`.
    pub endpoint: Option<EndpointFn>,
}

impl std::fmt::Debug for VenuePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VenuePlan")
            .field("rules", &self.rules)
            .field("natives", &self.natives.len())
            .field("endpoint", &self.endpoint.is_some())
            .finish()
    }
}

/// Why a live feed cannot start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// A venue's rules do not work.
    #[error("{0}")]
    Rules(String),
    /// More shards than connection ids.
    #[error(
        "{venue}: {symbols} symbols at {per_conn} per connection need {shards} connections; \
         at most {max} fit (raise symbols_per_conn)"
    )]
    TooManyShards {
        /// Venue.
        venue: &'static str,
        /// Symbols.
        symbols: usize,
        /// Symbols per connection.
        per_conn: usize,
        /// Shards needed.
        shards: usize,
        /// Shards possible.
        max: usize,
    },
    /// The poller or the prep thread could not start.
    #[error("live feed set-up: {0}")]
    Io(#[from] std::io::Error),
}

struct VenueSide {
    rules: VenueRules,
    budget: AttemptBudget,
    endpoint: Option<EndpointFn>,
    shards: std::ops::Range<usize>,
}

struct Shard {
    venue: usize,
    natives: Vec<String>,
    /// Which of the shard's two slots is the active one.
    active: usize,
}

/// The live connections of one feed thread.
pub struct LiveFeed {
    poll: Poll,
    events: Events,
    venues: Vec<VenueSide>,
    shards: Vec<Shard>,
    /// Two slots per shard: `2·shard` and `2·shard + 1`.
    conns: Vec<Conn>,
    prep: Prep,
    tls: Arc<rustls::ClientConfig>,
    stats: Arc<LinkStats>,
    busy_poll: bool,
    capture: Option<CaptureWriter>,
}

impl std::fmt::Debug for LiveFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFeed")
            .field("venues", &self.venues.len())
            .field("connections", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl LiveFeed {
    /// Builds the connection slots for `plans` (nothing connects until [`LiveFeed::run`]).
    /// `tls` verifies `wss://` servers; `busy_poll` spins the event loop instead of
    /// sleeping (tuned hosts with an isolated core).
    ///
    /// # Errors
    /// [`LiveError`] for invalid rules, too many shards, or a failed poller.
    pub fn new(
        plans: Vec<VenuePlan>,
        tls: Arc<rustls::ClientConfig>,
        stats: Arc<LinkStats>,
        busy_poll: bool,
    ) -> Result<Self, LiveError> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKE)?);
        let mut venues = Vec::new();
        let mut shards = Vec::new();
        let mut conns = Vec::new();
        for (vi, plan) in plans.into_iter().enumerate() {
            plan.rules.validate().map_err(LiveError::Rules)?;
            let ex = plan.rules.exchange;
            let per = plan.rules.symbols_per_conn;
            let n = plan.natives.len().div_ceil(per);
            let max = MAX_CONNS_PER_VENUE / 2;
            if n > max {
                return Err(LiveError::TooManyShards {
                    venue: ex.as_str(),
                    symbols: plan.natives.len(),
                    per_conn: per,
                    shards: n,
                    max,
                });
            }
            let first = shards.len();
            for (local, chunk) in plan.natives.chunks(per).enumerate() {
                let s = shards.len();
                for k in 0..2 {
                    let conn_id = u16::try_from(local * 2 + k).unwrap_or(u16::MAX);
                    // Checked above: every id is under the limit.
                    debug_assert!(conn_slot(ex, conn_id).is_ok());
                    conns.push(Conn::new(ex, conn_id, Token(s * 2 + k), &plan.rules));
                }
                shards.push(Shard {
                    venue: vi,
                    natives: chunk.to_vec(),
                    active: 0,
                });
            }
            let v = stats.venue(ex);
            v.conns.store(n as u64, Ordering::Relaxed);
            v.set_state(if n == 0 {
                LinkState::Idle
            } else {
                LinkState::Down
            });
            venues.push(VenueSide {
                budget: AttemptBudget::new(plan.rules.connect_budget, plan.rules.connect_window_ms),
                rules: plan.rules,
                endpoint: plan.endpoint,
                shards: first..shards.len(),
            });
        }
        let prep = Prep::start("arb-feed-prep".into(), conns.len() + 4, waker)?;
        Ok(LiveFeed {
            poll,
            events: Events::with_capacity(1024),
            venues,
            shards,
            conns,
            prep,
            tls,
            stats,
            busy_poll,
            capture: None,
        })
    }

    /// Records every frame and connection change of this feed to `writer` (`arb run
    /// --capture`), replayable with `arb replay`. [`LiveFeed::run`] finishes the file.
    pub fn with_capture(mut self, writer: CaptureWriter) -> Self {
        self.capture = Some(writer);
        self
    }

    /// Connections (shards) per venue.
    pub fn connections(&self) -> Vec<(Exchange, usize)> {
        self.venues
            .iter()
            .map(|v| (v.rules.exchange, v.shards.len()))
            .collect()
    }

    /// Runs every connection until `stop` is set, then closes them all (the core is told
    /// each one dropped).
    pub fn run(&mut self, worker: &mut FeedWorker, stop: &AtomicBool) {
        let now = clock::mono_ns();
        for s in 0..self.shards.len() {
            self.conns[s * 2].start(now);
        }
        let timeout = if self.busy_poll {
            Some(Duration::ZERO)
        } else {
            Some(TICK)
        };
        let mut last_states = i64::MIN;
        let stats = Arc::clone(&self.stats);
        let mut capture = self.capture.take();
        let mut cx = Cx {
            worker,
            stats: &stats,
            capture: capture.as_mut(),
        };
        while !stop.load(Ordering::Relaxed) {
            if let Err(e) = self.poll.poll(&mut self.events, timeout)
                && e.kind() != std::io::ErrorKind::Interrupted
            {
                tracing::error!("live feed poll failed: {e}");
                break;
            }
            let now = clock::mono_ns();
            let mut changed = false;
            for ev in &self.events {
                let token = ev.token();
                if token == WAKE || token.0 >= self.conns.len() {
                    continue;
                }
                let rules = &self.venues[self.shards[token.0 / 2].venue].rules;
                let c = self.conns[token.0].on_event(now, rules, &mut cx);
                changed |= c.streaming_changed;
            }
            while let Some((idx, result)) = self.prep.try_recv() {
                let c = self.conns[idx].on_prepared(
                    result,
                    now,
                    self.poll.registry(),
                    &self.tls,
                    &mut cx,
                );
                changed |= c.streaming_changed;
            }
            changed |= self.timers(now, &mut cx);
            changed |= self.replacements(now, &mut cx);
            if changed || now.saturating_sub(last_states) > 100_000_000 {
                self.publish_states();
                last_states = now;
            }
            cx.worker.maybe_flush(now, clock::wall_ns());
        }
        let now = clock::mono_ns();
        for c in &mut self.conns {
            c.fail(Why::Shutdown, now, &mut cx);
        }
        self.publish_states();
        if let Some(w) = capture {
            match w.finish() {
                Ok(s) => tracing::info!(
                    path = %s.path.display(),
                    records = s.records,
                    bytes = s.bytes,
                    "capture written"
                ),
                Err(e) => tracing::error!("capture: {e}"),
            }
        }
    }

    /// Timers of every slot; due attempts go to the prep thread inside the budget.
    fn timers(&mut self, now: i64, cx: &mut Cx<'_>) -> bool {
        let mut changed = false;
        for idx in 0..self.conns.len() {
            let shard = &self.shards[idx / 2];
            let venue = &mut self.venues[shard.venue];
            let conn = &mut self.conns[idx];
            let c = conn.on_timer(now, &venue.rules, cx);
            changed |= c.streaming_changed;
            if c.needs_prep {
                let v = cx.stats.venue(venue.rules.exchange);
                if let Err(until) = venue.budget.try_take(now) {
                    VenueLinkStats::add(&v.budget_waits, 1);
                    conn.defer(until);
                    continue;
                }
                let source = match &venue.endpoint {
                    Some(f) => UrlSource::Call(Arc::clone(f)),
                    None => UrlSource::Fixed(venue.rules.ws_url.clone()),
                };
                if !self.prep.submit(idx, source) {
                    conn.defer(now + TICK.as_nanos() as i64);
                }
            }
            if conn.needs_subscribe(&venue.rules) {
                let natives: Vec<&str> = shard.natives.iter().map(String::as_str).collect();
                let now_s = u64::try_from(clock::wall_ns() / 1_000_000_000).unwrap_or(0);
                conn.subscribe(venue.rules.subscribe_requests(&natives, now_s), cx);
            }
            if !conn.failed_ids.is_empty() {
                let natives: Vec<&str> = shard.natives.iter().map(String::as_str).collect();
                let now_s = u64::try_from(clock::wall_ns() / 1_000_000_000).unwrap_or(0);
                for id in std::mem::take(&mut conn.failed_ids) {
                    let next = conn.next_retry_id;
                    if let Some(reqs) = venue.rules.retry_one_by_one(&natives, id, next, now_s) {
                        conn.retry(reqs, cx);
                    }
                }
            }
        }
        changed
    }

    /// Make-before-break: a slot that wants replacing gets its standby started; once the
    /// standby streams, the old one closes and the standby becomes the active slot.
    fn replacements(&mut self, now: i64, cx: &mut Cx<'_>) -> bool {
        let mut changed = false;
        for (s, shard) in self.shards.iter_mut().enumerate() {
            let a = s * 2 + shard.active;
            let b = s * 2 + (1 - shard.active);
            if self.conns[a].wants_replacement && self.conns[b].is_off() {
                self.conns[b].start(now);
            }
            if !self.conns[b].is_off() && self.conns[b].streaming {
                let ex = self.conns[a].ex;
                if self.conns[a].is_open() {
                    VenueLinkStats::add(&cx.stats.venue(ex).replacements, 1);
                }
                self.conns[a].fail(Why::Replaced, now, cx);
                shard.active = 1 - shard.active;
                changed = true;
            }
        }
        changed
    }

    fn publish_states(&self) {
        for v in &self.venues {
            let n = v.shards.len();
            let up = v
                .shards
                .clone()
                .filter(|&s| self.conns[s * 2].streaming || self.conns[s * 2 + 1].streaming)
                .count();
            let vs = self.stats.venue(v.rules.exchange);
            vs.conns_up.store(up as u64, Ordering::Relaxed);
            vs.set_state(if n == 0 {
                LinkState::Idle
            } else if up == n {
                LinkState::Connected
            } else if up == 0 {
                LinkState::Down
            } else {
                LinkState::Degraded
            });
        }
    }
}
