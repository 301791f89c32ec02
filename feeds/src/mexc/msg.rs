//! MEXC spot v3 endpoints, channel names and limits (`feeds/PROTOCOLS.md` §3).

/// Spot v3 WebSocket: protobuf market data, JSON control.
pub const WS_URL: &str = "wss://wbs-api.mexc.com/ws";
/// Aggregated book ticker channel, before `<interval>@<SYMBOL>`.
pub const CHANNEL_BOOK_TICKER: &str = "spot@public.aggre.bookTicker.v3.api.pb@";
/// Aggregated deals channel, before `<interval>@<SYMBOL>`.
pub const CHANNEL_DEALS: &str = "spot@public.aggre.deals.v3.api.pb@";
/// Batched book ticker channel, before `<SYMBOL>` (no interval).
pub const CHANNEL_BOOK_TICKER_BATCH: &str = "spot@public.bookTicker.batch.v3.api.pb@";

/// Subscriptions per connection; extra ones are silently invalid.
pub const MAX_SUBSCRIPTIONS_PER_CONN: usize = 30;
/// The server closes a connection without a valid subscription after this long.
pub const NO_SUBSCRIPTION_CLOSE_MS: u64 = 30_000;
/// The server closes a subscribed connection that received no data for this long.
pub const NO_DATA_CLOSE_MS: u64 = 60_000;
/// Client `PING` interval: client libraries use 10–20 s, well inside the 60 s idle close.
pub const PING_INTERVAL_MS: u64 = 15_000;
/// Longest life of a connection; reconnect before.
pub const MAX_CONN_LIFETIME_MS: u64 = 24 * 60 * 60 * 1000;
