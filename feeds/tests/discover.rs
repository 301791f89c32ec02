//! REST discovery end to end against a loopback HTTP(S) server started by each test: the
//! eight venues' fixture answers through `Rest` + `fetch_venue`, retries, timeouts and TLS.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arb_engine::Exchange;
use arb_engine::clock::Stopwatch;
use arb_feeds::discover::{
    DiscoverError, Filter, Rest, RestConfig, RetryPolicy, fetch_all, fetch_venue, kucoin_bullet,
    select,
};

// ---- a minimal HTTP/1.1 server ----

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
}

/// What the server does with a request.
enum Reply {
    /// Status and JSON body.
    Answer(u16, Vec<u8>),
    /// Read the request and never answer (the connection is held for this long).
    Hang(Duration),
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    /// Serves on 127.0.0.1:0; the handler gets each request and its 0-based number.
    fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Server {
        Self::start_inner(Arc::new(handler), None)
    }

    fn start_tls(
        tls: Arc<rustls::ServerConfig>,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> Server {
        Self::start_inner(Arc::new(handler), Some(tls))
    }

    fn start_inner(handler: Arc<Handler>, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("bound address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (handler, log, tls) = (Arc::clone(&handler), Arc::clone(&log), tls.clone());
                std::thread::spawn(move || {
                    let _ = match tls {
                        Some(cfg) => {
                            let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(conn, stream), &*handler, &log)
                        }
                        None => serve(stream, &*handler, &log),
                    };
                });
            }
        });
        Server { addr, requests }
    }

    fn url(&self, venue: &str) -> String {
        format!("http://{}/{venue}", self.addr)
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("request log").clone()
    }
}

/// Answers requests on one connection until the client closes it.
fn serve(
    mut stream: impl Read + Write,
    handler: &Handler,
    log: &Mutex<Vec<Request>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or_default().split(' ');
        let method = first.next().unwrap_or_default().to_owned();
        let target = first.next().unwrap_or_default().to_owned();
        let headers: BTreeMap<String, String> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let body_len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + body_len {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf.drain(..head_end + body_len);
        let req = Request {
            method,
            target,
            headers,
        };
        let n = {
            let mut log = log.lock().expect("request log");
            log.push(req.clone());
            log.len() - 1
        };
        match handler(&req, n) {
            Reply::Answer(status, body) => {
                let head = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    reason(status),
                    body.len()
                );
                stream.write_all(head.as_bytes())?;
                stream.write_all(&body)?;
                stream.flush()?;
            }
            Reply::Hang(d) => {
                std::thread::sleep(d);
                return Ok(());
            }
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

// ---- the mock exchange: fixture bodies under /<venue>/<documented path> ----

fn fixture(venue: &str, file: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "data", venue, file]
        .iter()
        .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture body a venue's mock serves for a request target, if any.
fn mock_exchange(req: &Request) -> Option<Vec<u8>> {
    let (venue, rest) = req.target.strip_prefix('/')?.split_once('/')?;
    let path = format!("/{rest}");
    let (path, query) = path.split_once('?').unwrap_or((&path, ""));
    let ex: Exchange = venue.parse().ok()?;
    let with_query = |p: &str| {
        if query.is_empty() {
            p.to_owned()
        } else {
            format!("{p}?{query}")
        }
    };
    if ex == Exchange::Bingx {
        // BingX wants a millisecond timestamp and nothing else.
        let ts: i64 = query.strip_prefix("timestamp=")?.parse().ok()?;
        assert!(ts > 1_600_000_000_000, "timestamp {ts}");
    }
    let full = if ex == Exchange::Bingx {
        path.to_owned()
    } else {
        with_query(path)
    };
    let method_ok = |m: &str| req.method == m;
    let tickers_file = if ex == Exchange::Gateio {
        "rest_tickers.constructed.json"
    } else {
        "rest_tickers.json"
    };
    if method_ok("GET") && full == arb_feeds::discover::symbols_path(ex) {
        Some(fixture(venue, "rest_symbols.json"))
    } else if method_ok("GET") && full == arb_feeds::discover::tickers_path(ex) {
        Some(fixture(venue, tickers_file))
    } else if method_ok("POST")
        && ex == Exchange::Kucoin
        && full == arb_feeds::discover::BULLET_PUBLIC_PATH
    {
        Some(fixture(venue, "rest_bullet_public.json"))
    } else {
        None
    }
}

fn mock_reply(req: &Request) -> Reply {
    match mock_exchange(req) {
        Some(body) => Reply::Answer(200, body),
        None => Reply::Answer(404, br#"{"code":-1,"msg":"no such route"}"#.to_vec()),
    }
}

/// Short timeouts and backoffs, no environment proxy.
fn fast_config() -> RestConfig {
    RestConfig {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        call_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
        },
        env_proxy: false,
        ..RestConfig::default()
    }
}

// ---- a tracing collector for the retry warnings ----

/// Every warning of the test binary with the thread that logged it. One global collector
/// (not `with_default` per test): with parallel tests, a callsite first hit on a thread
/// without a scoped collector can cache "never" and drop another test's events.
static WARNINGS: Mutex<Vec<(std::thread::ThreadId, String)>> = Mutex::new(Vec::new());

struct Warnings;

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        *meta.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut f = Fields(String::new());
        event.record(&mut f);
        WARNINGS
            .lock()
            .expect("warning log")
            .push((std::thread::current().id(), f.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Runs `f` and returns the warnings this thread logged meanwhile.
fn with_warnings<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(Warnings).expect("one global collector");
    });
    let me = std::thread::current().id();
    let take = || {
        let mut all = WARNINGS.lock().expect("warning log");
        let (mine, rest): (Vec<_>, Vec<_>) = all.drain(..).partition(|(t, _)| *t == me);
        *all = rest;
        mine.into_iter().map(|(_, l)| l).collect::<Vec<String>>()
    };
    take();
    let out = f();
    (out, take())
}

// ---- tests ----

/// Per venue: symbol rows, trading rows, a native symbol, its base and quote, its 24 h
/// quote volume.
type Expected = (
    Exchange,
    usize,
    usize,
    &'static str,
    &'static str,
    &'static str,
    Option<f64>,
);

#[test]
fn fetch_venue_end_to_end_for_all_venues() {
    let server = Server::start(|req, _| mock_reply(req));
    let rest = Rest::new(&fast_config()).unwrap();
    let expect: [Expected; 8] = [
        (
            Exchange::Binance,
            4,
            3,
            "BTCUSDT",
            "BTC",
            "USDT",
            Some(3_289_695_271.677_177),
        ),
        (
            Exchange::Bybit,
            1,
            1,
            "BTCUSDT",
            "BTC",
            "USDT",
            Some(243_765_620.658_998_66),
        ),
        (Exchange::Mexc, 1, 1, "TOMO3LUSDT", "TOMO3L", "USDT", None),
        (
            Exchange::Gateio,
            4,
            3,
            "BTC_USDT",
            "BTC",
            "USDT",
            Some(302_994_120.851_2),
        ),
        (
            Exchange::Kucoin,
            4,
            3,
            "BTC-USDT",
            "BTC",
            "USDT",
            Some(124_068_431.067_269_33),
        ),
        (Exchange::Okx, 3, 3, "BTC-USDT", "BTC", "USDT", None),
        (Exchange::Bitget, 1, 1, "BTCUSDT", "BTC", "USDT", Some(0.0)),
        (
            Exchange::Bingx,
            1,
            1,
            "BTC-USDT",
            "BTC",
            "USDT",
            Some(214_948_771.34),
        ),
    ];
    let mut venues = Vec::new();
    for (ex, rows, trading, native, base, quote, volume) in expect {
        let v = fetch_venue(&rest, ex, &server.url(ex.as_str()))
            .unwrap_or_else(|e| panic!("{ex}: {e}"));
        assert_eq!(v.exchange, ex);
        assert_eq!(v.symbol_rows, rows, "{ex}");
        assert_eq!(
            v.listings.iter().filter(|l| l.trading).count(),
            trading,
            "{ex}"
        );
        assert_eq!((v.symbol_skipped, v.ticker_skipped), (0, 0), "{ex}");
        assert!(v.ticker_rows >= 1, "{ex}");
        let l = v
            .listings
            .iter()
            .find(|l| l.native == native)
            .unwrap_or_else(|| panic!("{ex}: {native} missing"));
        assert_eq!((l.base.as_str(), l.quote.as_str()), (base, quote), "{ex}");
        assert_eq!(l.quote_volume_24h, volume, "{ex}");
        assert!(l.trading, "{ex}");
        venues.push(v);
    }

    // Every documented path was asked for, with our User-Agent.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 16);
    for r in &reqs {
        let ua = r.headers.get("user-agent").map(String::as_str);
        assert_eq!(ua, Some(arb_feeds::discover::USER_AGENT), "{r:?}");
    }
    let targets: Vec<&str> = reqs.iter().map(|r| r.target.as_str()).collect();
    assert!(targets.contains(&"/gateio/api/v4/spot/currency_pairs"));
    assert!(targets.contains(&"/bybit/v5/market/tickers?category=spot"));
    assert!(
        targets
            .iter()
            .any(|t| t.starts_with("/bingx/openApi/spot/v1/common/symbols?timestamp="))
    );

    // BTC/USDT trades on all but MEXC (whose fixture lists only TOMO3LUSDT).
    let sel = select(&venues, &Filter::default());
    let btc = sel.registry.lookup_name("BTC/USDT").unwrap();
    assert_eq!(sel.registry.venues(btc).count(), 7);
    assert_eq!(sel.registry.native(btc, Exchange::Okx), Some("BTC-USDT"));
    assert_eq!(
        sel.steps_of(Exchange::Binance, "BTCUSDT"),
        Some((Some(0.01), Some(0.00001)))
    );
    let report = sel.report.to_string();
    assert!(report.contains("from 8 of 8 venues"), "{report}");
    assert!(sel.report.venues.iter().all(|v| v.discovered));
}

#[test]
fn fetch_all_leaves_failed_venues_out() {
    let server = Server::start(|req, _| {
        if req.target.starts_with("/mexc/") {
            Reply::Answer(503, b"down".to_vec())
        } else {
            mock_reply(req)
        }
    });
    let rest = Rest::new(&RestConfig {
        retry: RetryPolicy {
            attempts: 1,
            ..RetryPolicy::default()
        },
        ..fast_config()
    })
    .unwrap();
    let urls: Vec<(Exchange, String)> = Exchange::ALL
        .iter()
        .map(|&ex| (ex, server.url(ex.as_str())))
        .collect();
    let urls: Vec<(Exchange, &str)> = urls.iter().map(|(ex, u)| (*ex, u.as_str())).collect();
    let found = fetch_all(&rest, &urls);
    let ok: Vec<Exchange> = found.venues.iter().map(|v| v.exchange).collect();
    let mut expected = Exchange::ALL.to_vec();
    expected.retain(|&ex| ex != Exchange::Mexc);
    assert_eq!(ok, expected);
    assert_eq!(found.failed.len(), 1);
    assert_eq!(found.failed[0].0, Exchange::Mexc);
    let sel = select(&found.venues, &Filter::default());
    assert!(!sel.report.venues[Exchange::Mexc.index()].discovered);
    assert!(sel.report.to_string().contains("mexc     not discovered"));
    assert_eq!(sel.report.symbols, 1, "BTC/USDT");
}

#[test]
fn kucoin_bullet_is_a_post() {
    let server = Server::start(|req, _| mock_reply(req));
    let rest = Rest::new(&fast_config()).unwrap();
    let bullet = kucoin_bullet(&rest, &server.url("kucoin")).unwrap();
    assert_eq!(bullet.endpoint, "wss://ws-api-spot.kucoin.com/");
    assert_eq!(
        (bullet.ping_interval_ms, bullet.ping_timeout_ms),
        (18_000, 10_000)
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].target, "/kucoin/api/v1/bullet-public");
}

#[test]
fn a_503_then_200_succeeds_after_one_retry() {
    let server = Server::start(|req, n| {
        if n == 0 {
            Reply::Answer(503, b"maintenance".to_vec())
        } else {
            mock_reply(req)
        }
    });
    let rest = Rest::new(&fast_config()).unwrap();
    let (v, warnings) = with_warnings(|| fetch_venue(&rest, Exchange::Okx, &server.url("okx")));
    let v = v.unwrap();
    assert_eq!(v.listings.len(), 3);
    // Symbols twice (503, 200), tickers once.
    assert_eq!(server.requests().len(), 3);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    for part in [
        "venue=\"okx\"",
        "status=503",
        "attempt=1",
        "retry=true",
        "/okx/api/v5/public/instruments?instType=SPOT",
    ] {
        assert!(w.contains(part), "{part} not in {w}");
    }
}

#[test]
fn a_429_is_retried_too() {
    let server = Server::start(|req, n| {
        if n < 2 {
            Reply::Answer(429, br#"{"code":-1003,"msg":"Too many requests"}"#.to_vec())
        } else {
            mock_reply(req)
        }
    });
    let rest = Rest::new(&fast_config()).unwrap();
    let body = rest
        .get(&format!("{}/api/v3/ticker/24hr", server.url("binance")))
        .unwrap();
    assert!(body.starts_with(b"["));
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_404_fails_at_once() {
    let server = Server::start(|_, _| Reply::Answer(404, br#"{"msg":"gone"}"#.to_vec()));
    let rest = Rest::new(&fast_config()).unwrap();
    let url = server.url("gateio");
    let err = fetch_venue(&rest, Exchange::Gateio, &url).unwrap_err();
    assert!(
        matches!(
            err,
            DiscoverError::Status {
                status: 404,
                attempts: 1,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
    let text = err.to_string();
    assert!(text.starts_with("gateio: HTTP 404 from "), "{text}");
    assert!(
        text.contains(&format!("{url}/api/v4/spot/currency_pairs")),
        "{text}"
    );
    assert!(text.contains("gone"), "{text}");
}

#[test]
fn persistent_5xx_gives_up_after_the_configured_attempts() {
    let server = Server::start(|_, _| Reply::Answer(500, b"oops".to_vec()));
    let rest = Rest::new(&fast_config()).unwrap();
    let (err, warnings) =
        with_warnings(|| fetch_venue(&rest, Exchange::Bitget, &server.url("bitget")).unwrap_err());
    assert_eq!(err.attempts(), Some(3), "{err}");
    assert_eq!(server.requests().len(), 3);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[2].contains("attempt=3") && warnings[2].contains("retry=false"));
}

#[test]
fn a_silent_server_times_out_within_the_bound() {
    let server = Server::start(|_, _| Reply::Hang(Duration::from_secs(10)));
    let read = Duration::from_millis(300);
    let config = RestConfig {
        read_timeout: read,
        retry: RetryPolicy {
            attempts: 2,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(20),
        },
        ..fast_config()
    };
    let rest = Rest::new(&config).unwrap();
    let clock = Stopwatch::start();
    let err = fetch_venue(&rest, Exchange::Binance, &server.url("binance")).unwrap_err();
    let took = clock.elapsed();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(err.attempts(), Some(2), "timeouts are retried");
    assert_eq!(server.requests().len(), 2);
    // Two reads of 300 ms and one backoff of at most 20 ms, plus scheduling slack.
    assert!(took >= read * 2, "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(
        err.to_string()
            .starts_with("binance: request to http://127.0.0.1:")
    );
}

#[test]
fn connection_refused_is_retried_then_reported() {
    // A port that was just free: nothing listens on it.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let rest = Rest::new(&fast_config()).unwrap();
    let err = fetch_venue(&rest, Exchange::Okx, &format!("http://{addr}/okx")).unwrap_err();
    assert!(matches!(err, DiscoverError::Transport { .. }), "{err}");
    assert_eq!(err.attempts(), Some(3), "{err}");
}

#[test]
fn a_venue_error_body_is_a_body_error() {
    let server = Server::start(|_, _| {
        Reply::Answer(
            200,
            br#"{"retCode":10006,"retMsg":"Too many visits!"}"#.to_vec(),
        )
    });
    let rest = Rest::new(&fast_config()).unwrap();
    let err = fetch_venue(&rest, Exchange::Bybit, &server.url("bybit")).unwrap_err();
    assert!(matches!(err, DiscoverError::Body { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("bybit: unusable answer from http://"),
        "{text}"
    );
    assert!(
        text.contains("10006") && text.contains("Too many visits!"),
        "{text}"
    );
}

/// A self-signed certificate for 127.0.0.1, written to a PEM file (in a directory removed
/// when the returned handle is dropped), and a TLS server config.
fn tls_fixture(name: &str) -> (tempfile::TempDir, PathBuf, Arc<rustls::ServerConfig>) {
    let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()])
        .expect("self-signed certificate");
    let dir = tempfile::Builder::new()
        .prefix("arb-discover-test-")
        .tempdir()
        .expect("temp dir");
    let pem = dir.path().join(name);
    std::fs::write(&pem, key.cert.pem()).expect("write the PEM");
    let der = rustls_pki_types::PrivateKeyDer::Pkcs8(key.signing_key.serialize_der().into());
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![key.cert.der().clone()], der)
    .expect("server certificate");
    (dir, pem, Arc::new(cfg))
}

#[test]
fn https_trusts_extra_roots_and_nothing_else() {
    let (_pem_dir, pem, tls) = tls_fixture("mock-root.pem");
    let server = Server::start_tls(tls, |req, _| mock_reply(req));
    let url = format!("https://{}/kucoin", server.addr);

    let trusted = Rest::new(&RestConfig {
        extra_root_certs: vec![pem],
        ..fast_config()
    })
    .unwrap();
    let v = fetch_venue(&trusted, Exchange::Kucoin, &url).unwrap();
    assert!(v.listings.iter().any(|l| l.native == "BTC-USDT"));
    assert_eq!(
        kucoin_bullet(&trusted, &url).unwrap().ping_interval_ms,
        18_000
    );

    // Without the extra root the self-signed server is refused, and not retried.
    let strict = Rest::new(&fast_config()).unwrap();
    let err = fetch_venue(&strict, Exchange::Kucoin, &url).unwrap_err();
    assert!(matches!(err, DiscoverError::Transport { .. }), "{err}");
    assert_eq!(err.attempts(), Some(1), "{err}");
}

#[test]
fn a_missing_root_file_is_named() {
    let err = Rest::new(&RestConfig {
        extra_root_certs: vec![PathBuf::from("/nonexistent/mock-root.pem")],
        ..fast_config()
    })
    .unwrap_err();
    assert!(matches!(err, DiscoverError::Tls(_)), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/mock-root.pem"),
        "{err}"
    );
}
