//! KuCoin endpoints, topic prefixes and limits (`feeds/PROTOCOLS.md` §5).

/// REST call that returns the WebSocket token and endpoint (`POST`, no auth).
pub const BULLET_PUBLIC_URL: &str = "https://api.kucoin.com/api/v1/bullet-public";
/// Usual spot WebSocket endpoint; always prefer the one `bullet-public` returns.
pub const DEFAULT_WS_ENDPOINT: &str = "wss://ws-api-spot.kucoin.com/";

/// Ticker topic prefix (subject `trade.ticker`, at most every 100 ms); `all` for every symbol.
pub const TOPIC_TICKER: &str = "/market/ticker:";
/// Level-1 best bid/ask topic prefix (subject `level1`, 10 ms); the preferred BBO source.
pub const TOPIC_LEVEL1: &str = "/spotMarket/level1:";
/// Public trade topic prefix (subject `trade.l3match`).
pub const TOPIC_MATCH: &str = "/market/match:";

/// Symbols allowed in one topic (comma-separated after the `:`).
pub const MAX_SYMBOLS_PER_TOPIC: usize = 100;
/// Topics (one per symbol and channel) per connection; commonly cited, UNCONFIRMED.
pub const MAX_TOPICS_PER_CONN: usize = 400;
/// Client messages allowed per 10 s per connection; commonly cited, UNCONFIRMED.
pub const MAX_UPLINK_MSGS_PER_10S: u32 = 100;
/// Client ping interval when `bullet-public` does not say (`pingInterval`).
pub const DEFAULT_PING_INTERVAL_MS: u64 = 18_000;
/// Grace after a missed ping before the server closes (`pingTimeout`).
pub const DEFAULT_PING_TIMEOUT_MS: u64 = 10_000;
