//! The WebSocket streams over real sockets: subscribe and receive typed updates for the
//! symbols asked for only, bad requests answered without a disconnect, updates of one key
//! between two publish ticks conflated to the latest, a client that does not answer pings
//! closed and counted, a client reading behind through its kernel buffer closed as too slow
//! while a fast one stays, a client that stops reading reset rather than left to read a
//! stale backlog, a blocked client's backlog kept (conflated) in its queue until it is
//! closed as too slow, an over-long message refused.
#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use arb_engine::history::{HistoryConfig, HistoryStore};
use arb_engine::ranking::RankingBoard;
use arb_engine::ring::{Envelope, Producer, RingBuffer};
use arb_engine::spread::{CoreOut, QuoteUpdate};
use arb_engine::{Exchange, Quote, SymbolId, SymbolRegistry};
use arb_io::serve::api::{Api, LiveState, Status};
use arb_io::serve::publish::Publisher;
use arb_io::serve::ws::WsLimits;
use arb_io::serve::{Server, ServerConfig, ServerStats};
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

const T0: i64 = 1_796_180_400_000_000_000;

struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    stats: Arc<ServerStats>,
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

fn registry() -> Arc<SymbolRegistry> {
    let mut r = SymbolRegistry::new();
    for (n, b) in [("BTCUSDT", "BTC"), ("ETHUSDT", "ETH")] {
        r.insert(Exchange::Binance, n, b, "USDT").unwrap();
        r.insert(Exchange::Bybit, n, b, "USDT").unwrap();
    }
    Arc::new(r)
}

fn serve(config: ServerConfig) -> (Running, Producer<Envelope<CoreOut>>) {
    let registry = registry();
    let history = Arc::new(HistoryStore::new(&registry, HistoryConfig::default()));
    let state = Arc::new(LiveState {
        registry: Arc::clone(&registry),
        history,
        ranking: Arc::new(RankingBoard::new(8)),
        stale_after_ns: 5_000_000_000,
        started_wall_ns: 0,
        status: Mutex::new(Status::default()),
        store_root: None,
        analysis_dirs: Vec::new(),
    });
    let (tx, rx) = RingBuffer::new(1 << 14);
    let publisher = Publisher::new(&registry, 5_000_000_000, Some(rx));
    let mut server = Server::bind_with_feed(
        ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..config
        },
        Api::new(state),
        publisher,
    )
    .unwrap();
    let addr = server.local_addr();
    let stats = server.stats();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = Arc::clone(&stop);
    let handle = std::thread::spawn(move || server.run(&s2).unwrap());
    (
        Running {
            addr,
            stop,
            stats,
            handle: Some(handle),
        },
        tx,
    )
}

fn connect(addr: SocketAddr) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (ws, resp) = tungstenite::client(format!("ws://{addr}/ws"), stream).unwrap();
    assert_eq!(resp.status(), 101);
    ws
}

fn send(ws: &mut WebSocket<TcpStream>, v: &Value) {
    ws.send(Message::Text(v.to_string().into())).unwrap();
}

/// The next text message as JSON (pings are answered by tungstenite itself).
fn next(ws: &mut WebSocket<TcpStream>) -> Value {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

fn quote(sym: u32, ex: Exchange, bid: f64, ts: i64) -> Envelope<CoreOut> {
    Envelope {
        item: CoreOut::Quote(QuoteUpdate {
            quote: Quote {
                symbol: SymbolId(sym),
                exchange: ex,
                conn_id: 0,
                bid_px: bid,
                bid_qty: 1.0,
                ask_px: bid + 0.5,
                ask_qty: 2.0,
                exch_ts_ns: 0,
                recv_ts_ns: ts,
            },
            own_spread_pct: 0.0,
            history_ts_ns: ts,
        }),
        stamp_ns: 0,
    }
}

#[test]
fn subscribers_get_typed_updates_for_their_symbols_only_conflated_per_tick() {
    let (srv, mut tx) = serve(ServerConfig {
        publish_interval_ms: 200,
        ..ServerConfig::default()
    });
    let mut ws = connect(srv.addr);
    send(
        &mut ws,
        &json!({"op": "subscribe", "channels": ["quotes", "spreads"], "symbols": ["btc/usdt", "NOPE_USDT"]}),
    );
    let r = next(&mut ws);
    assert_eq!(r["type"], "subscribed", "{r}");
    assert_eq!(r["symbols"], json!(["BTC_USDT"]));
    assert_eq!(r["unknown"], json!(["NOPE_USDT"]));
    // 500 Binance quotes for BTC inside one tick, one for ETH (not subscribed), one Bybit.
    for i in 0..500 {
        tx.push(quote(
            0,
            Exchange::Binance,
            100.0 + f64::from(i),
            T0 + i64::from(i),
        ))
        .unwrap();
    }
    tx.push(quote(1, Exchange::Binance, 5.0, T0 + 600)).unwrap();
    tx.push(quote(0, Exchange::Bybit, 700.0, T0 + 700)).unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(next(&mut ws));
    }
    let quotes: Vec<&Value> = got.iter().filter(|m| m["type"] == "quote").collect();
    let spreads: Vec<&Value> = got.iter().filter(|m| m["type"] == "spread").collect();
    assert_eq!(quotes.len(), 2, "{got:?}");
    assert_eq!(spreads.len(), 1, "{got:?}");
    let binance = quotes.iter().find(|q| q["exchange"] == "Binance").unwrap();
    // Conflated to the latest of the 500.
    assert_eq!(binance["bid"], 599.0);
    assert_eq!(binance["symbol"], "BTC_USDT");
    assert_eq!(spreads[0]["exchange1"], "Binance");
    assert_eq!(spreads[0]["exchange2"], "Bybit");
    assert!(got.iter().all(|m| m["symbol"] == "BTC_USDT"));
    drop(ws);
}

#[test]
fn bad_requests_get_errors_and_the_connection_stays() {
    let (srv, _tx) = serve(ServerConfig::default());
    let mut ws = connect(srv.addr);
    for (msg, needle) in [
        ("not json", "not JSON"),
        (r#"{"op":"dance"}"#, "unknown op"),
        (
            r#"{"op":"subscribe","channels":["nope"],"symbols":["BTC_USDT"]}"#,
            "unknown channel",
        ),
        (
            r#"{"op":"subscribe","channels":["quotes"]}"#,
            "at least one known symbol",
        ),
        (
            r#"{"op":"subscribe","channels":"quotes"}"#,
            "list of strings",
        ),
    ] {
        ws.send(Message::Text(msg.into())).unwrap();
        let r = next(&mut ws);
        assert_eq!(r["type"], "error", "{msg}: {r}");
        assert!(r["error"].as_str().unwrap().contains(needle), "{msg}: {r}");
    }
    send(&mut ws, &json!({"op": "ping"}));
    assert_eq!(next(&mut ws)["type"], "pong");
    // Opportunities need no symbol.
    send(
        &mut ws,
        &json!({"op": "subscribe", "channels": ["opportunities"]}),
    );
    assert_eq!(next(&mut ws)["type"], "subscribed");
    assert_eq!(next(&mut ws)["type"], "opportunities");
}

#[test]
fn a_client_that_ignores_pings_is_closed_and_counted() {
    let (srv, _tx) = serve(ServerConfig {
        ws: WsLimits {
            ping_interval_ms: 100,
            pong_timeout_ms: 300,
            ..WsLimits::default()
        },
        ..ServerConfig::default()
    });
    // Handshake, then never read (so never answer a ping).
    let ws = connect(srv.addr);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(srv.stats.ws_ping_closed.load(Ordering::Relaxed), 1);
    assert_eq!(srv.stats.ws_clients.load(Ordering::Relaxed), 0);
    drop(ws);
}

#[test]
fn a_client_reading_behind_in_its_own_kernel_buffer_is_closed_as_too_slow() {
    // The slow client's backlog sits in the kernels' socket buffers, not in the server's
    // queue (which stays empty): only the ping's round trip can see it.
    let (srv, mut tx) = serve(ServerConfig {
        ws: WsLimits {
            ping_interval_ms: 100,
            pong_timeout_ms: 30_000,
            max_behind_ms: 1_000,
            ..WsLimits::default()
        },
        ..ServerConfig::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    // One BTC quote every 5 ms: a message per 25 ms tick per client, ~40 a second.
    let feeder = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut i = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let _ = tx.push(quote(
                    0,
                    Exchange::Binance,
                    100.0 + (i % 1000) as f64,
                    T0 + i,
                ));
                i += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let subscribe = json!({"op": "subscribe", "channels": ["quotes"], "symbols": ["BTC_USDT"]});
    let mut fast = connect(srv.addr);
    send(&mut fast, &subscribe);
    let mut slow = connect(srv.addr);
    send(&mut slow, &subscribe);
    // The fast client reads everything, answering pings as it goes.
    let fast_reader = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                match fast.read() {
                    Ok(Message::Text(_)) => n += 1,
                    Ok(Message::Close(c)) => panic!("the fast client was closed: {c:?}"),
                    Ok(_) => {}
                    Err(e) => panic!("fast client: {e}"),
                }
                let _ = fast.flush();
            }
            n
        })
    };
    // The slow one reads a message every 100 ms (a quarter of the rate): it answers each
    // ping, later and later.
    read_slowly_until(&mut slow, || {
        srv.stats.ws_slow_closed.load(Ordering::Relaxed) > 0
    });
    // What its own buffer holds (its window was open: the close frame with the reason
    // got in behind the backlog), then the reset.
    let end = loop {
        match slow.read() {
            Ok(Message::Close(c)) => {
                let c = c.unwrap();
                assert_eq!(u16::from(c.code), 1008, "{c:?}");
                assert!(c.reason.contains("behind"), "{c:?}");
            }
            Ok(_) => {}
            Err(e) => break e.to_string(),
        }
    };
    assert!(end.contains("reset") || end.contains("closed"), "{end}");
    assert_eq!(srv.stats.ws_ping_closed.load(Ordering::Relaxed), 0);
    // The fast client stayed, and reads close to the stream.
    assert_eq!(srv.stats.ws_clients.load(Ordering::Relaxed), 1);
    std::thread::sleep(Duration::from_millis(300));
    let lag = srv.stats.ws_lag_max_ms.load(Ordering::Relaxed);
    assert!(lag < 1_000, "the fast client's lag {lag} ms");
    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
    assert!(fast_reader.join().unwrap() > 10);
}

/// Reads a message every 100 ms (answering pings as it goes) until `done`; fails if the
/// connection closes first or 20 s pass.
fn read_slowly_until(ws: &mut WebSocket<TcpStream>, done: impl Fn() -> bool) {
    let deadline = arb_engine::clock::mono_ns() + 20_000_000_000;
    while !done() {
        assert!(
            arb_engine::clock::mono_ns() < deadline,
            "the server did not close the slow reader in 20 s"
        );
        match ws.read() {
            Ok(Message::Close(c)) => panic!("closed before being counted: {c:?}"),
            Ok(_) => {}
            Err(e) => panic!("slow reader: {e}"),
        }
        let _ = ws.flush();
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Quotes for two symbols on two venues every 2 ms (~6 keys a publish tick, ~50 KB/s to a
/// client subscribed to both), until `stop`.
fn feed_two_symbols(mut tx: Producer<Envelope<CoreOut>>, stop: &Arc<AtomicBool>) -> JoinHandle<()> {
    let stop = Arc::clone(stop);
    std::thread::spawn(move || {
        let mut i = 0i64;
        while !stop.load(Ordering::Relaxed) {
            for (sym, ex) in [
                (0, Exchange::Binance),
                (0, Exchange::Bybit),
                (1, Exchange::Binance),
                (1, Exchange::Bybit),
            ] {
                let bid = 100.0 + (i % 1000) as f64 + f64::from(sym) * 7.0;
                let _ = tx.push(quote(sym, ex, bid, T0 + i));
            }
            i += 1;
            std::thread::sleep(Duration::from_millis(2));
        }
    })
}

/// A client with a 4 KiB kernel receive buffer, subscribed to both symbols' quotes and
/// spreads.
fn small_buffer_client(addr: SocketAddr) -> WebSocket<TcpStream> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&addr.into()).unwrap();
    let stream: TcpStream = sock.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (mut ws, _) = tungstenite::client(format!("ws://{addr}/ws"), stream).unwrap();
    send(
        &mut ws,
        &json!({"op": "subscribe", "channels": ["quotes", "spreads"], "symbols": ["BTC_USDT", "ETH_USDT"]}),
    );
    ws
}

/// `limits` with no pings and no lag limit: only what a test does ends its clients.
fn without_pings(limits: WsLimits) -> WsLimits {
    WsLimits {
        ping_interval_ms: 600_000,
        pong_timeout_ms: 600_000,
        max_behind_ms: 600_000,
        ..limits
    }
}

/// Reads what is left after `after`: fewer than 200 messages (the client's own small
/// buffer, never the server's backlog), then a reset, not a close frame.
fn assert_reset_after_little_stale(ws: &mut WebSocket<TcpStream>, after: &str) {
    let (stale, end) = read_to_end(ws);
    assert!(
        stale < 200,
        "read {stale} stale messages after {after}, then {end}"
    );
    assert!(!end.contains("close frame"), "{end}");
}

/// Reads until the connection ends: the text messages read, and how it ended (`close
/// frame …` or the error).
fn read_to_end(ws: &mut WebSocket<TcpStream>) -> (usize, String) {
    let mut read = 0;
    loop {
        match ws.read() {
            Ok(Message::Text(_)) => read += 1,
            Ok(Message::Close(c)) => return (read, format!("close frame {c:?}")),
            Ok(_) => {}
            Err(e) => return (read, e.to_string()),
        }
    }
}

#[test]
fn a_client_too_slow_to_reach_the_close_frame_is_reset_not_left_reading_a_stale_backlog() {
    let (srv, tx) = serve(ServerConfig {
        ws: WsLimits {
            ping_interval_ms: 100,
            pong_timeout_ms: 3_000,
            max_behind_ms: 2_000,
            ..WsLimits::default()
        },
        ..ServerConfig::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed_two_symbols(tx, &stop);
    // A client with a 4 KiB receive buffer that subscribes, then reads a message every
    // 100 ms (answering pings, so the server has nothing unread from it): the server's
    // send buffer fills and the close frame cannot leave.
    let mut ws = small_buffer_client(srv.addr);
    read_slowly_until(&mut ws, || {
        srv.stats.ws_ping_closed.load(Ordering::Relaxed)
            + srv.stats.ws_slow_closed.load(Ordering::Relaxed)
            > 0
    });
    std::thread::sleep(Duration::from_millis(200));
    // What is left to read: what sat in the client's own small buffer (up to ~60
    // messages seen under load), never the server's 64 KiB of backlog (a plain close
    // delivered it all, ~500 messages, then the close frame; tried).
    assert_reset_after_little_stale(&mut ws, "the close");
    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
}

#[test]
fn a_stopping_server_resets_a_client_left_behind_and_says_goodbye_to_one_reading_along() {
    // No pings and no lag limit: only the stop ends these clients.
    let (srv, tx) = serve(ServerConfig {
        ws: without_pings(WsLimits::default()),
        ..ServerConfig::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed_two_symbols(tx, &stop);
    let mut behind = small_buffer_client(srv.addr);
    let mut along = connect(srv.addr);
    send(
        &mut along,
        &json!({"op": "subscribe", "channels": ["quotes", "spreads"], "symbols": ["BTC_USDT", "ETH_USDT"]}),
    );
    let reader = std::thread::spawn(move || read_to_end(&mut along));
    // ~50 KB/s: the behind client's 4 KiB and the server's 64 KiB fill within 1.5 s.
    std::thread::sleep(Duration::from_secs(3));
    drop(srv);
    let (read, end) = reader.join().unwrap();
    assert!(read > 100, "the reading client got {read} messages");
    assert!(
        end.contains("code: Away"),
        "the reading client's end: {end}"
    );
    // What is left for the one behind: its own small buffer, never the server's backlog
    // (a plain close delivered ~500 messages, then the FIN; tried).
    assert_reset_after_little_stale(&mut behind, "the server stopped");
    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
}

#[test]
fn a_stopping_server_resets_a_client_whose_window_is_full_though_its_socket_takes_writes() {
    // The server's send buffer is big enough that ~3 s of frames never block it: the one
    // sign of the client being behind is the bytes the kernel holds unsent for want of
    // its window. No pings, so no lag figure either (a client that connected after the
    // last ping looks the same).
    let (srv, tx) = serve(ServerConfig {
        ws: without_pings(WsLimits {
            socket_send_buffer: 4 << 20,
            ..WsLimits::default()
        }),
        ..ServerConfig::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed_two_symbols(tx, &stop);
    let mut behind = small_buffer_client(srv.addr);
    std::thread::sleep(Duration::from_secs(3));
    drop(srv);
    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
    // A FIN would come after the server's whole unsent backlog (~700 messages, tried).
    assert_reset_after_little_stale(&mut behind, "the server stopped");
}

#[test]
fn a_blocked_client_backlog_conflates_in_its_queue_and_it_is_closed_as_too_slow() {
    // The WebSocket's own write buffer is small here (4 batches of 4 KiB): were a blocked
    // client written every tick, its backlog would pile up there (unconflated, unseen by
    // the queue's limits) and overflow it within a second, ending as an error.
    let (srv, tx) = serve(ServerConfig {
        ws: WsLimits {
            ping_interval_ms: 60_000,
            pong_timeout_ms: 60_000,
            max_behind_ms: 1_500,
            batch_bytes: 4096,
            ..WsLimits::default()
        },
        ..ServerConfig::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed_two_symbols(tx, &stop);
    let ws = small_buffer_client(srv.addr);
    // Never read again.
    let deadline = arb_engine::clock::mono_ns() + 20_000_000_000;
    while srv.stats.ws_clients.load(Ordering::Relaxed) > 0 {
        assert!(
            arb_engine::clock::mono_ns() < deadline,
            "not closed in 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(srv.stats.ws_slow_closed.load(Ordering::Relaxed), 1);
    assert!(srv.stats.ws_conflated.load(Ordering::Relaxed) > 0);
    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
    drop(ws);
}

#[test]
fn an_over_long_message_closes_with_a_reason() {
    let (srv, _tx) = serve(ServerConfig {
        ws: WsLimits {
            max_message_bytes: 1024,
            ..WsLimits::default()
        },
        ..ServerConfig::default()
    });
    let mut ws = connect(srv.addr);
    let _ = ws.send(Message::Text("x".repeat(4096).into()));
    let closed = loop {
        match ws.read() {
            Ok(Message::Close(c)) => break c,
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    };
    let c = closed.unwrap();
    assert_eq!(u16::from(c.code), 1009, "{c:?}");
}

#[test]
fn the_legacy_bus_on_root_sends_symbol_info_then_pascal_case_updates() {
    let (srv, mut tx) = serve(ServerConfig::default());
    let stream = TcpStream::connect(srv.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let (mut ws, _) = tungstenite::client(format!("ws://{}/", srv.addr), stream).unwrap();
    let info = next(&mut ws);
    assert_eq!(info["MessageType"], "AllSymbolInfo");
    let payload = info["Payload"].as_array().unwrap();
    assert_eq!(payload.len(), 4, "{info}");
    assert!(
        payload
            .iter()
            .any(|p| p["Exchange"] == "Bybit" && p["Name"] == "ETH_USDT")
    );
    // 2026-12-02T03:00:00.250Z
    tx.push(quote(1, Exchange::Bybit, 10.0, T0 + 250_000_000))
        .unwrap();
    let m = next(&mut ws);
    assert_eq!(m["MessageType"], "Spread", "{m}");
    let p = &m["Payload"];
    assert_eq!(p["Exchange"], "Bybit");
    assert_eq!(p["Symbol"], "ETH_USDT");
    assert_eq!(p["BestBid"], 10.0);
    assert_eq!(p["BestAsk"], 10.5);
    assert_eq!(p["Timestamp"], "2026-12-02T03:00:00.250Z");
    let sp = p["SpreadPercentage"].as_f64().unwrap();
    assert!((sp - 0.5 / 10.5 * 100.0).abs() < 1e-12);
}
