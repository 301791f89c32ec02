//! `arb mock-exchange` end to end over loopback: every venue's subscribe flow with our own
//! request builders and decoders, heartbeats both ways, REST bodies, rejected topics,
//! fault injection, TLS with the written certificate, and the printed arb.toml fragment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use arb_engine::Exchange;
use arb_engine::clock::Stopwatch;
use arb_feeds::{AnyDecoder, ControlKind, Decoded, FrameDecoder, FrameKind};
use tungstenite::{Message, WebSocket};

/// A running mock exchange, killed on drop.
struct Mock {
    child: Child,
    addr: String,
    /// Stdout lines after the listening line that were read (the TOML fragment).
    config: String,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `arb mock-exchange ARGS` on a free port and reads its listening line (and, with
/// `--print-config`, the fragment up to the last venue's `ws_url`).
fn mock(args: &[&str]) -> Mock {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arb"))
        .arg("mock-exchange")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().expect("a listening line").unwrap();
    let addr = first
        .strip_prefix("# mock-exchange listening on ")
        .and_then(|u| u.split("://").nth(1))
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    let mut config = String::new();
    if args.contains(&"--print-config") {
        for line in lines.by_ref() {
            let line = line.unwrap();
            config.push_str(&line);
            config.push('\n');
            if line.contains("/bingx/ws") {
                break;
            }
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Mock {
        child,
        addr,
        config,
    }
}

/// What a test keeps of one decoded item.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Quote(String),
    Trade(String),
    Control(ControlKind, Option<String>, Option<String>),
    /// A frame the decoder refused.
    Bad,
    /// The server closed (with this code, if any).
    Closed(Option<u16>),
}

/// A WebSocket client of one venue with its decoder.
struct Client {
    ex: Exchange,
    ws: WebSocket<Box<dyn ReadWrite>>,
    dec: AnyDecoder,
    /// Sizes of the data frames received.
    sizes: Vec<usize>,
}

trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}

impl Client {
    fn connect(addr: &str, ex: Exchange, query: &str) -> Client {
        let tcp = TcpStream::connect(addr).unwrap();
        let handle = tcp.try_clone().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let url = format!("ws://{addr}/{}/ws{query}", ex.as_str());
        let (ws, _) = tungstenite::client(url.as_str(), Box::new(tcp) as Box<dyn ReadWrite>)
            .unwrap_or_else(|e| panic!("{ex}: handshake: {e}"));
        // Short reads from now on, so `pump` can watch the clock.
        handle
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Client::with(ws, ex)
    }

    fn with(ws: WebSocket<Box<dyn ReadWrite>>, ex: Exchange) -> Client {
        Client {
            ex,
            ws,
            dec: AnyDecoder::new(ex),
            sizes: Vec::new(),
        }
    }

    fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text)).unwrap();
    }

    /// Reads until an event matches `pred` (or `max` passes, or the socket closes).
    fn wait_for(&mut self, max: Duration, pred: impl Fn(&Ev) -> bool) -> Vec<Ev> {
        let t = Stopwatch::start();
        let mut evs = Vec::new();
        while t.elapsed() < max {
            let got = self.pump(Duration::from_millis(100), |_, _| {});
            let done = got.iter().any(|e| pred(e) || matches!(e, Ev::Closed(_)));
            evs.extend(got);
            if done {
                break;
            }
        }
        evs
    }

    /// Reads for `dur` (or until closed), decoding everything; `hook` sees every event
    /// and may answer.
    fn pump(&mut self, dur: Duration, mut hook: impl FnMut(&mut Self, &Ev)) -> Vec<Ev> {
        let t = Stopwatch::start();
        let mut evs = Vec::new();
        while t.elapsed() < dur {
            let msg = match self.ws.read() {
                Ok(m) => m,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    let _ = self.ws.flush();
                    continue;
                }
                Err(_) => {
                    evs.push(Ev::Closed(None));
                    return evs;
                }
            };
            let (kind, bytes) = match msg {
                Message::Text(t) => (FrameKind::Text, t.as_bytes().to_vec()),
                Message::Binary(b) => (FrameKind::Binary, b.to_vec()),
                Message::Ping(p) => (FrameKind::Ping, p.to_vec()),
                Message::Pong(_) => {
                    evs.push(Ev::Control(ControlKind::Pong, None, Some("ws_pong".into())));
                    continue;
                }
                Message::Close(c) => {
                    evs.push(Ev::Closed(c.map(|c| u16::from(c.code))));
                    return evs;
                }
                _ => continue,
            };
            let mut got = Vec::new();
            let is_data = matches!(kind, FrameKind::Text | FrameKind::Binary);
            let res = if kind == FrameKind::Ping {
                got.push(Ev::Control(ControlKind::Ping, None, None));
                Ok(())
            } else {
                self.dec.decode(kind, &bytes, &mut |d| {
                    got.push(match d {
                        Decoded::Quote(q) => Ev::Quote(q.native.to_string()),
                        Decoded::Trade(t) => Ev::Trade(t.native.to_string()),
                        Decoded::Control(c) => Ev::Control(
                            c.kind,
                            c.id.map(str::to_string),
                            c.text.map(str::to_string),
                        ),
                    })
                })
            };
            if is_data && got.iter().any(|e| matches!(e, Ev::Quote(_) | Ev::Trade(_))) {
                self.sizes.push(bytes.len());
            }
            if res.is_err() {
                self.sizes.push(bytes.len());
                got.push(Ev::Bad);
            }
            for e in got {
                hook(self, &e);
                evs.push(e);
            }
        }
        evs
    }
}

/// `POST path` with an empty body; returns the body.
fn http_post(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out.split_once("\r\n\r\n").unwrap().1.to_string()
}

fn stats(addr: &str) -> serde_json::Value {
    let (s, body) = common::http_get(addr, "/mock/stats");
    assert_eq!(s, 200);
    serde_json::from_str(&body).unwrap()
}

/// BTC/USDT in `ex`'s spelling.
fn btc(ex: Exchange) -> &'static str {
    match ex {
        Exchange::Gateio => "BTC_USDT",
        Exchange::Kucoin | Exchange::Okx | Exchange::Bingx => "BTC-USDT",
        _ => "BTCUSDT",
    }
}

/// The venue's subscribe requests for `natives`, from our own builders.
fn subscribe_requests(ex: Exchange, natives: &[&str]) -> Vec<String> {
    match ex {
        Exchange::Binance => vec![arb_feeds::binance::subscribe_request(1, natives)],
        Exchange::Bybit => arb_feeds::bybit::subscribe_requests(1, natives),
        Exchange::Mexc => {
            arb_feeds::mexc::subscribe_requests(arb_feeds::mexc::Interval::Ms10, natives)
        }
        Exchange::Gateio => arb_feeds::gateio::subscribe_requests(1_700_000_000, natives),
        Exchange::Kucoin => {
            arb_feeds::kucoin::subscribe_requests(1, arb_feeds::kucoin::BookTopic::Level1, natives)
        }
        Exchange::Okx => arb_feeds::okx::subscribe_requests(natives),
        Exchange::Bitget => arb_feeds::bitget::subscribe_requests(natives),
        Exchange::Bingx => arb_feeds::bingx::subscribe_requests(1, natives),
    }
}

/// The client's own heartbeat request, for venues where the client pings.
fn ping_request(ex: Exchange) -> Option<String> {
    Some(match ex {
        Exchange::Bybit => arb_feeds::bybit::PING_REQUEST.to_string(),
        Exchange::Mexc => arb_feeds::mexc::PING_REQUEST.to_string(),
        Exchange::Gateio => arb_feeds::gateio::ping_request(1_700_000_000),
        Exchange::Kucoin => arb_feeds::kucoin::ping_request(7),
        Exchange::Okx => arb_feeds::okx::PING_REQUEST.to_string(),
        Exchange::Bitget => arb_feeds::bitget::PING_REQUEST.to_string(),
        Exchange::Binance | Exchange::Bingx => return None,
    })
}

/// Connects to `ex` (KuCoin through its token step) and waits for KuCoin's welcome.
fn open(addr: &str, ex: Exchange) -> Client {
    if ex != Exchange::Kucoin {
        return Client::connect(addr, ex, "");
    }
    let body = http_post(addr, "/kucoin/api/v1/bullet-public");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = v["data"]["token"].as_str().unwrap().to_string();
    let endpoint = v["data"]["instanceServers"][0]["endpoint"]
        .as_str()
        .unwrap();
    assert_eq!(endpoint, format!("ws://{addr}/kucoin/ws"));
    let mut c = Client::connect(addr, ex, &format!("?token={token}&connectId=test1"));
    let welcome =
        |e: &Ev| matches!(e, Ev::Control(ControlKind::Info, Some(id), _) if id == "test1");
    let evs = c.wait_for(Duration::from_secs(10), welcome);
    assert!(evs.iter().any(welcome), "no welcome: {evs:?}");
    c
}

/// Answers server heartbeats the way the live client must.
fn answer_heartbeats(c: &mut Client, e: &Ev) {
    if let (Exchange::Bingx, Ev::Control(ControlKind::Ping, Some(id), Some(time))) = (c.ex, e) {
        let pong = arb_feeds::bingx::pong_reply(id, time);
        c.send(&pong);
    }
}

#[test]
fn every_venue_streams_only_the_subscribed_symbol_with_heartbeats() {
    let m = mock(&[
        "--symbols",
        "8",
        "--rate",
        "16000",
        "--heartbeat-scale",
        "0.05",
    ]);
    let addr = m.addr.clone();
    let handles: Vec<_> = Exchange::ALL
        .into_iter()
        .map(|ex| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut c = open(&addr, ex);
                for r in subscribe_requests(ex, &[btc(ex)]) {
                    c.send(&r);
                }
                let mut evs = Vec::new();
                // Several rounds, with the client's own pings in between (the scaled
                // timeouts are 1.4-30 s, so a silent client would be closed).
                for _ in 0..8 {
                    if let Some(p) = ping_request(ex) {
                        c.send(&p);
                    }
                    evs.extend(c.pump(Duration::from_millis(300), answer_heartbeats));
                }
                (ex, evs)
            })
        })
        .collect();
    for h in handles {
        let (ex, evs) = h.join().unwrap();
        let native = btc(ex);
        let count = |f: &dyn Fn(&Ev) -> bool| evs.iter().filter(|e| f(e)).count();
        assert!(
            !evs.iter().any(|e| matches!(e, Ev::Closed(_) | Ev::Bad)),
            "{ex}: {evs:?}"
        );
        let acks = count(&|e| matches!(e, Ev::Control(ControlKind::Ack, ..)));
        assert!(acks >= 1, "{ex}: no ack in {:?}", &evs[..evs.len().min(5)]);
        let quotes = count(&|e| matches!(e, Ev::Quote(n) if n == native));
        let trades = count(&|e| matches!(e, Ev::Trade(n) if n == native));
        let others = count(&|e| matches!(e, Ev::Quote(n) | Ev::Trade(n) if n != native));
        assert!(
            quotes > 0 && trades > 0,
            "{ex}: {quotes} quotes, {trades} trades"
        );
        assert_eq!(others, 0, "{ex}: data for symbols not subscribed");
        match ex {
            Exchange::Binance | Exchange::Bingx => {
                let pings = count(&|e| matches!(e, Ev::Control(ControlKind::Ping, ..)));
                assert!(pings >= 1, "{ex}: no server ping");
            }
            _ => {
                let pongs = count(&|e| matches!(e, Ev::Control(ControlKind::Pong, ..)));
                assert!(pongs >= 1, "{ex}: client pings not answered");
            }
        }
    }
    let s = stats(&addr);
    for ex in Exchange::ALL {
        let v = &s[ex.as_str()];
        assert!(v["frames_sent"].as_u64().unwrap() > 0, "{ex}: {v}");
        assert!(v["topics_subscribed"].as_u64().unwrap() >= 2, "{ex}: {v}");
    }
    assert!(s["binance"]["pongs_received"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["bingx"]["pongs_received"].as_u64().unwrap() >= 1, "{s}");
}

#[test]
fn rest_bodies_have_each_venues_shape() {
    let m = mock(&["--symbols", "5"]);
    let get = |path: &str| -> serde_json::Value {
        let (s, body) = common::http_get(&m.addr, path);
        assert_eq!(s, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    let v = get("/binance/api/v3/exchangeInfo");
    let syms = v["symbols"].as_array().unwrap();
    assert!(
        syms.iter()
            .any(|s| s["symbol"] == "BTCUSDT" && s["status"] == "TRADING")
    );
    assert!(syms.iter().any(|s| s["status"] != "TRADING"));
    assert!(syms.iter().any(|s| s["quoteAsset"] != "USDT"));
    let v = get("/binance/api/v3/ticker/24hr");
    assert!(
        v[0]["quoteVolume"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            > 0.0
    );
    let v = get("/bybit/v5/market/instruments-info?category=spot");
    assert_eq!(v["retCode"], 0);
    assert_eq!(v["result"]["list"][0]["status"], "Trading");
    let v = get("/bybit/v5/market/tickers?category=spot");
    assert!(v["result"]["list"][0]["turnover24h"].is_string());
    let v = get("/mexc/api/v3/exchangeInfo");
    assert_eq!(v["symbols"][0]["status"], "1");
    assert!(get("/mexc/api/v3/ticker/24hr").is_array());
    let v = get("/gateio/api/v4/spot/currency_pairs");
    assert_eq!(v[0]["id"], "BTC_USDT");
    assert_eq!(v[0]["trade_status"], "tradable");
    assert!(get("/gateio/api/v4/spot/tickers")[0]["quote_volume"].is_string());
    let v = get("/kucoin/api/v2/symbols");
    assert_eq!(v["code"], "200000");
    assert_eq!(v["data"][0]["enableTrading"], true);
    let v = get("/kucoin/api/v1/market/allTickers");
    assert!(v["data"]["ticker"][0]["volValue"].is_string());
    let v = get("/okx/api/v5/public/instruments?instType=SPOT");
    assert_eq!(v["code"], "0");
    assert_eq!(v["data"][0]["state"], "live");
    assert!(get("/okx/api/v5/market/tickers?instType=SPOT")["data"][0]["volCcy24h"].is_string());
    let v = get("/bitget/api/v2/spot/public/symbols");
    assert_eq!(v["code"], "00000");
    assert_eq!(v["data"][0]["status"], "online");
    assert!(get("/bitget/api/v2/spot/market/tickers")["data"][0]["quoteVolume"].is_string());
    let v = get("/bingx/openApi/spot/v1/common/symbols?timestamp=1");
    assert_eq!(v["code"], 0);
    assert_eq!(v["data"]["symbols"][0]["status"], 1);
    assert!(v["data"]["symbols"][0]["tickSize"].is_number());
    let v = get("/bingx/openApi/spot/v1/ticker/24hr?timestamp=1");
    assert!(v["data"][0]["quoteVolume"].is_number());
    let v: serde_json::Value =
        serde_json::from_str(&http_post(&m.addr, "/kucoin/api/v1/bullet-public")).unwrap();
    assert_eq!(v["code"], "200000");
    assert_eq!(v["data"]["instanceServers"][0]["pingInterval"], 18000);
    let (s, body) = common::http_get(&m.addr, "/binance/api/v3/nope");
    assert_eq!(s, 404);
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok());
    // KuCoin without a token is refused.
    let tcp = TcpStream::connect(&m.addr).unwrap();
    let url = format!("ws://{}/kucoin/ws?connectId=x", m.addr);
    match tungstenite::client(url.as_str(), tcp) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r))) => {
            assert_eq!(r.status(), 401);
        }
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    assert!(stats(&m.addr)["binance"]["rest_requests"].as_u64().unwrap() >= 2);
}

#[test]
fn rejected_topics_get_the_venues_error_reply() {
    let m = mock(&["--symbols", "5", "--rate", "2000", "--reject-topic", "ETH"]);
    for ex in Exchange::ALL {
        let eth = match ex {
            Exchange::Gateio => "ETH_USDT",
            Exchange::Kucoin | Exchange::Okx | Exchange::Bingx => "ETH-USDT",
            _ => "ETHUSDT",
        };
        let mut c = open(&m.addr, ex);
        for r in subscribe_requests(ex, &[eth]) {
            c.send(&r);
        }
        let evs = c.wait_for(Duration::from_secs(10), |e| {
            matches!(e, Ev::Control(ControlKind::Error, ..))
        });
        assert!(
            evs.iter()
                .any(|e| matches!(e, Ev::Control(ControlKind::Error, ..))),
            "{ex}: {evs:?}"
        );
        assert!(
            !evs.iter().any(|e| matches!(e, Ev::Quote(_) | Ev::Trade(_))),
            "{ex}: data for a rejected topic"
        );
    }
    let s = stats(&m.addr);
    for ex in Exchange::ALL {
        assert!(
            s[ex.as_str()]["rejected_topics"].as_u64().unwrap() >= 1,
            "{ex}: {s}"
        );
    }
}

#[test]
fn drop_every_closes_only_the_fault_venues() {
    let m = mock(&[
        "--symbols",
        "5",
        "--drop-every",
        "1",
        "--fault-venues",
        "okx",
    ]);
    let mut okx = open(&m.addr, Exchange::Okx);
    let mut bybit = open(&m.addr, Exchange::Bybit);
    let evs = okx.pump(Duration::from_secs(3), |_, _| {});
    assert!(
        matches!(evs.last(), Some(Ev::Closed(Some(1001)))),
        "okx not dropped: {evs:?}"
    );
    let evs = bybit.pump(Duration::from_millis(300), |_, _| {});
    assert!(!evs.iter().any(|e| matches!(e, Ev::Closed(_))), "{evs:?}");
    let s = stats(&m.addr);
    assert!(s["okx"]["closes_by_fault"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(s["bybit"]["closes_by_fault"], 0);
}

#[test]
fn silent_after_stops_everything_but_keeps_the_socket() {
    let m = mock(&["--symbols", "4", "--rate", "8000", "--silent-after", "1"]);
    let mut c = open(&m.addr, Exchange::Bybit);
    for r in subscribe_requests(Exchange::Bybit, &["BTCUSDT"]) {
        c.send(&r);
    }
    let before = c.pump(Duration::from_millis(900), |_, _| {});
    assert!(
        before.iter().any(|e| matches!(e, Ev::Quote(_))),
        "{before:?}"
    );
    // Let the queue drain past the silence point, then expect nothing, not even a pong.
    c.pump(Duration::from_millis(700), |_, _| {});
    c.send(arb_feeds::bybit::PING_REQUEST);
    c.ws.send(Message::Ping(b"hello".to_vec().into())).unwrap();
    let after = c.pump(Duration::from_millis(1000), |_, _| {});
    assert!(after.is_empty(), "{after:?}");
    // Still open: a write goes through.
    c.send(arb_feeds::bybit::PING_REQUEST);
}

#[test]
fn binance_streams_named_in_the_url_are_subscribed() {
    let m = mock(&["--symbols", "4", "--rate", "4000"]);
    let mut c = Client::connect(
        &m.addr,
        Exchange::Binance,
        "?streams=btcusdt@bookTicker/btcusdt@trade",
    );
    let evs = c.pump(Duration::from_millis(1000), |_, _| {});
    assert!(
        evs.iter()
            .any(|e| matches!(e, Ev::Quote(n) if n == "BTCUSDT")),
        "{evs:?}"
    );
    assert!(
        !evs.iter()
            .any(|e| matches!(e, Ev::Quote(n) if n != "BTCUSDT")),
        "{evs:?}"
    );
}

#[test]
fn client_that_never_pings_is_closed() {
    let m = mock(&["--symbols", "4", "--heartbeat-scale", "0.05"]);
    // OKX: 30 s without a message, scaled to 1.5 s; MEXC: 30 s without a subscription
    // (it is pinged, so only that rule applies).
    let mut okx = open(&m.addr, Exchange::Okx);
    let mut mexc = open(&m.addr, Exchange::Mexc);
    mexc.send(arb_feeds::mexc::PING_REQUEST);
    let evs = okx.pump(Duration::from_secs(4), |_, _| {});
    assert!(matches!(evs.last(), Some(Ev::Closed(_))), "okx: {evs:?}");
    let evs = mexc.pump(Duration::from_secs(4), |_, _| {});
    assert!(matches!(evs.last(), Some(Ev::Closed(_))), "mexc: {evs:?}");
}

#[test]
fn malformed_and_oversize_frames_appear() {
    let m = mock(&[
        "--symbols",
        "4",
        "--rate",
        "8000",
        "--malformed-every",
        "5",
        "--oversize-every",
        "7",
        "--oversize-bytes",
        "300000",
    ]);
    for ex in [Exchange::Okx, Exchange::Mexc, Exchange::Bingx] {
        let mut c = open(&m.addr, ex);
        for r in subscribe_requests(ex, &[btc(ex)]) {
            c.send(&r);
        }
        let evs = c.pump(Duration::from_millis(1500), answer_heartbeats);
        let bad = evs.iter().filter(|e| **e == Ev::Bad).count();
        let good = evs
            .iter()
            .filter(|e| matches!(e, Ev::Quote(_) | Ev::Trade(_)))
            .count();
        assert!(bad > 0 && good > 0, "{ex}: {bad} bad, {good} good");
        if ex != Exchange::Bingx {
            // BingX's oversize frame is small on the wire (gzip); its inflated size is big.
            assert!(
                c.sizes.iter().any(|&n| n >= 290_000),
                "{ex}: no oversize frame"
            );
        }
    }
}

#[test]
fn rate_limit_close_uses_code_1008() {
    let m = mock(&["--symbols", "4", "--rate-limit-close"]);
    let mut c = open(&m.addr, Exchange::Binance);
    for i in 0..8 {
        c.send(&format!(r#"{{"method":"LIST_SUBSCRIPTIONS","id":{i}}}"#));
    }
    let evs = c.pump(Duration::from_secs(2), |_, _| {});
    assert!(
        matches!(evs.last(), Some(Ev::Closed(Some(1008)))),
        "{evs:?}"
    );
    assert_eq!(stats(&m.addr)["binance"]["rate_limit_closes"], 1);
}

/// A rustls client config trusting `roots`.
fn client_tls(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn tls_stream(
    addr: &str,
    cfg: Arc<rustls::ClientConfig>,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(cfg, name).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

#[test]
fn tls_works_with_the_written_certificate_only_and_config_parses() {
    let pem = std::env::temp_dir().join(format!("arb-mock-test-{}.pem", std::process::id()));
    let pem_s = pem.display().to_string();
    let m = mock(&[
        "--tls",
        "--tls-cert-out",
        &pem_s,
        "--print-config",
        "--symbols",
        "4",
    ]);
    // The printed fragment: TOML with 8 venues on https/wss and the certificate.
    let cfg: toml::Table = toml::from_str(&m.config).unwrap();
    let venues = cfg["venues"].as_table().unwrap();
    assert_eq!(venues.len(), 8);
    for ex in Exchange::ALL {
        let v = &venues[ex.as_str()];
        assert_eq!(
            v["rest_url"].as_str().unwrap(),
            format!("https://{}/{}", m.addr, ex.as_str())
        );
        assert_eq!(
            v["ws_url"].as_str().unwrap(),
            format!("wss://{}/{}/ws", m.addr, ex.as_str())
        );
    }
    assert_eq!(
        cfg["tls"]["extra_root_certs"].as_array().unwrap()[0].as_str(),
        Some(pem_s.as_str())
    );

    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let trusted = client_tls(roots);

    // REST over https.
    let mut s = tls_stream(&m.addr, Arc::clone(&trusted));
    s.sock
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "GET /okx/api/v5/public/instruments?instType=SPOT HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("\"instId\":\"BTC-USDT\""));

    // WebSocket over wss.
    let s = tls_stream(&m.addr, trusted);
    let handle = s.sock.try_clone().unwrap();
    let url = format!("wss://{}/okx/ws", m.addr);
    let (ws, _) = tungstenite::client(url.as_str(), Box::new(s) as Box<dyn ReadWrite>).unwrap();
    handle
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut c = Client::with(ws, Exchange::Okx);
    for r in subscribe_requests(Exchange::Okx, &["BTC-USDT"]) {
        c.send(&r);
    }
    let evs = c.pump(Duration::from_millis(1500), |_, _| {});
    assert!(
        evs.iter()
            .any(|e| matches!(e, Ev::Control(ControlKind::Ack, ..))),
        "{evs:?}"
    );
    assert!(evs.iter().any(|e| matches!(e, Ev::Quote(_))), "{evs:?}");

    // A client that does not trust the certificate fails verification.
    let mut s = tls_stream(&m.addr, client_tls(rustls::RootCertStore::empty()));
    s.sock
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let err = write!(s, "GET / HTTP/1.1\r\n\r\n")
        .and_then(|()| s.flush())
        .and_then(|()| s.read(&mut [0u8; 16]).map(|_| ()))
        .expect_err("an untrusted certificate must fail");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    let _ = std::fs::remove_file(&pem);
}

#[test]
fn sigterm_stops_it_cleanly() {
    let mut m = mock(&["--symbols", "4"]);
    let _c = open(&m.addr, Exchange::Okx);
    let pid = m.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let t = Stopwatch::start();
    loop {
        if let Some(status) = m.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `BASE/USDT` in `ex`'s spelling.
fn usdt_native(ex: Exchange, base: &str) -> String {
    match ex {
        Exchange::Gateio => format!("{base}_USDT"),
        Exchange::Kucoin | Exchange::Okx | Exchange::Bingx => format!("{base}-USDT"),
        _ => format!("{base}USDT"),
    }
}

#[test]
#[ignore = "load check, run by hand: cargo test -p arb-tools --test mock_exchange -- --ignored"]
fn hundred_connections_share_the_load() {
    const CONNS: usize = 100;
    const SECS: u64 = 6;
    let m = mock(&["--symbols", "50", "--rate", "16000"]);
    let (_, body) = common::http_get(&m.addr, "/gateio/api/v4/spot/currency_pairs");
    let pairs: serde_json::Value = serde_json::from_str(&body).unwrap();
    let bases: Vec<String> = pairs
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["quote"] == "USDT" && p["trade_status"] == "tradable")
        .map(|p| p["base"].as_str().unwrap().to_string())
        .collect();
    let t = Stopwatch::start();
    let handles: Vec<_> = (0..CONNS)
        .map(|i| {
            let addr = m.addr.clone();
            let bases = bases.clone();
            std::thread::spawn(move || {
                let ex = Exchange::ALL[i % 8];
                let mut natives: Vec<String> = bases.iter().map(|b| usdt_native(ex, b)).collect();
                if ex == Exchange::Mexc {
                    natives.truncate(15);
                }
                let refs: Vec<&str> = natives.iter().map(String::as_str).collect();
                let mut c = open(&addr, ex);
                for r in subscribe_requests(ex, &refs) {
                    c.send(&r);
                }
                let mut frames = 0u64;
                while t.elapsed() < Duration::from_secs(SECS) {
                    match c.ws.read() {
                        Ok(Message::Text(_) | Message::Binary(_)) => frames += 1,
                        Ok(_) => {}
                        Err(tungstenite::Error::Io(_)) => {}
                        Err(e) => panic!("{ex}: {e}"),
                    }
                }
                frames
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(SECS - 1));
    let s = stats(&m.addr);
    let received: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let sum = |k: &str| -> u64 {
        Exchange::ALL
            .iter()
            .map(|ex| s[ex.as_str()][k].as_u64().unwrap())
            .sum()
    };
    let (sent, dropped, open) = (
        sum("frames_sent"),
        sum("frames_dropped"),
        sum("connections_open"),
    );
    eprintln!(
        "{open} connections: {:.0} frames/s received, {sent} sent, {dropped} dropped in {SECS} s",
        received as f64 / SECS as f64
    );
    assert_eq!(open, CONNS as u64);
    assert!(received > 0);
}

#[test]
fn capture_playback_routes_by_symbol() {
    let cap = std::env::temp_dir().join(format!("arb-mock-cap-{}.arbcap", std::process::id()));
    let cfg = arb_feeds::r#gen::GenConfig {
        symbols: 6,
        rate_per_s: 8000,
        duration_s: 3.0,
        ..arb_feeds::r#gen::GenConfig::default()
    };
    arb_feeds::r#gen::generate(&cfg, &cap, |_| {}).unwrap();
    let cap_s = cap.display().to_string();
    let m = mock(&["--capture", &cap_s]);
    let (_, body) = common::http_get(&m.addr, "/okx/api/v5/public/instruments?instType=SPOT");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["instId"] == "SOL-USDT")
    );
    for ex in [Exchange::Okx, Exchange::Mexc, Exchange::Kucoin] {
        let mut c = open(&m.addr, ex);
        for r in subscribe_requests(ex, &[btc(ex)]) {
            c.send(&r);
        }
        let evs = c.pump(Duration::from_millis(1200), |_, _| {});
        let native = btc(ex);
        assert!(
            evs.iter().any(|e| matches!(e, Ev::Quote(n) if n == native)),
            "{ex}: {evs:?}"
        );
        assert!(
            evs.iter().any(|e| matches!(e, Ev::Trade(n) if n == native)),
            "{ex}: {evs:?}"
        );
        assert!(
            !evs.iter()
                .any(|e| matches!(e, Ev::Quote(n) | Ev::Trade(n) if n != native)),
            "{ex}: other symbols"
        );
    }
    let _ = std::fs::remove_file(&cap);
}

#[test]
fn bitget_first_trade_push_is_a_snapshot() {
    let m = mock(&["--symbols", "4", "--rate", "8000"]);
    let mut c = open(&m.addr, Exchange::Bitget);
    for r in subscribe_requests(Exchange::Bitget, &["BTCUSDT"]) {
        c.send(&r);
    }
    let mut actions = Vec::new();
    let t = Stopwatch::start();
    while actions.len() < 3 && t.elapsed() < Duration::from_secs(5) {
        if let Ok(Message::Text(txt)) = c.ws.read()
            && txt.contains(r#""channel":"trade""#)
            && !txt.contains(r#""event""#)
        {
            actions.push(txt.contains(r#""action":"snapshot""#));
        }
    }
    assert_eq!(actions, [true, false, false]);
}

#[test]
fn rest_delay_holds_every_answer() {
    let m = mock(&["--symbols", "2", "--rest-delay-ms", "400"]);
    let t = Stopwatch::start();
    let (s, _) = common::http_get(&m.addr, "/okx/api/v5/market/tickers?instType=SPOT");
    assert_eq!(s, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
}
