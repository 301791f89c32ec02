//! The HTTP server over real sockets: routes answer with the right status and JSON,
//! every limit (connections, head size, bodies, request timeout, token, origin) is a
//! clear error, keep-alive and pipelined requests work, and the chart and ranking
//! endpoints return what the history and the ranking board hold.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use arb_engine::history::{HistoryConfig, HistoryStore, SeriesCursor};
use arb_engine::pairs::{Horizon, PairQuery, PairReader};
use arb_engine::ranking::RankingBoard;
use arb_engine::{Exchange, SymbolId, SymbolRegistry, VenuePair};
use arb_io::serve::api::{Api, LiveState, Status};
use arb_io::serve::{Server, ServerConfig, ServerError};
use serde_json::Value;

const T0: i64 = 1_796_180_400_000_000_000;
const MS: i64 = 1_000_000;

struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
    }
}

/// BTC on Binance and OKX with 100 quotes each (OKX 0.5 % higher), ETH on Binance only.
fn state() -> Arc<LiveState> {
    state_with(true, Vec::new())
}

fn state_with(ranked: bool, analysis_dirs: Vec<std::path::PathBuf>) -> Arc<LiveState> {
    let mut r = SymbolRegistry::new();
    r.insert(Exchange::Binance, "BTCUSDT", "BTC", "USDT")
        .unwrap();
    r.insert(Exchange::Okx, "BTC-USDT", "BTC", "USDT").unwrap();
    r.insert(Exchange::Binance, "ETHUSDT", "ETH", "USDT")
        .unwrap();
    let registry = Arc::new(r);
    let history = Arc::new(HistoryStore::new(
        &registry,
        HistoryConfig {
            buckets: 600,
            bucket_ns: 1_000_000_000,
            raw_points: 1000,
        },
    ));
    let btc = SymbolId(0);
    for (ex, mult) in [(Exchange::Binance, 1.0), (Exchange::Okx, 1.005)] {
        let s = history.series_of(btc, ex).unwrap();
        let mut c = SeriesCursor::EMPTY;
        for i in 0..100 {
            let bid = (100.0 + f64::from(i) * 0.01) * mult;
            history.append(s, &mut c, T0 + i64::from(i) * 100 * MS, bid, bid + 0.01);
        }
    }
    let ranking = Arc::new(RankingBoard::new(8));
    if ranked {
        ranking.publish(T0 + 99 * 100 * MS, &[(btc, 0.49)]);
    }
    Arc::new(LiveState {
        registry,
        history,
        ranking,
        stale_after_ns: 5_000_000_000,
        started_wall_ns: arb_engine::clock::wall_ns(),
        status: Mutex::new(Status::default()),
        store_root: None,
        analysis_dirs,
    })
}

fn serve(config: ServerConfig) -> Running {
    serve_state(config, state())
}

fn serve_state(config: ServerConfig, st: Arc<LiveState>) -> Running {
    let mut server = Server::bind(
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..config
        },
        Api::new(st),
    )
    .unwrap();
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = Arc::clone(&stop);
    let handle = std::thread::spawn(move || server.run(&s2).unwrap());
    Running {
        addr,
        stop,
        handle: Some(handle),
    }
}

/// Sends raw bytes, reads until the server closes; returns (status, body).
fn raw(addr: SocketAddr, bytes: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    split(&out)
}

fn split(resp: &str) -> (u16, String) {
    let status = resp.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = resp
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (status, body) = raw(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[test]
fn routes_answer_json_with_the_right_status() {
    let srv = serve(ServerConfig::default());
    let (s, v) = get(srv.addr, "/api/health");
    assert_eq!(s, 200);
    assert_eq!(v["status"], "healthy");
    let (s, v) = get(srv.addr, "/api/symbols");
    assert_eq!(s, 200);
    assert_eq!(v[0]["symbol"], "BTC_USDT");
    assert_eq!(v[0]["exchanges"], serde_json::json!(["Binance", "OKX"]));
    let (s, v) = get(srv.addr, "/api/nope");
    assert_eq!(
        (s, v["error"].as_str().unwrap()),
        (404, "no route /api/nope")
    );
    let (s, v) = get(srv.addr, "/api/opportunities?limit=zero");
    assert_eq!(s, 400);
    assert!(v["error"].as_str().unwrap().contains("limit"));
    let (s, _) = get(srv.addr, "/api/window?symbol=BTC_USDT&exchange1=binance");
    assert_eq!(s, 400);
    let (s, v) = get(
        srv.addr,
        "/api/window?symbol=ETH_USDT&exchange1=binance&exchange2=okx",
    );
    assert_eq!(s, 404, "{v}");
    let (s, _) = get(
        srv.addr,
        "/api/window?symbol=BTC_USDT&exchange1=kraken&exchange2=okx",
    );
    assert_eq!(s, 400);
    let (s, body) = raw(
        srv.addr,
        b"DELETE /api/health HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(s, 405, "{body}");
    let (s, body) = raw(
        srv.addr,
        b"GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(s, 200);
    assert!(body.contains("# TYPE arb_events_total counter"), "{body}");
}

#[test]
fn the_chart_and_ranking_equal_what_history_and_board_hold() {
    let srv = serve(ServerConfig::default());
    let (s, v) = get(
        srv.addr,
        "/api/window?symbol=btc/usdt&exchange1=OKX&exchange2=Binance&minutes=60",
    );
    assert_eq!(s, 200, "{v}");
    // Alphabetical pair whatever order was asked.
    assert_eq!(
        (v["exchange1"].as_str(), v["exchange2"].as_str()),
        (Some("Binance"), Some("OKX"))
    );
    let st = state();
    let mut reader = PairReader::default();
    let want = reader
        .read(
            &st.history,
            &PairQuery::new(
                SymbolId(0),
                VenuePair::new(Exchange::Binance, Exchange::Okx).unwrap(),
                Horizon::Raw,
            ),
        )
        .unwrap()
        .clone();
    let spreads: Vec<f64> = v["spreads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    // serde_json parses floats to within an ulp (no float_roundtrip feature).
    assert_eq!(spreads.len(), want.dev_pct.len());
    for (g, w) in spreads.iter().zip(&want.dev_pct) {
        assert!((g - w).abs() <= 1e-14, "{g} vs {w}");
    }
    assert_eq!(v["timestamps"].as_array().unwrap().len(), want.ts_ns.len());
    assert_eq!(v["timestamps"][0].as_f64().unwrap(), (T0 / MS) as f64 / 1e3);
    assert_eq!(v["upperBand"].as_array().unwrap().len(), want.ts_ns.len());

    let (s, v) = get(srv.addr, "/api/opportunities?limit=5");
    assert_eq!(s, 200);
    let o = &v["opportunities"][0];
    assert_eq!(o["symbol"], "BTC_USDT");
    // OKX bids 0.5 % above Binance: buy on Binance, sell on OKX.
    assert_eq!(
        (o["buy"].as_str(), o["sell"].as_str()),
        (Some("Binance"), Some("OKX"))
    );
    let exec = o["exec_spread"].as_f64().unwrap();
    assert!((exec - 0.49).abs() < 0.01, "{o}");
    let (_, v) = get(srv.addr, "/api/opportunities?min_spread=1");
    assert_eq!(v["opportunities"].as_array().unwrap().len(), 0);
    let (_, v) = get(srv.addr, "/api/opportunities?exchange=bybit");
    assert_eq!(v["opportunities"].as_array().unwrap().len(), 0);
    let (s, body) = raw(
        srv.addr,
        b"GET /api/rolling_window_data HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(s, 200);
    let line: Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(line["symbol"], "BTC_USDT");
    assert!(line.get("upperBand").is_some() && line.get("lowerBand").is_some());
}

#[test]
fn keep_alive_and_pipelined_requests_share_a_connection() {
    let srv = serve(ServerConfig::default());
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /api/health HTTP/1.1\r\n\r\nGET /api/nope HTTP/1.1\r\n\r\nGET /api/health HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let statuses: Vec<&str> = out.matches("HTTP/1.1 ").map(|_| "").collect();
    assert_eq!(statuses.len(), 3, "{out}");
    assert!(out.contains("404 Not Found"));
}

#[test]
fn limits_are_clear_errors() {
    let srv = serve(ServerConfig {
        max_request_bytes: 256,
        request_timeout_ms: 300,
        max_connections: 3,
        ..ServerConfig::default()
    });
    // Head too large.
    let big = format!(
        "GET /api/health HTTP/1.1\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(400)
    );
    let (s, body) = raw(srv.addr, big.as_bytes());
    assert_eq!(s, 431, "{body}");
    assert!(body.contains("larger than 256 bytes"));
    // A body.
    let (s, body) = raw(
        srv.addr,
        b"GET /api/health HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
    );
    assert_eq!(s, 413, "{body}");
    // Garbage.
    let (s, _) = raw(srv.addr, b"\x16\x03\x01 hello\r\n\r\n");
    assert_eq!(s, 400);
    // Never completed: 408 after the timeout, then closed.
    let (s, body) = raw(srv.addr, b"GET /api/health HTTP/1.1\r\nHost: x\r\n");
    assert_eq!(s, 408, "{body}");
    // Connection limit: three open, the fourth is refused with a reason.
    let held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let s = TcpStream::connect(srv.addr).unwrap();
            s.set_nodelay(true).unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (s, body) = raw(srv.addr, b"GET /api/health HTTP/1.1\r\n\r\n");
    assert_eq!(s, 503, "{body}");
    assert!(body.contains("too many connections"));
    drop(held);
}

#[test]
fn token_and_origin_rules() {
    let srv = serve(ServerConfig {
        token: Some("s3cret".into()),
        allowed_origins: vec!["http://dash.local".into()],
        ..ServerConfig::default()
    });
    let (s, _) = get(srv.addr, "/api/health");
    assert_eq!(s, 401);
    let (s, _) = get(srv.addr, "/api/health?token=s3cret");
    assert_eq!(s, 200);
    let (s, _) = raw(
        srv.addr,
        b"GET /api/health HTTP/1.1\r\nAuthorization: Bearer s3cret\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(s, 200);
    let (s, body) = raw(
        srv.addr,
        b"GET /api/health?token=s3cret HTTP/1.1\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(s, 403, "{body}");
    // A non-loopback address needs the opt-in and a token.
    let err = Server::bind(
        ServerConfig {
            listen: "0.0.0.0:0".parse().unwrap(),
            ..ServerConfig::default()
        },
        Api::new(state()),
    )
    .unwrap_err();
    assert!(matches!(err, ServerError::Remote(_)), "{err}");
}

#[test]
fn the_legacy_chart_stream_sends_chart_objects_of_the_top_pairs() {
    let srv = serve(ServerConfig::default());
    let stream = TcpStream::connect(srv.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (mut ws, _) =
        tungstenite::client(format!("ws://{}/ws/realtime_charts", srv.addr), stream).unwrap();
    let chart: Value = loop {
        if let tungstenite::Message::Text(t) = ws.read().unwrap() {
            break serde_json::from_str(t.as_str()).unwrap();
        }
    };
    assert_eq!(chart["symbol"], "BTC_USDT");
    assert_eq!(chart["exchange1"], "Binance");
    assert_eq!(chart["exchange2"], "OKX");
    let n = chart["timestamps"].as_array().unwrap().len();
    assert!(n > 0);
    for k in ["spreads", "upperBand", "lowerBand"] {
        assert_eq!(chart[k].as_array().unwrap().len(), n, "{k}");
    }
    // And a plain GET there is a clear error, not a hang.
    let (s, body) = raw(
        srv.addr,
        b"GET /ws/realtime_charts HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(s, 400, "{body}");
}

#[test]
fn the_chart_stream_shows_the_analysis_csv_pairs_when_there_is_one() {
    let dir = std::env::temp_dir().join(format!("arb-analysis-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Two files: the newer one (by the time in its name) counts. Nothing is ranked live.
    std::fs::write(
        dir.join("summary_stats_20261201_000000.csv"),
        "symbol,exchange1,exchange2,opportunity_cycles_040bp\nETH_USDT,Binance,OKX,99\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("summary_stats_20261202_000000.csv"),
        "symbol,exchange1,exchange2,opportunity_cycles_040bp\nBTC_USDT,OKX,Binance,10\nBTC_USDT,Binance,OKX,41\n",
    )
    .unwrap();
    let srv = serve_state(
        ServerConfig::default(),
        state_with(false, vec![dir.clone()]),
    );
    let stream = TcpStream::connect(srv.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (mut ws, _) =
        tungstenite::client(format!("ws://{}/ws/realtime_charts", srv.addr), stream).unwrap();
    let chart: Value = loop {
        if let tungstenite::Message::Text(t) = ws.read().unwrap() {
            break serde_json::from_str(t.as_str()).unwrap();
        }
    };
    assert_eq!(chart["symbol"], "BTC_USDT");
    assert_eq!(chart["exchange2"], "OKX");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_live_chart_carries_the_pairs_recent_signals() {
    use arb_engine::ring::{Envelope, RingBuffer};
    use arb_engine::spread::{CoreOut, Signal, SignalKind};
    use arb_io::serve::publish::Publisher;
    let st = state();
    let (mut tx, rx) = RingBuffer::new(64);
    let publisher = Publisher::new(&st.registry, st.stale_after_ns, Some(rx));
    let mut server = Server::bind_with_feed(
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..ServerConfig::default()
        },
        Api::new(Arc::clone(&st)),
        publisher,
    )
    .unwrap();
    let addr = server.local_addr();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = Arc::clone(&stop);
    let handle = std::thread::spawn(move || server.run(&s2).unwrap());
    let _running = Running {
        addr,
        stop,
        handle: Some(handle),
    };
    let pair = VenuePair::new(Exchange::Binance, Exchange::Okx).unwrap();
    for (i, kind) in [SignalKind::Entry, SignalKind::Exit]
        .into_iter()
        .enumerate()
    {
        tx.push(Envelope {
            item: CoreOut::Signal(Signal {
                ts_ns: T0 + (2 + i as i64) * 1000 * MS,
                symbol: SymbolId(0),
                pair,
                kind,
                dev_pct: -0.49,
            }),
            stamp_ns: 0,
        })
        .unwrap();
    }
    let mut got = Value::Null;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(20));
        let (s, v) = get(
            addr,
            "/api/window?symbol=BTC_USDT&exchange1=binance&exchange2=okx&minutes=60",
        );
        assert_eq!(s, 200);
        if v["signals"].as_array().is_some_and(|a| a.len() == 2) {
            got = v;
            break;
        }
    }
    let sig = &got["signals"];
    assert_eq!(sig[0]["kind"], "Entry", "{got}");
    assert_eq!(sig[1]["kind"], "Exit");
    assert_eq!(
        sig[0]["ts"].as_f64().unwrap(),
        ((T0 + 2000 * MS) / MS) as f64 / 1e3
    );
}
