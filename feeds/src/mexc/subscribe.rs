//! MEXC subscribe requests and the client heartbeat.

use super::msg::{CHANNEL_BOOK_TICKER, CHANNEL_DEALS, MAX_SUBSCRIPTIONS_PER_CONN};

/// The client heartbeat; the server answers `{"id":0,"code":0,"msg":"PONG"}`.
pub const PING_REQUEST: &str = r#"{"method":"PING"}"#;

/// Push interval of the aggregated channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interval {
    /// `10ms`: the freshest quotes.
    #[default]
    Ms10,
    /// `100ms`.
    Ms100,
}

impl Interval {
    /// Returns the channel spelling (`10ms`, `100ms`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Interval::Ms10 => "10ms",
            Interval::Ms100 => "100ms",
        }
    }
}

/// Builds `SUBSCRIPTION` requests for the aggregated book ticker and deals channels of
/// `natives` (`BTCUSDT`). Each request holds at most [`MAX_SUBSCRIPTIONS_PER_CONN`] channels
/// (15 symbols), i.e. one connection's worth: send each request on its own connection.
pub fn subscribe_requests(interval: Interval, natives: &[&str]) -> Vec<String> {
    let per_request = MAX_SUBSCRIPTIONS_PER_CONN / 2;
    natives
        .chunks(per_request)
        .map(|chunk| {
            let mut s = String::from(r#"{"method":"SUBSCRIPTION","params":["#);
            for (i, n) in chunk.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                for (j, channel) in [CHANNEL_BOOK_TICKER, CHANNEL_DEALS].into_iter().enumerate() {
                    if j > 0 {
                        s.push(',');
                    }
                    s.push('"');
                    s.push_str(channel);
                    s.push_str(interval.as_str());
                    s.push('@');
                    s.push_str(n);
                    s.push('"');
                }
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
    fn requests_list_both_channels() {
        assert_eq!(
            subscribe_requests(Interval::Ms10, &["BTCUSDT"]),
            [
                r#"{"method":"SUBSCRIPTION","params":["spot@public.aggre.bookTicker.v3.api.pb@10ms@BTCUSDT","spot@public.aggre.deals.v3.api.pb@10ms@BTCUSDT"]}"#
            ]
        );
        assert!(subscribe_requests(Interval::Ms100, &[]).is_empty());
    }

    #[test]
    fn requests_stop_at_the_connection_limit() {
        let names: Vec<String> = (0..40).map(|i| format!("S{i}USDT")).collect();
        let natives: Vec<&str> = names.iter().map(String::as_str).collect();
        let reqs = subscribe_requests(Interval::Ms100, &natives);
        let counts: Vec<usize> = reqs.iter().map(|r| r.matches("@100ms@").count()).collect();
        assert_eq!(counts, [30, 30, 20]);
        assert!(
            reqs.iter()
                .all(|r| r.starts_with(r#"{"method":"SUBSCRIPTION","params":[""#))
        );
    }
}
