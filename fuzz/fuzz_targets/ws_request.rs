//! Fuzz target: the WebSocket subscribe handler's parser (`arb_io::serve::ws::
//! parse_request`) takes any UTF-8 text without panicking. An accepted subscribe or
//! unsubscribe names at least one channel, every one a known channel, and as many channels
//! and symbols as the message's lists hold; written back as JSON it parses to the same
//! request. Every symbol goes through `names::parse_symbol`, as the handler does before
//! the registry lookup: a symbol it accepts is `BASE_QUOTE` in upper case, and parsing that
//! again gives it back.
//!
//! The parser has no symbol-count bound of its own: `WsLimits::max_symbols` is applied by
//! the server when it merges the request into the client's `Subscriptions` (a method of
//! the server that needs a live socket slot, not reachable here), and
//! `WsLimits::max_message_bytes` by tungstenite before the text reaches the parser.
#![no_main]

use arb_io::names::parse_symbol;
use arb_io::serve::publish::Channel;
use arb_io::serve::ws::{Request, parse_request};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let request = match parse_request(text) {
        Ok(r) => r,
        Err(e) => {
            assert!(!e.is_empty());
            return;
        }
    };
    let v: Value = serde_json::from_str(text).expect("an accepted request is JSON");
    let op = v["op"].as_str().expect("an accepted request has an op");
    let (channels, symbols) = match &request {
        Request::Ping => {
            assert_eq!(op, "ping");
            return;
        }
        Request::Subscribe(c, s) => {
            assert_eq!(op, "subscribe");
            (c, s)
        }
        Request::Unsubscribe(c, s) => {
            assert_eq!(op, "unsubscribe");
            (c, s)
        }
    };
    assert!(!channels.is_empty());
    assert_eq!(v["channels"].as_array().map(Vec::len), Some(channels.len()));
    assert_eq!(
        v.get("symbols")
            .map_or(0, |s| s.as_array().map_or(0, Vec::len)),
        symbols.len()
    );
    for c in channels {
        assert_eq!(Channel::parse(c.as_str()), Some(*c));
    }
    let names: Vec<&str> = channels.iter().map(|c| c.as_str()).collect();
    let written = json!({"op": op, "channels": names, "symbols": symbols}).to_string();
    let again = parse_request(&written).expect("a written request parses");
    assert_eq!(format!("{again:?}"), format!("{request:?}"));

    for s in symbols {
        let Some(w) = parse_symbol(s) else { continue };
        let (base, quote) = w.split_once('_').expect("BASE_QUOTE");
        assert!(!base.is_empty() && !quote.is_empty() && !quote.contains(['_', '/', '-']));
        assert!(!w.bytes().any(|b| b.is_ascii_lowercase()), "{w:?}");
        assert_eq!(parse_symbol(&w).as_deref(), Some(w.as_str()), "from {s:?}");
        assert_eq!(
            parse_symbol(&w.replacen('_', "/", 1)).as_deref(),
            Some(w.as_str())
        );
    }
});
