//! BingX spot endpoints, channel names and limits (`feeds/PROTOCOLS.md` §8).

/// Spot market-data WebSocket (the perpetual-swap socket is another host).
pub const WS_URL: &str = "wss://open-api-ws.bingx.com/market";
/// `dataType` suffix of the book ticker channel (`BTC-USDT@bookTicker`).
pub const CHANNEL_BOOK_TICKER: &str = "@bookTicker";
/// `dataType` suffix of the public trade channel (`BTC-USDT@trade`).
pub const CHANNEL_TRADE: &str = "@trade";

/// Topics per connection: the swap docs say 200; the spot limit is UNCONFIRMED, assumed equal.
pub const MAX_TOPICS_PER_CONN: usize = 200;
/// `dataType`s per subscribe request: one.
pub const MAX_TOPICS_PER_REQUEST: usize = 1;
/// Connections per IP (swap docs).
pub const MAX_CONNS_PER_IP: usize = 60;
/// How often the server sends its JSON `ping`; each must be answered with a `pong`.
pub const SERVER_PING_INTERVAL_MS: u64 = 5_000;
/// Silence after which a connection is treated as dead: the server timeout is UNCONFIRMED,
/// 40 s is what maintained client libraries use.
pub const SILENCE_TIMEOUT_MS: u64 = 40_000;
/// Largest inflated frame accepted; matches the JSON path's limit so an inflated frame
/// never gets past gunzip only to be refused by the parser.
pub const MAX_INFLATED_FRAME_BYTES: usize = crate::json::DEFAULT_MAX_FRAME_BYTES;
