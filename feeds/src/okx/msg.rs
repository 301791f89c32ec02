//! OKX v5 endpoints, channel names and limits (`feeds/PROTOCOLS.md` §6).

/// Public WebSocket endpoint (`tickers`, `trades`, `bbo-tbt`).
pub const WS_URL: &str = "wss://ws.okx.com:8443/ws/v5/public";
/// Tick-by-tick best bid/ask channel; the book ticker we subscribe to.
pub const BBO_CHANNEL: &str = "bbo-tbt";
/// Ticker channel (~100 ms, best bid/ask plus 24 h stats); also decoded as a quote.
pub const TICKERS_CHANNEL: &str = "tickers";
/// Public trades channel (aggregated by taker order).
pub const TRADES_CHANNEL: &str = "trades";
/// Total length of one subscribe request, in bytes (the venue caps the args at 64 KB).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Subscribe/unsubscribe/login requests allowed per hour per connection.
pub const MAX_SUBSCRIBE_REQUESTS_PER_HOUR: u32 = 480;
/// Send the text `ping` when nothing arrived for this long; the venue drops a connection
/// after 30 s without traffic.
pub const PING_INTERVAL_MS: u64 = 20_000;
