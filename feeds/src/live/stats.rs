//! Counters of the live connections per venue, written by the feed thread that owns the
//! venue and read by the API, `/metrics` and the start-up / status lines.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64, Ordering};

use arb_engine::Exchange;

/// A venue's connection state as the operator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum LinkState {
    /// The venue has no connections (not configured, or no symbols).
    Idle = 0,
    /// Every connection of the venue is streaming.
    Connected = 1,
    /// Some connections are streaming, some are not.
    Degraded = 2,
    /// No connection of the venue is streaming.
    Down = 3,
}

impl LinkState {
    /// The lower-case label of the API (`connected`, `degraded`, `down`, `idle`).
    pub const fn as_str(self) -> &'static str {
        match self {
            LinkState::Idle => "idle",
            LinkState::Connected => "connected",
            LinkState::Degraded => "degraded",
            LinkState::Down => "down",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => LinkState::Connected,
            2 => LinkState::Degraded,
            3 => LinkState::Down,
            _ => LinkState::Idle,
        }
    }
}

/// One venue's counters. Relaxed atomics: statistics, one writer.
#[derive(Debug, Default)]
pub struct VenueLinkStats {
    state: AtomicU8,
    /// Connections configured (shards).
    pub conns: AtomicU64,
    /// Connections streaming now.
    pub conns_up: AtomicU64,
    /// TCP connection attempts.
    pub connect_attempts: AtomicU64,
    /// Attempts that failed before the WebSocket opened (refused, TLS, handshake, timeout).
    pub connect_failures: AtomicU64,
    /// Connections that were up and dropped (server close, error, heartbeat timeout).
    pub reconnects: AtomicU64,
    /// Drops because nothing arrived within the silence timeout.
    pub heartbeat_timeouts: AtomicU64,
    /// Connections replaced ahead of their lifetime or a server-shutdown notice, with no
    /// gap (the new one streamed before the old one closed).
    pub replacements: AtomicU64,
    /// Times an attempt waited for the venue's connection budget.
    pub budget_waits: AtomicU64,
    /// Subscribe requests sent.
    pub subscribe_requests: AtomicU64,
    /// Error replies from the venue (rejected topics, bad requests).
    pub venue_errors: AtomicU64,
    /// Frames over the size limit, skipped.
    pub oversize_frames: AtomicU64,
    /// Data frames received.
    pub frames: AtomicU64,
    /// Wall time of the last frame, ns (0 before the first).
    pub last_frame_wall_ns: AtomicI64,
}

impl VenueLinkStats {
    /// The venue's state.
    pub fn state(&self) -> LinkState {
        LinkState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Sets the venue's state (its feed thread, or the engine role's NATS receiver).
    pub fn set_state(&self, s: LinkState) {
        self.state.store(s as u8, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Counters of every venue's live connections.
#[derive(Debug)]
pub struct LinkStats {
    venues: [VenueLinkStats; Exchange::COUNT],
    /// The last venue error text per venue (for the log and `/api/exchanges`), bounded.
    last_error: std::sync::Mutex<[Option<Box<str>>; Exchange::COUNT]>,
}

impl LinkStats {
    /// Fresh counters.
    pub fn new() -> Arc<Self> {
        Arc::new(LinkStats {
            venues: Default::default(),
            last_error: std::sync::Mutex::new(Default::default()),
        })
    }

    /// One venue's counters.
    pub fn venue(&self, ex: Exchange) -> &VenueLinkStats {
        &self.venues[ex.index()]
    }

    /// The last error the venue sent, if any.
    pub fn last_error(&self, ex: Exchange) -> Option<String> {
        let g = self
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g[ex.index()].as_deref().map(str::to_owned)
    }

    /// Records a venue error text (cold path: errors only), truncated to 200 bytes.
    pub(crate) fn set_last_error(&self, ex: Exchange, text: &str) {
        let mut end = text.len().min(200);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut g = self
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g[ex.index()] = Some(text[..end].into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let s = LinkStats::new();
        assert_eq!(s.venue(Exchange::Okx).state(), LinkState::Idle);
        s.venue(Exchange::Okx).set_state(LinkState::Degraded);
        assert_eq!(s.venue(Exchange::Okx).state().as_str(), "degraded");
        s.set_last_error(Exchange::Okx, &"é".repeat(300));
        assert!(s.last_error(Exchange::Okx).unwrap().len() <= 200);
    }
}
