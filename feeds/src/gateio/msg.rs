//! Gate API v4 spot endpoints, channel names and limits (`feeds/PROTOCOLS.md` §4).

/// Spot WebSocket endpoint.
pub const WS_URL: &str = "wss://api.gateio.ws/ws/v4/";
/// Best bid/ask channel, pushed on every change; the book ticker we subscribe to.
pub const BOOK_TICKER_CHANNEL: &str = "spot.book_ticker";
/// Public trades channel, one trade per push.
pub const TRADES_CHANNEL: &str = "spot.trades";
/// 24 h ticker channel (~1 s, best prices without sizes); also decoded as a quote.
pub const TICKERS_CHANNEL: &str = "spot.tickers";
/// Application heartbeat channel; the server answers on `spot.pong`.
pub const PING_CHANNEL: &str = "spot.ping";
/// Currency pairs per subscribe request. Not an official cap (UNCONFIRMED); client
/// libraries chunk at 100, so we do too.
pub const MAX_PAIRS_PER_REQUEST: usize = 100;
/// Application ping interval; the idle timeout is not documented (UNCONFIRMED), so we
/// ping well inside any plausible one.
pub const PING_INTERVAL_MS: u64 = 15_000;
