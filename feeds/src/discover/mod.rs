//! Symbol discovery over REST: which spot symbols each venue lists and trades, how much each
//! traded in 24 h, and the universe arb watches (`feeds/PROTOCOLS.md` §1–§9).
//!
//! - [`fetch_venue`] asks one venue for its symbol list and its 24 h tickers through a
//!   [`Rest`] client and merges them into [`Listing`]s ([`fetch_all`]: every venue at
//!   once, failures set aside);
//! - [`select`] keeps the symbols that trade, are quoted in the wanted assets, sit in the
//!   wanted volume range and are listed on enough venues, and builds the
//!   [`SymbolRegistry`](arb_engine::SymbolRegistry) the decoders use;
//! - [`diff`] compares two selections, for the caller's periodic refresh;
//! - [`kucoin_bullet`] fetches KuCoin's WebSocket token and endpoint.
//!
//! Assets always come from the venues' own fields (BingX: split on `-`); no-separator
//! symbols are never split by guessing a quote suffix (§9).
//!
//! # Examples
//!
//! ```no_run
//! use arb_engine::Exchange;
//! use arb_feeds::discover::{Filter, Rest, RestConfig, default_rest_url, fetch_all, select};
//!
//! let rest = Rest::new(&RestConfig::default())?;
//! let urls: Vec<_> = Exchange::ALL.map(|ex| (ex, default_rest_url(ex))).into();
//! let found = fetch_all(&rest, &urls);
//! for (ex, e) in &found.failed {
//!     eprintln!("{ex} left out: {e}");
//! }
//! let selection = select(&found.venues, &Filter::default().with_min_quote_volume(1e6));
//! println!("{}", selection.report);
//! # Ok::<(), arb_feeds::discover::DiscoverError>(())
//! ```

mod parse;
mod rest;
mod select;

pub use parse::{BodyError, Parsed, Ticker, parse_bullet, parse_symbols, parse_tickers};
pub use rest::{Rest, RestConfig, RetryPolicy, USER_AGENT};
pub use select::{Filter, Selection, SelectionReport, Steps, VenueDiff, VenueReport, diff, select};

use arb_engine::Exchange;

use crate::tls::TlsError;

/// One symbol as a venue lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    /// The venue.
    pub exchange: Exchange,
    /// The venue's own spelling (`BTCUSDT`, `BTC_USDT`, `BTC-USDT`).
    pub native: String,
    /// Base asset, upper case, from the venue's asset field.
    pub base: String,
    /// Quote asset, upper case, from the venue's asset field.
    pub quote: String,
    /// The venue's status says the symbol trades now.
    pub trading: bool,
    /// 24 h volume in the quote asset, when the ticker answer gives one.
    pub quote_volume_24h: Option<f64>,
    /// Price increment (tick size), when the venue gives one.
    pub price_step: Option<f64>,
    /// Quantity increment (lot step), when the venue gives one.
    pub qty_step: Option<f64>,
}

/// What discovery found on one venue.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueListings {
    /// The venue.
    pub exchange: Exchange,
    /// Every usable row of the symbol list, trading or not, in answer order.
    pub listings: Vec<Listing>,
    /// Rows in the symbol list.
    pub symbol_rows: usize,
    /// Symbol-list rows skipped as malformed or duplicated.
    pub symbol_skipped: usize,
    /// Rows in the ticker answer.
    pub ticker_rows: usize,
    /// Ticker rows skipped as malformed.
    pub ticker_skipped: usize,
}

/// KuCoin's WebSocket token and endpoint (`POST /api/v1/bullet-public`, `feeds/PROTOCOLS.md` §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bullet {
    /// WebSocket endpoint to connect to (`wss://ws-api-spot.kucoin.com/`).
    pub endpoint: String,
    /// Token for the `token` query parameter; valid 24 h.
    pub token: String,
    /// Client ping interval, ms.
    pub ping_interval_ms: u64,
    /// Grace after a missed ping before the server closes, ms.
    pub ping_timeout_ms: u64,
}

/// Why discovery on a venue failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoverError {
    /// The TLS roots could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The venue answered with a non-2xx status (after retries for 429 and 5xx).
    #[error("{}: HTTP {status} from {url} after {attempts} attempt(s): {body}", label(.venue))]
    Status {
        /// The venue, when the call was made on behalf of one.
        venue: Option<Exchange>,
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
        /// Tries made.
        attempts: u32,
    },
    /// No answer: timeout, connection, TLS or body error (after retries where retryable).
    #[error("{}: request to {url} failed after {attempts} attempt(s): {source}", label(.venue))]
    Transport {
        /// The venue, when the call was made on behalf of one.
        venue: Option<Exchange>,
        /// The URL.
        url: String,
        /// Tries made.
        attempts: u32,
        /// ureq's error.
        #[source]
        source: ureq::Error,
    },
    /// The answer arrived but cannot be used.
    #[error("{venue}: unusable answer from {url}: {source}")]
    Body {
        /// The venue.
        venue: Exchange,
        /// The URL.
        url: String,
        /// What is wrong with it.
        #[source]
        source: BodyError,
    },
}

impl DiscoverError {
    /// Returns `true` when the last try timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            DiscoverError::Transport {
                source: ureq::Error::Timeout(_),
                ..
            }
        )
    }

    /// Returns the number of tries made, for errors of a request.
    pub fn attempts(&self) -> Option<u32> {
        match self {
            DiscoverError::Status { attempts, .. } | DiscoverError::Transport { attempts, .. } => {
                Some(*attempts)
            }
            _ => None,
        }
    }
}

fn label(venue: &Option<Exchange>) -> &'static str {
    venue.map_or("rest", Exchange::as_str)
}

/// Returns the real venue's REST base (scheme and host, no API path).
pub const fn default_rest_url(ex: Exchange) -> &'static str {
    match ex {
        Exchange::Binance => "https://api.binance.com",
        Exchange::Bybit => "https://api.bybit.com",
        Exchange::Mexc => "https://api.mexc.com",
        Exchange::Gateio => "https://api.gateio.ws",
        Exchange::Kucoin => "https://api.kucoin.com",
        Exchange::Okx => "https://www.okx.com",
        Exchange::Bitget => "https://api.bitget.com",
        Exchange::Bingx => "https://open-api.bingx.com",
    }
}

/// Returns the symbol-list path (with query) appended to the REST base.
pub const fn symbols_path(ex: Exchange) -> &'static str {
    match ex {
        Exchange::Binance | Exchange::Mexc => "/api/v3/exchangeInfo",
        Exchange::Bybit => "/v5/market/instruments-info?category=spot",
        Exchange::Gateio => "/api/v4/spot/currency_pairs",
        Exchange::Kucoin => "/api/v2/symbols",
        Exchange::Okx => "/api/v5/public/instruments?instType=SPOT",
        Exchange::Bitget => "/api/v2/spot/public/symbols",
        Exchange::Bingx => "/openApi/spot/v1/common/symbols",
    }
}

/// Returns the all-symbols 24 h ticker path (with query) appended to the REST base.
pub const fn tickers_path(ex: Exchange) -> &'static str {
    match ex {
        Exchange::Binance | Exchange::Mexc => "/api/v3/ticker/24hr",
        Exchange::Bybit => "/v5/market/tickers?category=spot",
        Exchange::Gateio => "/api/v4/spot/tickers",
        Exchange::Kucoin => "/api/v1/market/allTickers",
        Exchange::Okx => "/api/v5/market/tickers?instType=SPOT",
        Exchange::Bitget => "/api/v2/spot/market/tickers",
        Exchange::Bingx => "/openApi/spot/v1/ticker/24hr",
    }
}

/// KuCoin's token call, appended to its REST base (`POST`).
pub const BULLET_PUBLIC_PATH: &str = "/api/v1/bullet-public";

/// Joins a REST base and a path; BingX also gets the `timestamp=<ms>` it expects.
fn venue_url(ex: Exchange, rest_url: &str, path: &str, now_ms: i64) -> String {
    let mut url = format!("{}{path}", rest_url.trim_end_matches('/'));
    if ex == Exchange::Bingx {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str("timestamp=");
        url.push_str(itoa::Buffer::new().format(now_ms));
    }
    url
}

/// Returns the symbol-list URL of a venue under `rest_url` (BingX: with `timestamp` now).
pub fn symbols_url(ex: Exchange, rest_url: &str) -> String {
    venue_url(ex, rest_url, symbols_path(ex), now_ms())
}

/// Returns the 24 h ticker URL of a venue under `rest_url` (BingX: with `timestamp` now).
pub fn tickers_url(ex: Exchange, rest_url: &str) -> String {
    venue_url(ex, rest_url, tickers_path(ex), now_ms())
}

fn now_ms() -> i64 {
    arb_engine::clock::wall_ns() / arb_engine::clock::NANOS_PER_MILLI
}

/// Fills each listing's 24 h quote volume from the tickers (first ticker row per symbol
/// wins; a symbol without a ticker row keeps `None`).
pub fn merge(ex: Exchange, symbols: Parsed<Listing>, tickers: &Parsed<Ticker>) -> VenueListings {
    let mut volumes = rustc_hash::FxHashMap::default();
    for t in &tickers.items {
        volumes
            .entry(t.native.as_str())
            .or_insert(t.quote_volume_24h);
    }
    let mut listings = symbols.items;
    for l in &mut listings {
        l.quote_volume_24h = volumes.get(l.native.as_str()).copied().flatten();
    }
    VenueListings {
        exchange: ex,
        listings,
        symbol_rows: symbols.rows,
        symbol_skipped: symbols.skipped,
        ticker_rows: tickers.rows,
        ticker_skipped: tickers.skipped,
    }
}

/// Fetches one venue's symbol list and 24 h tickers from `rest_url` (scheme, host and an
/// optional path prefix, no API path: `https://api.gateio.ws`, `http://127.0.0.1:9000/gateio`)
/// and merges them. Skipped rows are logged at `warn` with the first reason; the counts
/// at `info`.
///
/// # Errors
/// The first failing request ([`DiscoverError::Status`], [`DiscoverError::Transport`]) or
/// an unusable answer ([`DiscoverError::Body`]); the venue should then be left out.
pub fn fetch_venue(
    rest: &Rest,
    ex: Exchange,
    rest_url: &str,
) -> Result<VenueListings, DiscoverError> {
    let fetch = |url: String, what: &'static str| -> Result<(Vec<u8>, String), DiscoverError> {
        let body = rest.get_for(ex, &url)?;
        tracing::debug!(
            venue = ex.as_str(),
            url,
            bytes = body.len(),
            what,
            "fetched"
        );
        Ok((body, url))
    };
    let body_error = |url: &str, source| DiscoverError::Body {
        venue: ex,
        url: url.to_owned(),
        source,
    };
    let (body, url) = fetch(symbols_url(ex, rest_url), "symbols")?;
    let symbols = parse_symbols(ex, &body).map_err(|e| body_error(&url, e))?;
    warn_skipped(ex, &url, &symbols);
    let (body, url) = fetch(tickers_url(ex, rest_url), "tickers")?;
    let tickers = parse_tickers(ex, &body).map_err(|e| body_error(&url, e))?;
    warn_skipped(ex, &url, &tickers);
    let venue = merge(ex, symbols, &tickers);
    tracing::info!(
        venue = ex.as_str(),
        symbol_rows = venue.symbol_rows,
        symbol_skipped = venue.symbol_skipped,
        trading = venue.listings.iter().filter(|l| l.trading).count(),
        ticker_rows = venue.ticker_rows,
        ticker_skipped = venue.ticker_skipped,
        "discovered"
    );
    Ok(venue)
}

fn warn_skipped<T>(ex: Exchange, url: &str, parsed: &Parsed<T>) {
    if parsed.more_pages {
        tracing::warn!(
            venue = ex.as_str(),
            url,
            rows = parsed.rows,
            "answer is paged; only the first page was read"
        );
    }
    if parsed.skipped > 0 {
        tracing::warn!(
            venue = ex.as_str(),
            url,
            rows = parsed.rows,
            skipped = parsed.skipped,
            first = parsed.first_skip.as_deref().unwrap_or_default(),
            "skipped malformed REST rows"
        );
    }
}

/// What discovery found on a set of venues.
#[derive(Debug)]
pub struct Discovery {
    /// Venues whose discovery succeeded, in the order asked.
    pub venues: Vec<VenueListings>,
    /// Venues whose discovery failed, with the reason, in the order asked.
    pub failed: Vec<(Exchange, DiscoverError)>,
}

/// Runs [`fetch_venue`] on every `(venue, rest_url)` at once, one thread per venue, and
/// sorts the outcomes: a venue that fails is logged at `warn` and left out, so
/// [`select`] works on the others.
pub fn fetch_all(rest: &Rest, venues: &[(Exchange, &str)]) -> Discovery {
    let outcomes: Vec<(Exchange, Result<VenueListings, DiscoverError>)> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = venues
                .iter()
                .map(|&(ex, url)| (ex, scope.spawn(move || fetch_venue(rest, ex, url))))
                .collect();
            handles
                .into_iter()
                .map(|(ex, h)| {
                    // A panic in a parser is a bug; re-raise it on the caller's thread.
                    let outcome = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
                    (ex, outcome)
                })
                .collect()
        });
    let mut out = Discovery {
        venues: Vec::new(),
        failed: Vec::new(),
    };
    for (ex, outcome) in outcomes {
        match outcome {
            Ok(v) => out.venues.push(v),
            Err(e) => {
                tracing::warn!(venue = ex.as_str(), error = %e, "discovery failed; venue left out");
                out.failed.push((ex, e));
            }
        }
    }
    out
}

/// Fetches a KuCoin WebSocket token and endpoint: `POST <rest_url>/api/v1/bullet-public`.
///
/// # Errors
/// As [`fetch_venue`].
pub fn kucoin_bullet(rest: &Rest, rest_url: &str) -> Result<Bullet, DiscoverError> {
    let url = format!("{}{BULLET_PUBLIC_PATH}", rest_url.trim_end_matches('/'));
    let body = rest.post_for(Exchange::Kucoin, &url)?;
    parse_bullet(&body).map_err(|source| DiscoverError::Body {
        venue: Exchange::Kucoin,
        url,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_base_path_and_bingx_timestamp() {
        assert_eq!(
            symbols_url(Exchange::Gateio, "http://127.0.0.1:9/gateio/"),
            "http://127.0.0.1:9/gateio/api/v4/spot/currency_pairs"
        );
        assert_eq!(
            tickers_url(Exchange::Okx, default_rest_url(Exchange::Okx)),
            "https://www.okx.com/api/v5/market/tickers?instType=SPOT"
        );
        assert_eq!(
            venue_url(
                Exchange::Bingx,
                "https://open-api.bingx.com",
                symbols_path(Exchange::Bingx),
                17
            ),
            "https://open-api.bingx.com/openApi/spot/v1/common/symbols?timestamp=17"
        );
        let url = tickers_url(Exchange::Bingx, "http://h");
        let ts: i64 = url.rsplit_once('=').unwrap().1.parse().unwrap();
        assert!(ts > 1_600_000_000_000, "{url}");
    }

    #[test]
    fn merge_fills_volumes_by_native() {
        let symbols = parse_symbols(
            Exchange::Gateio,
            br#"[{"id":"A_USDT","base":"A","quote":"USDT","trade_status":"tradable"},
                 {"id":"B_USDT","base":"B","quote":"USDT","trade_status":"tradable"}]"#,
        )
        .unwrap();
        let tickers = parse_tickers(
            Exchange::Gateio,
            br#"[{"currency_pair":"A_USDT","quote_volume":"5"},{"currency_pair":"A_USDT","quote_volume":"7"},
                 {"currency_pair":"C_USDT","quote_volume":"1"},{"quote_volume":"1"}]"#,
        )
        .unwrap();
        let v = merge(Exchange::Gateio, symbols, &tickers);
        assert_eq!(v.listings[0].quote_volume_24h, Some(5.0));
        assert_eq!(v.listings[1].quote_volume_24h, None);
        assert_eq!((v.symbol_rows, v.symbol_skipped), (2, 0));
        assert_eq!((v.ticker_rows, v.ticker_skipped), (4, 1));
    }

    #[test]
    fn error_messages_name_venue_and_url() {
        let e = DiscoverError::Status {
            venue: Some(Exchange::Mexc),
            url: "https://api.mexc.com/api/v3/exchangeInfo".into(),
            status: 404,
            body: "nope".into(),
            attempts: 1,
        };
        assert_eq!(
            e.to_string(),
            "mexc: HTTP 404 from https://api.mexc.com/api/v3/exchangeInfo after 1 attempt(s): nope"
        );
        assert_eq!(e.attempts(), Some(1));
        assert!(!e.is_timeout());
    }
}
