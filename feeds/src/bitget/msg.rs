//! Bitget v2 endpoints, channel names and limits (`feeds/PROTOCOLS.md` §7).

/// Public WebSocket endpoint.
pub const WS_URL: &str = "wss://ws.bitget.com/v2/ws/public";
/// Instrument type of spot channels; every subscribe arg carries it.
pub const INST_TYPE: &str = "SPOT";
/// Top-of-book channel (full refresh each push); the book ticker we subscribe to.
pub const BOOK_CHANNEL: &str = "books1";
/// Ticker channel (best bid/ask plus 24 h stats); also decoded as a quote.
pub const TICKER_CHANNEL: &str = "ticker";
/// Public trades channel.
pub const TRADE_CHANNEL: &str = "trade";
/// Channel subscriptions allowed per connection.
pub const MAX_CHANNELS_PER_CONN: usize = 1000;
/// Args per subscribe request. Not an official cap (UNCONFIRMED); client libraries batch
/// about 100, so we do too.
pub const MAX_ARGS_PER_REQUEST: usize = 100;
/// Subscribe requests allowed per hour per connection.
pub const MAX_SUBSCRIBE_REQUESTS_PER_HOUR: u32 = 240;
/// Inbound messages (requests and pings) allowed per second per connection.
pub const MAX_MESSAGES_PER_SEC: u32 = 10;
/// Client heartbeat interval; the venue disconnects after 2 min without a `ping`.
pub const PING_INTERVAL_MS: u64 = 30_000;
