//! Bybit subscribe requests and the client heartbeat.

use std::fmt::Write as _;

use super::msg::{BOOK_TOPIC_PREFIX, MAX_ARGS_PER_REQUEST, TRADE_TOPIC_PREFIX};

/// The client heartbeat; Bybit answers `{"success":true,"ret_msg":"pong",..,"op":"ping"}`.
pub const PING_REQUEST: &str = r#"{"op":"ping"}"#;

/// Builds the subscribe requests for the `orderbook.1` and `publicTrade` topics of
/// `natives` (upper-case symbols such as `BTCUSDT`).
///
/// Spot takes at most [`MAX_ARGS_PER_REQUEST`] topics per request, so the topics are split
/// over several requests; `req_id`s count up from `first_req_id`. The caller keeps the
/// per-connection budget ([`super::MAX_ARGS_CHARS_PER_CONN`]).
pub fn subscribe_requests(first_req_id: u64, natives: &[&str]) -> Vec<String> {
    let per_request = MAX_ARGS_PER_REQUEST / 2;
    natives
        .chunks(per_request)
        .zip(first_req_id..)
        .map(|(chunk, req_id)| {
            let mut s = format!(r#"{{"req_id":"{req_id}","op":"subscribe","args":["#);
            for (i, n) in chunk.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let _ = write!(s, r#""{BOOK_TOPIC_PREFIX}{n}","{TRADE_TOPIC_PREFIX}{n}""#);
            }
            s.push_str("]}");
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lists_both_topics() {
        assert_eq!(
            subscribe_requests(7, &["BTCUSDT"]),
            [
                r#"{"req_id":"7","op":"subscribe","args":["orderbook.1.BTCUSDT","publicTrade.BTCUSDT"]}"#
            ]
        );
    }

    #[test]
    fn requests_hold_at_most_ten_topics() {
        let natives: Vec<String> = (0..12).map(|i| format!("S{i}USDT")).collect();
        let refs: Vec<&str> = natives.iter().map(String::as_str).collect();
        let reqs = subscribe_requests(1, &refs);
        assert_eq!(reqs.len(), 3);
        for (req, want_id) in reqs.iter().zip(["1", "2", "3"]) {
            let v: serde_json::Value = serde_json::from_str(req).unwrap();
            assert_eq!(v["req_id"], want_id);
            assert_eq!(v["op"], "subscribe");
            assert!(v["args"].as_array().unwrap().len() <= MAX_ARGS_PER_REQUEST);
        }
        let total: usize = reqs
            .iter()
            .map(|r| {
                let v: serde_json::Value = serde_json::from_str(r).unwrap();
                v["args"].as_array().unwrap().len()
            })
            .sum();
        assert_eq!(total, 24);
        assert!(subscribe_requests(1, &[]).is_empty());
    }

    #[test]
    fn ping_is_json() {
        let v: serde_json::Value = serde_json::from_str(PING_REQUEST).unwrap();
        assert_eq!(v["op"], "ping");
    }
}
