//! The live client against a small OKX-speaking WebSocket server on loopback: it connects,
//! subscribes, delivers quotes and state events to the core's ring, reconnects after the
//! server drops it, and declares a silent connection dead by its heartbeat timeout.
//! (`tools/tests/live.rs` runs all eight venues end to end against `arb mock-exchange`.)
#![allow(clippy::unwrap_used)]

mod util;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use arb_engine::clock::Stopwatch;
use arb_engine::event::ConnState;
use arb_engine::link::FeedRx;
use arb_engine::{Event, Exchange};
use arb_feeds::feed::FeedStats;
use arb_feeds::live::{Heartbeat, LinkStats, VenueRules};
use tungstenite::Message;

const QUOTE: &str = r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"30236","lastSz":"0.0002","askPx":"30228.7","askSz":"1.5","bidPx":"30228.6","bidSz":"0.2","open24h":"1","high24h":"1","low24h":"1","sodUtc0":"1","sodUtc8":"1","volCcy24h":"1","vol24h":"1","ts":"1652459224956"}]}"#;

/// How the server treats each connection.
#[derive(Clone, Copy)]
struct Behaviour {
    /// Close after this many quotes.
    close_after: Option<usize>,
    /// Go silent (no data, no pongs) after this many quotes.
    silent_after: Option<usize>,
    /// Frames larger than the client's limit, every this many quotes.
    oversize_every: Option<usize>,
    /// On the first connection only: a service-upgrade notice after this many quotes, then
    /// the connection closes 500 ms later (as OKX does).
    notice_after: Option<usize>,
}

/// Serves OKX's subscribe / ping protocol: acks, `pong`, a quote every 5 ms.
fn serve(b: Behaviour) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/okx/ws", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let acc = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let nth = acc.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                let Ok(mut ws) = tungstenite::accept(stream) else {
                    return;
                };
                let sub = ws.read().unwrap();
                assert!(sub.to_text().unwrap().contains(r#""op":"subscribe""#));
                ws.send(Message::text(
                    r#"{"event":"subscribe","arg":{"channel":"bbo-tbt","instId":"BTC-USDT"}}"#,
                ))
                .unwrap();
                ws.get_mut()
                    .set_read_timeout(Some(Duration::from_millis(5)))
                    .unwrap();
                let mut sent = 0;
                let mut closing_at = None;
                loop {
                    if nth == 0 && b.notice_after == Some(sent) && closing_at.is_none() {
                        let notice = r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId":"a4d3ae55"}"#;
                        if ws.send(Message::text(notice)).is_err() {
                            return;
                        }
                        closing_at = Some(Stopwatch::start());
                    }
                    if closing_at
                        .as_ref()
                        .is_some_and(|t| t.elapsed() >= Duration::from_millis(500))
                    {
                        let _ = ws.close(None);
                        let _ = ws.flush();
                        return;
                    }
                    let silent = b.silent_after.is_some_and(|n| sent >= n);
                    match ws.read() {
                        Ok(Message::Text(t)) if t.as_str() == "ping" && !silent => {
                            if ws.send(Message::text("pong")).is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(tungstenite::Error::Io(e))
                            if e.kind() == std::io::ErrorKind::WouldBlock
                                || e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(_) => return,
                    }
                    if b.close_after.is_some_and(|n| sent >= n) {
                        let _ = ws.close(None);
                        let _ = ws.flush();
                        return;
                    }
                    if silent {
                        continue;
                    }
                    let frame = if b.oversize_every.is_some_and(|n| sent % n == n - 1) {
                        format!("{QUOTE}{}", " ".repeat(70_000))
                    } else {
                        QUOTE.to_owned()
                    };
                    if ws.send(Message::text(frame)).is_err() {
                        return;
                    }
                    sent += 1;
                }
            });
        }
    });
    (url, accepted)
}

struct Run {
    rx: FeedRx,
    stats: Arc<LinkStats>,
    feed_stats: Arc<FeedStats>,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

fn start(url: String, tune: impl FnOnce(&mut VenueRules)) -> Run {
    let (mut feed, mut worker, rx, stats, feed_stats) = util::okx_live_feed(url, |r| {
        r.backoff_base_ms = 20;
        r.backoff_cap_ms = 200;
        tune(r);
    });
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    let thread = std::thread::spawn(move || feed.run(&mut worker, &s));
    Run {
        rx,
        stats,
        feed_stats,
        stop,
        thread,
    }
}

/// Pops events for `dur`: (quotes, state events in order).
fn drain(rx: &mut FeedRx, dur: Duration) -> (usize, Vec<ConnState>) {
    let sw = Stopwatch::start();
    let (mut quotes, mut states) = (0, Vec::new());
    while sw.elapsed() < dur {
        match rx.pop() {
            Some(e) => match e.item {
                Event::Quote(_) => quotes += 1,
                Event::Venue(v) => states.push(v.state),
                Event::Trade(_) => {}
            },
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    (quotes, states)
}

fn stop(run: Run) -> (FeedRx, Arc<LinkStats>) {
    run.stop.store(true, Ordering::Relaxed);
    run.thread.join().unwrap();
    (run.rx, run.stats)
}

#[test]
fn connects_subscribes_and_delivers_quotes() {
    let (url, accepted) = serve(Behaviour {
        close_after: None,
        silent_after: None,
        oversize_every: Some(10),
        notice_after: None,
    });
    let mut run = start(url, |r| r.max_frame_bytes = 65_536);
    let (quotes, states) = drain(&mut run.rx, Duration::from_millis(800));
    assert!(quotes > 20, "{quotes} quotes");
    assert_eq!(states, [ConnState::Connected]);
    let v = run.stats.venue(Exchange::Okx);
    assert_eq!(v.state().as_str(), "connected");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    assert!(
        v.oversize_frames.load(Ordering::Relaxed) >= 1,
        "oversize frames counted"
    );
    assert_eq!(
        v.reconnects.load(Ordering::Relaxed),
        0,
        "an oversize frame costs no reconnect"
    );
    assert!(run.feed_stats.decode_errors_total() >= 1);
    let (mut rx, stats) = stop(run);
    let (_, states) = drain(&mut rx, Duration::from_millis(50));
    assert_eq!(states, [ConnState::Disconnected], "shutdown tells the core");
    assert_eq!(stats.venue(Exchange::Okx).state().as_str(), "down");
}

#[test]
fn reconnects_after_every_drop_and_resubscribes() {
    let (url, accepted) = serve(Behaviour {
        close_after: Some(20),
        silent_after: None,
        oversize_every: None,
        notice_after: None,
    });
    let mut run = start(url, |_| {});
    let (quotes, states) = drain(&mut run.rx, Duration::from_millis(2_000));
    let n = accepted.load(Ordering::SeqCst);
    assert!(n >= 4, "{n} connections");
    assert!(
        quotes >= 20 * (n - 1),
        "{quotes} quotes over {n} connections"
    );
    assert_eq!(states[0], ConnState::Connected);
    assert!(
        states[1..]
            .chunks(2)
            .all(|c| c[0] == ConnState::Disconnected
                && c.get(1).is_none_or(|&s| s == ConnState::Resubscribed))
    );
    let v = run.stats.venue(Exchange::Okx);
    assert!(v.reconnects.load(Ordering::Relaxed) >= 3);
    stop(run);
}

#[test]
fn a_silent_connection_dies_by_its_heartbeat_timeout() {
    let (url, accepted) = serve(Behaviour {
        close_after: None,
        silent_after: Some(10),
        oversize_every: None,
        notice_after: None,
    });
    let mut run = start(url, |r| {
        r.heartbeat = Heartbeat::ClientPings { interval_ms: 100 };
        r.silence_timeout_ms = 300;
    });
    let (_, states) = drain(&mut run.rx, Duration::from_millis(1_500));
    let v = run.stats.venue(Exchange::Okx);
    let timeouts = v.heartbeat_timeouts.load(Ordering::Relaxed);
    assert!(timeouts >= 2, "{timeouts} heartbeat timeouts");
    assert!(accepted.load(Ordering::SeqCst) >= 3);
    assert!(states.contains(&ConnState::Disconnected));
    stop(run);
}

#[test]
fn the_attempt_budget_holds_in_a_refusal_storm() {
    // Nothing listens: every attempt is refused at once.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut run = start(format!("ws://127.0.0.1:{port}/x"), |r| {
        r.backoff_base_ms = 1;
        r.backoff_cap_ms = 1;
        r.connect_budget = 5;
        r.connect_window_ms = 60_000;
    });
    drain(&mut run.rx, Duration::from_millis(500));
    let v = run.stats.venue(Exchange::Okx);
    assert_eq!(v.connect_attempts.load(Ordering::Relaxed), 5);
    assert!(v.budget_waits.load(Ordering::Relaxed) >= 1);
    assert_eq!(v.state().as_str(), "down");
    stop(run);
}

/// A service-upgrade notice opens a replacement connection that subscribes and streams
/// before the old one is closed: no reconnect, no moment without a streaming connection.
#[test]
fn a_shutdown_notice_replaces_the_connection_before_it_closes() {
    let (url, accepted) = serve(Behaviour {
        close_after: None,
        silent_after: None,
        oversize_every: None,
        notice_after: Some(30),
    });
    let mut run = start(url, |_| {});
    let (mut quotes, mut states) = drain(&mut run.rx, Duration::from_millis(1_500));
    // On a loaded machine (tests in parallel on two vCPUs) the stream can be slower: up to
    // 10 s more to pass 100 quotes, on the same connections.
    for _ in 0..20 {
        if quotes > 100 {
            break;
        }
        let (q, s) = drain(&mut run.rx, Duration::from_millis(500));
        quotes += q;
        states.extend(s);
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "one replacement connection"
    );
    assert!(quotes > 100, "{quotes}");
    // The new connection (id 1) is announced before the old one (id 0) is dropped.
    assert_eq!(
        states,
        [
            ConnState::Connected,
            ConnState::Connected,
            ConnState::Disconnected
        ]
    );
    let v = run.stats.venue(Exchange::Okx);
    assert_eq!(v.replacements.load(Ordering::Relaxed), 1);
    assert_eq!(v.reconnects.load(Ordering::Relaxed), 0);
    assert_eq!(v.state().as_str(), "connected");
    stop(run);
}
