//! Binance spot endpoints, stream names and limits (`feeds/PROTOCOLS.md` §1).

/// Market-data-only WebSocket host; combined streams are under `/stream`.
pub const WS_URL: &str = "wss://data-stream.binance.vision/stream";
/// Streams allowed per connection.
pub const MAX_STREAMS_PER_CONN: usize = 1024;
/// Incoming messages (requests, pongs) allowed per second per connection.
pub const MAX_REQUESTS_PER_SEC: u32 = 5;
