//! Bybit v5 spot endpoints, topic names and limits (`feeds/PROTOCOLS.md` §2).

/// Public spot WebSocket endpoint.
pub const WS_URL: &str = "wss://stream.bybit.com/v5/public/spot";
/// Topic prefix of the level-1 book (best bid/ask), followed by the native symbol.
pub const BOOK_TOPIC_PREFIX: &str = "orderbook.1.";
/// Topic prefix of public trades, followed by the native symbol.
pub const TRADE_TOPIC_PREFIX: &str = "publicTrade.";
/// Spot allows at most 10 topics in one subscribe request.
pub const MAX_ARGS_PER_REQUEST: usize = 10;
/// Total length of all subscribed topic names on one connection, in characters.
pub const MAX_ARGS_CHARS_PER_CONN: usize = 21_000;
/// Recommended client heartbeat interval; idle public connections are cut after ~10 min.
pub const PING_INTERVAL_MS: u64 = 20_000;
