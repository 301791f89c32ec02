//! KuCoin subscribe requests and the client heartbeat.

use std::fmt::Write as _;

use super::msg::{MAX_SYMBOLS_PER_TOPIC, TOPIC_LEVEL1, TOPIC_MATCH, TOPIC_TICKER};

/// Which topic carries the best bid/ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BookTopic {
    /// `/spotMarket/level1` (10 ms, BBO only); the default, as the docs recommend for BBO.
    #[default]
    Level1,
    /// `/market/ticker` (100 ms, BBO plus last trade).
    Ticker,
}

impl BookTopic {
    /// Returns the topic prefix, up to and including the `:`.
    pub const fn prefix(self) -> &'static str {
        match self {
            BookTopic::Level1 => TOPIC_LEVEL1,
            BookTopic::Ticker => TOPIC_TICKER,
        }
    }
}

/// Builds the `subscribe` requests for the book topic and the trade topic of `natives`
/// (`BTC-USDT`), at most [`MAX_SYMBOLS_PER_TOPIC`] symbols per request; request ids count
/// up from `first_id`. Each chunk gives a book request followed by a trade request.
pub fn subscribe_requests(first_id: u64, book: BookTopic, natives: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut id = first_id;
    for chunk in natives.chunks(MAX_SYMBOLS_PER_TOPIC) {
        for prefix in [book.prefix(), TOPIC_MATCH] {
            out.push(request(id, prefix, chunk));
            id += 1;
        }
    }
    out
}

fn request(id: u64, prefix: &str, natives: &[&str]) -> String {
    let mut s = String::new();
    let _ = write!(s, r#"{{"id":"{id}","type":"subscribe","topic":"{prefix}"#);
    for (i, n) in natives.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(n);
    }
    s.push_str(r#"","privateChannel":false,"response":true}"#);
    s
}

/// Builds the client heartbeat, sent every `pingInterval` ms; the server answers with a
/// `pong` carrying the same id.
pub fn ping_request(id: u64) -> String {
    format!(r#"{{"id":"{id}","type":"ping"}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_pair_book_and_trades() {
        assert_eq!(
            subscribe_requests(1, BookTopic::Level1, &["BTC-USDT", "ETH-USDT"]),
            [
                r#"{"id":"1","type":"subscribe","topic":"/spotMarket/level1:BTC-USDT,ETH-USDT","privateChannel":false,"response":true}"#,
                r#"{"id":"2","type":"subscribe","topic":"/market/match:BTC-USDT,ETH-USDT","privateChannel":false,"response":true}"#,
            ]
        );
        assert_eq!(
            subscribe_requests(5, BookTopic::Ticker, &["BTC-USDT"])[0],
            r#"{"id":"5","type":"subscribe","topic":"/market/ticker:BTC-USDT","privateChannel":false,"response":true}"#
        );
        assert!(subscribe_requests(1, BookTopic::Level1, &[]).is_empty());
    }

    #[test]
    fn requests_batch_at_the_topic_limit() {
        let names: Vec<String> = (0..250).map(|i| format!("S{i}-USDT")).collect();
        let natives: Vec<&str> = names.iter().map(String::as_str).collect();
        let reqs = subscribe_requests(10, BookTopic::Level1, &natives);
        assert_eq!(reqs.len(), 6);
        let counts: Vec<usize> = reqs.iter().map(|r| r.matches("-USDT").count()).collect();
        assert_eq!(counts, [100, 100, 100, 100, 50, 50]);
        assert!(
            reqs[5]
                .starts_with(r#"{"id":"15","type":"subscribe","topic":"/market/match:S200-USDT,"#)
        );
    }

    #[test]
    fn ping_carries_the_id() {
        assert_eq!(ping_request(42), r#"{"id":"42","type":"ping"}"#);
    }
}
