//! Per-venue connection rules: default URLs, symbols per connection, outgoing message rate,
//! who pings and how often, when silence means death, the connection-attempt budget, and
//! the subscribe and heartbeat texts (built by each venue's `subscribe` module).
//!
//! The defaults follow `feeds/PROTOCOLS.md` with a safety margin under every published
//! limit; every field can be overridden per venue from the operator's config.

use arb_engine::Exchange;

use crate::{binance, bingx, bitget, bybit, gateio, kucoin, mexc, okx};

/// Who keeps the connection alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    /// The server pings (Binance WebSocket ping frames, BingX JSON pings); we answer.
    ServerPings,
    /// We send the venue's ping text every `interval_ms`.
    ClientPings {
        /// Interval between our pings, ms.
        interval_ms: u64,
    },
}

/// How one venue's connections behave. See [`VenueRules::defaults`].
#[derive(Debug, Clone, PartialEq)]
pub struct VenueRules {
    /// The venue.
    pub exchange: Exchange,
    /// WebSocket URL (KuCoin: the fallback when the bullet token call gives none).
    pub ws_url: String,
    /// Symbols per connection (each symbol takes a book and a trade topic).
    pub symbols_per_conn: usize,
    /// Outgoing messages per second per connection: subscribes, pings, pong replies.
    pub out_msgs_per_s: u32,
    /// Who pings.
    pub heartbeat: Heartbeat,
    /// Nothing received for this long (data, pong or ping) ⇒ the connection is dead, ms.
    pub silence_timeout_ms: u64,
    /// Connection attempts allowed per window (the venue's per-IP budget, with margin).
    pub connect_budget: u32,
    /// The budget's window, ms.
    pub connect_window_ms: u64,
    /// First reconnect delay, ms (doubled per failed attempt, jittered).
    pub backoff_base_ms: u64,
    /// Largest reconnect delay, ms.
    pub backoff_cap_ms: u64,
    /// TCP connect + TLS + WebSocket handshake must finish within this, ms.
    pub connect_timeout_ms: u64,
    /// A connection older than this is replaced (the new one subscribed before the old one
    /// closes) ahead of the venue's forced 24 h disconnect, ms.
    pub max_lifetime_ms: u64,
    /// Frames larger than this are counted as oversize and skipped, bytes.
    pub max_frame_bytes: usize,
}

/// Subscribe requests with ids from here on are one-symbol retries of a refused batch
/// ([`VenueRules::retry_one_by_one`]); a refused retry is not retried again.
pub const RETRY_ID_BASE: u64 = 1_000_000;

/// Connections older than this are replaced before the venues' 24 h cut: 23 h 30 min.
pub const DEFAULT_MAX_LIFETIME_MS: u64 = 23 * 3_600_000 + 1_800_000;

impl VenueRules {
    /// The defaults for `exchange`.
    pub fn defaults(exchange: Exchange) -> Self {
        let client = |interval_ms| Heartbeat::ClientPings { interval_ms };
        // (url, symbols/conn, out msgs/s, heartbeat, silence ms, budget per 5 min)
        let (ws_url, symbols_per_conn, out_msgs_per_s, heartbeat, silence_timeout_ms, budget) =
            match exchange {
                // 1024 streams per connection, 5 incoming msgs/s (pongs included), pings
                // every 20 s, no pong for 1 min ⇒ cut; 300 attempts per 5 min per IP.
                Exchange::Binance => (
                    binance::WS_URL,
                    200,
                    binance::MAX_REQUESTS_PER_SEC - 1,
                    Heartbeat::ServerPings,
                    60_000,
                    250,
                ),
                // 10 args per request; client ping every 20 s; 500 attempts per 5 min.
                Exchange::Bybit => (
                    bybit::WS_URL,
                    100,
                    10,
                    client(bybit::PING_INTERVAL_MS),
                    45_000,
                    400,
                ),
                // 30 subscriptions per connection: 15 symbols.
                Exchange::Mexc => (
                    mexc::WS_URL,
                    mexc::MAX_SUBSCRIPTIONS_PER_CONN / 2,
                    10,
                    client(mexc::PING_INTERVAL_MS),
                    45_000,
                    250,
                ),
                Exchange::Gateio => (
                    gateio::WS_URL,
                    100,
                    10,
                    client(gateio::PING_INTERVAL_MS),
                    45_000,
                    250,
                ),
                // 100 uplink messages per 10 s; the ping interval comes from the token.
                Exchange::Kucoin => (
                    kucoin::DEFAULT_WS_ENDPOINT,
                    kucoin::MAX_SYMBOLS_PER_TOPIC,
                    kucoin::MAX_UPLINK_MSGS_PER_10S / 10 - 1,
                    client(kucoin::DEFAULT_PING_INTERVAL_MS),
                    kucoin::DEFAULT_PING_INTERVAL_MS + kucoin::DEFAULT_PING_TIMEOUT_MS,
                    250,
                ),
                // 3 connection requests per second per IP; drops after 30 s without data.
                Exchange::Okx => (
                    okx::WS_URL,
                    100,
                    10,
                    client(okx::PING_INTERVAL_MS),
                    30_000,
                    250,
                ),
                // 1000 channels per connection, 10 msgs/s inbound, ping every 30 s.
                Exchange::Bitget => (
                    bitget::WS_URL,
                    200,
                    bitget::MAX_MESSAGES_PER_SEC - 2,
                    client(25_000),
                    60_000,
                    250,
                ),
                // 200 topics per connection (swap; spot assumed), one topic per request.
                Exchange::Bingx => (
                    bingx::WS_URL,
                    bingx::MAX_TOPICS_PER_CONN / 2,
                    10,
                    Heartbeat::ServerPings,
                    bingx::SILENCE_TIMEOUT_MS,
                    200,
                ),
            };
        VenueRules {
            exchange,
            ws_url: ws_url.to_owned(),
            symbols_per_conn,
            out_msgs_per_s,
            heartbeat,
            silence_timeout_ms,
            connect_budget: budget,
            connect_window_ms: 300_000,
            backoff_base_ms: 250,
            backoff_cap_ms: 30_000,
            connect_timeout_ms: 10_000,
            max_lifetime_ms: DEFAULT_MAX_LIFETIME_MS,
            max_frame_bytes: crate::json::DEFAULT_MAX_FRAME_BYTES,
        }
    }

    /// The subscribe requests of one connection's shard, in sending order. `now_s` is the
    /// Unix time in seconds (Gate stamps its requests).
    pub fn subscribe_requests(&self, natives: &[&str], now_s: u64) -> Vec<String> {
        match self.exchange {
            Exchange::Binance => natives
                .chunks(100)
                .zip(1..)
                .map(|(chunk, id)| binance::subscribe_request(id, chunk))
                .collect(),
            Exchange::Bybit => bybit::subscribe_requests(1, natives),
            Exchange::Mexc => mexc::subscribe_requests(mexc::Interval::default(), natives),
            Exchange::Gateio => gateio::subscribe_requests_with_ids(now_s, 1, natives),
            Exchange::Kucoin => {
                kucoin::subscribe_requests(1, kucoin::BookTopic::default(), natives)
            }
            Exchange::Okx => okx::subscribe_requests(natives),
            Exchange::Bitget => bitget::subscribe_requests(natives),
            Exchange::Bingx => bingx::subscribe_requests(1, natives),
        }
    }

    /// When the venue refused subscribe request `failed_id` of a shard (its error names the
    /// request id: Binance, KuCoin, Gate), the requests that subscribe that request's symbols one
    /// by one, ids counting from `next_id`, so one bad symbol does not cost the whole batch.
    /// `None` when the venue's errors carry no usable id, the id is unknown, or it was
    /// already a one-symbol retry (ids from [`RETRY_ID_BASE`]): then the symbol stays
    /// rejected and reported, never retried in a loop.
    pub fn retry_one_by_one(
        &self,
        natives: &[&str],
        failed_id: u64,
        next_id: u64,
        now_s: u64,
    ) -> Option<Vec<String>> {
        if failed_id >= RETRY_ID_BASE || failed_id == 0 {
            return None;
        }
        let batch: &[&str] = match self.exchange {
            // One request per 100 symbols, ids 1, 2, ... (subscribe_requests).
            Exchange::Binance => natives
                .chunks(100)
                .nth(usize::try_from(failed_id - 1).ok()?)?,
            // Per 100 symbols a book request then a trade request, ids 1, 2, 3, ...
            Exchange::Kucoin => natives
                .chunks(kucoin::MAX_SYMBOLS_PER_TOPIC)
                .nth(usize::try_from((failed_id - 1) / 2).ok()?)?,
            Exchange::Gateio => natives
                .chunks(gateio::MAX_PAIRS_PER_REQUEST)
                .nth(usize::try_from((failed_id - 1) / 2).ok()?)?,
            _ => return None,
        };
        if batch.len() < 2 {
            return None;
        }
        let mut out = Vec::with_capacity(batch.len() * 2);
        let mut id = next_id.max(RETRY_ID_BASE);
        for n in batch {
            match self.exchange {
                Exchange::Binance => out.push(binance::subscribe_request(id, &[n])),
                Exchange::Gateio => {
                    out.extend(gateio::subscribe_requests_with_ids(now_s, id, &[n]));
                }
                _ => out.extend(kucoin::subscribe_requests(
                    id,
                    kucoin::BookTopic::default(),
                    &[n],
                )),
            }
            id += 2;
        }
        Some(out)
    }

    /// Our heartbeat text, for venues where the client pings (`seq` numbers KuCoin's ids).
    pub fn ping_text(&self, seq: u64, now_s: u64) -> Option<String> {
        match self.exchange {
            Exchange::Binance | Exchange::Bingx => None,
            Exchange::Bybit => Some(bybit::PING_REQUEST.to_owned()),
            Exchange::Mexc => Some(mexc::PING_REQUEST.to_owned()),
            Exchange::Gateio => Some(gateio::ping_request(now_s)),
            Exchange::Kucoin => Some(kucoin::ping_request(seq)),
            Exchange::Okx => Some(okx::PING_REQUEST.to_owned()),
            Exchange::Bitget => Some(bitget::PING_REQUEST.to_owned()),
        }
    }

    /// Whether the venue wants its subscriptions only after its welcome message (KuCoin).
    pub fn waits_for_welcome(&self) -> bool {
        self.exchange == Exchange::Kucoin
    }

    /// Checks the rules for values that cannot work.
    ///
    /// # Errors
    /// A message naming the venue and the field.
    pub fn validate(&self) -> Result<(), String> {
        let v = self.exchange.as_str();
        let mut problems = Vec::new();
        if self.symbols_per_conn == 0 {
            problems.push("symbols_per_conn must be at least 1".to_owned());
        }
        if self.exchange == Exchange::Mexc
            && self.symbols_per_conn > mexc::MAX_SUBSCRIPTIONS_PER_CONN / 2
        {
            problems.push(format!(
                "symbols_per_conn {} is past MEXC's {} subscriptions per connection (2 per symbol)",
                self.symbols_per_conn,
                mexc::MAX_SUBSCRIPTIONS_PER_CONN
            ));
        }
        if self.out_msgs_per_s == 0 {
            problems.push("out_msgs_per_s must be at least 1".to_owned());
        }
        if let Heartbeat::ClientPings { interval_ms } = self.heartbeat
            && interval_ms >= self.silence_timeout_ms
        {
            problems.push(format!(
                "ping interval {interval_ms} ms must be below silence_timeout_ms {}",
                self.silence_timeout_ms
            ));
        }
        if self.connect_budget == 0 || self.connect_window_ms == 0 {
            problems.push("connect_budget and connect_window_ms must be at least 1".to_owned());
        }
        if !(self.ws_url.starts_with("ws://") || self.ws_url.starts_with("wss://")) {
            problems.push(format!(
                "ws_url {:?} is not a ws:// or wss:// URL",
                self.ws_url
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("venue {v}: {}", problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_valid_and_under_the_published_limits() {
        for ex in Exchange::ALL {
            let r = VenueRules::defaults(ex);
            r.validate().unwrap();
            assert!(r.symbols_per_conn * 2 <= 1024, "{ex:?}");
        }
        let b = VenueRules::defaults(Exchange::Binance);
        assert!(b.out_msgs_per_s < 5);
        assert!(b.connect_budget < 300);
        let m = VenueRules::defaults(Exchange::Mexc);
        assert!(m.symbols_per_conn * 2 <= 30);
    }

    #[test]
    fn a_shard_subscribes_every_symbol_on_both_channels() {
        let natives_of = |ex| match ex {
            Exchange::Binance | Exchange::Bybit | Exchange::Mexc | Exchange::Bitget => {
                ["BTCUSDT", "ETHUSDT"]
            }
            Exchange::Gateio => ["BTC_USDT", "ETH_USDT"],
            _ => ["BTC-USDT", "ETH-USDT"],
        };
        for ex in Exchange::ALL {
            let r = VenueRules::defaults(ex);
            let natives = natives_of(ex);
            let reqs = r.subscribe_requests(&natives, 1_700_000_000);
            let all = reqs.join("\n").to_ascii_uppercase();
            for n in natives {
                assert!(all.matches(n).count() >= 2, "{ex:?}: {all}");
            }
            match r.heartbeat {
                Heartbeat::ServerPings => assert!(r.ping_text(1, 0).is_none()),
                Heartbeat::ClientPings { .. } => assert!(r.ping_text(1, 0).is_some()),
            }
        }
    }

    #[test]
    fn a_refused_batch_is_retried_one_symbol_at_a_time_once() {
        let names: Vec<String> = (0..150).map(|i| format!("S{i}USDT")).collect();
        let natives: Vec<&str> = names.iter().map(String::as_str).collect();
        let b = VenueRules::defaults(Exchange::Binance);
        let retry = b.retry_one_by_one(&natives, 2, 0, 0).unwrap();
        assert_eq!(retry.len(), 50, "the second request held symbols 100..150");
        assert!(retry[0].contains("s100usdt@bookTicker") && retry[0].contains(r#""id":1000000"#));
        assert!(
            b.retry_one_by_one(&natives, RETRY_ID_BASE, 0, 0).is_none(),
            "no retry of a retry"
        );
        assert!(
            b.retry_one_by_one(&natives, 9, 0, 0).is_none(),
            "unknown id"
        );
        let k = VenueRules::defaults(Exchange::Kucoin);
        let kn: Vec<String> = (0..3).map(|i| format!("S{i}-USDT")).collect();
        let kn: Vec<&str> = kn.iter().map(String::as_str).collect();
        // Ids 1 (book) and 2 (trades) both cover the first 100 symbols.
        assert_eq!(k.retry_one_by_one(&kn, 2, 0, 0).unwrap().len(), 6);
        // Gate: the same layout, with its ids.
        let g = VenueRules::defaults(Exchange::Gateio);
        assert_eq!(g.retry_one_by_one(&kn, 1, 0, 0).unwrap().len(), 6);
        let okx = VenueRules::defaults(Exchange::Okx);
        assert!(
            okx.retry_one_by_one(&kn, 1, 0, 0).is_none(),
            "OKX refuses topic by topic"
        );
    }

    #[test]
    fn validate_names_the_venue_and_the_field() {
        let mut r = VenueRules::defaults(Exchange::Mexc);
        r.symbols_per_conn = 20;
        r.ws_url = "http://x".into();
        let e = r.validate().unwrap_err();
        assert!(
            e.contains("mexc") && e.contains("symbols_per_conn") && e.contains("ws_url"),
            "{e}"
        );
    }
}
