//! Gate subscribe requests and the application heartbeat.

use std::fmt::Write as _;

use super::msg::{BOOK_TICKER_CHANNEL, MAX_PAIRS_PER_REQUEST, PING_CHANNEL, TRADES_CHANNEL};

/// Builds the subscribe requests for the `spot.book_ticker` and `spot.trades` channels of
/// `natives` (pairs such as `BTC_USDT`): one request per channel per
/// [`MAX_PAIRS_PER_REQUEST`] pairs. `time_s` is the current Unix time in seconds, which
/// every Gate request carries (the caller reads the clock).
pub fn subscribe_requests(time_s: u64, natives: &[&str]) -> Vec<String> {
    build(time_s, None, natives)
}

/// [`subscribe_requests`] with a request `id` on each request, counting up from
/// `first_id` (per chunk: the book request, then the trades request). Gate echoes the id
/// in its reply, so a refused request can be told from the others.
pub fn subscribe_requests_with_ids(time_s: u64, first_id: u64, natives: &[&str]) -> Vec<String> {
    build(time_s, Some(first_id), natives)
}

fn build(time_s: u64, first_id: Option<u64>, natives: &[&str]) -> Vec<String> {
    let mut reqs = Vec::new();
    let mut next_id = first_id;
    for chunk in natives.chunks(MAX_PAIRS_PER_REQUEST) {
        for channel in [BOOK_TICKER_CHANNEL, TRADES_CHANNEL] {
            let mut s = format!(r#"{{"time":{time_s},"#);
            if let Some(id) = next_id.as_mut() {
                let _ = write!(s, r#""id":{id},"#);
                *id += 1;
            }
            let _ = write!(
                s,
                r#""channel":"{channel}","event":"subscribe","payload":["#
            );
            for (i, n) in chunk.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let _ = write!(s, r#""{n}""#);
            }
            s.push_str("]}");
            reqs.push(s);
        }
    }
    reqs
}

/// Builds the application ping, `{"time":<s>,"channel":"spot.ping"}`; the venue answers
/// on `spot.pong`. WebSocket ping frames work too.
pub fn ping_request(time_s: u64) -> String {
    format!(r#"{{"time":{time_s},"channel":"{PING_CHANNEL}"}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_cover_both_channels() {
        assert_eq!(
            subscribe_requests(1700000000, &["BTC_USDT", "ETH_USDT"]),
            [
                r#"{"time":1700000000,"channel":"spot.book_ticker","event":"subscribe","payload":["BTC_USDT","ETH_USDT"]}"#,
                r#"{"time":1700000000,"channel":"spot.trades","event":"subscribe","payload":["BTC_USDT","ETH_USDT"]}"#,
            ]
        );
        assert!(subscribe_requests(1, &[]).is_empty());
    }

    #[test]
    fn requests_are_chunked() {
        let natives: Vec<String> = (0..250).map(|i| format!("C{i}_USDT")).collect();
        let refs: Vec<&str> = natives.iter().map(String::as_str).collect();
        let reqs = subscribe_requests(5, &refs);
        assert_eq!(reqs.len(), 6);
        let mut pairs = 0;
        for r in &reqs {
            let v: serde_json::Value = serde_json::from_str(r).unwrap();
            let n = v["payload"].as_array().unwrap().len();
            assert!(n <= MAX_PAIRS_PER_REQUEST);
            pairs += n;
        }
        assert_eq!(pairs, 500);
    }

    #[test]
    fn ids_count_up_per_request() {
        assert_eq!(
            subscribe_requests_with_ids(1700000000, 7, &["BTC_USDT"]),
            [
                r#"{"time":1700000000,"id":7,"channel":"spot.book_ticker","event":"subscribe","payload":["BTC_USDT"]}"#,
                r#"{"time":1700000000,"id":8,"channel":"spot.trades","event":"subscribe","payload":["BTC_USDT"]}"#,
            ]
        );
    }

    #[test]
    fn ping_matches_the_documented_shape() {
        assert_eq!(
            ping_request(1700000000),
            r#"{"time":1700000000,"channel":"spot.ping"}"#
        );
    }
}
