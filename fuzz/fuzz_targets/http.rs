//! Fuzz target: the server's HTTP request-head parser takes any bytes without panicking.
//! A request it accepts borrows only the head it consumed (method, path, query and every
//! header lie within `input[..len]`, the query right after the path's `?`), parses the
//! same from exactly that head, and answers `header()` / `param()` for any name. The
//! query-string decoder (`query_param`) takes any UTF-8 too, never returns more bytes than
//! it was given, and gives back any name and value that were percent-encoded into a query.
#![no_main]

use arb_io::serve::http::{self, ParseOutcome, query_param};
use libfuzzer_sys::fuzz_target;

/// Header and parameter names every request is asked for, the server's own among them.
const NAMES: [&str; 8] = [
    "connection",
    "Host",
    "upgrade",
    "sec-websocket-key",
    "authorization",
    "token",
    "limit",
    "symbol",
];

fuzz_target!(|data: &[u8]| {
    check_request(data);
    if let Ok(text) = std::str::from_utf8(data) {
        check_query(text);
    }
});

fn check_request(data: &[u8]) {
    let r = match http::parse(data) {
        Ok(r) => r,
        Err(ParseOutcome::Partial | ParseOutcome::TooManyHeaders) => return,
        Err(ParseOutcome::Bad(why)) => {
            assert!(!why.is_empty());
            return;
        }
    };
    assert!(
        r.len > 0 && r.len <= data.len(),
        "len {} of {}",
        r.len,
        data.len()
    );
    let head = &data[..r.len];
    let base = head.as_ptr() as usize;
    let within = |s: &[u8]| {
        let start = (s.as_ptr() as usize)
            .checked_sub(base)
            .expect("slice starts before the input");
        assert!(start + s.len() <= head.len(), "slice ends past the head");
        start
    };
    assert!(!r.method.is_empty());
    // The method starts the request line (httparse skips empty lines before it), and
    // the path follows it.
    let method_at = within(r.method.as_bytes());
    assert!(head[..method_at].iter().all(|b| matches!(b, b'\r' | b'\n')));
    let path_at = within(r.path.as_bytes());
    assert!(path_at > method_at + r.method.len());
    assert!(!r.path.contains('?'));
    if !r.query.is_empty() {
        let query_at = within(r.query.as_bytes());
        assert_eq!(query_at, path_at + r.path.len() + 1);
        assert_eq!(head[query_at - 1], b'?');
    }
    for (name, value) in &r.headers {
        assert!(!name.is_empty());
        within(name.as_bytes());
        within(value);
    }
    for name in NAMES {
        let first = r
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok());
        assert_eq!(r.header(name), first);
        assert_eq!(r.param(name), query_param(r.query, name));
    }
    // A raw key without escapes is found under its own name.
    for kv in r.query.split('&') {
        let key = kv.split_once('=').map_or(kv, |(k, _)| k);
        if !key.contains(['%', '+']) {
            assert!(r.param(key).is_some(), "key {key:?} of {:?}", r.query);
        }
    }
    if let Some(conn) = r.header("connection")
        && conn.to_ascii_lowercase().contains("close")
    {
        assert!(r.close);
    }
    // The head alone parses to the same request, and is the shortest input that does.
    let again = http::parse(head).expect("the consumed head parses on its own");
    assert_eq!(
        (
            again.method,
            again.path,
            again.query,
            again.len,
            again.close
        ),
        (r.method, r.path, r.query, r.len, r.close)
    );
    assert_eq!(again.headers, r.headers);
    assert!(http::parse(&head[..r.len - 1]).is_err());
}

fn check_query(text: &str) {
    // `query#name`: any query and any name.
    let (query, name) = text.split_once('#').unwrap_or((text, ""));
    if let Some(v) = query_param(query, name) {
        assert!(v.len() <= query.len(), "{v:?} decoded from {query:?}");
    }
    // `name#value`, both percent-encoded into a query behind another parameter, decode to
    // themselves.
    let (name, value) = text.split_once('#').unwrap_or((text, ""));
    if name != "x" {
        let q = format!("x=1&{}={}", encode(name), encode(value));
        assert_eq!(query_param(&q, name).as_deref(), Some(value), "{q:?}");
    }
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
