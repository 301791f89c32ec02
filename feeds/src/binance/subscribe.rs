//! Binance subscribe requests.

use std::fmt::Write as _;

/// Builds a `SUBSCRIBE` request for the `bookTicker` and `trade` streams of `natives`
/// (upper-case payload symbols such as `BTCUSDT`; stream names are lower-cased here).
pub fn subscribe_request(id: u64, natives: &[&str]) -> String {
    let mut s = String::from(r#"{"method":"SUBSCRIBE","params":["#);
    for (i, n) in natives.iter().enumerate() {
        let lower = n.to_ascii_lowercase();
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, r#""{lower}@bookTicker","{lower}@trade""#);
    }
    let _ = write!(s, r#"],"id":{id}}}"#);
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_lists_both_streams() {
        assert_eq!(
            super::subscribe_request(7, &["BTCUSDT"]),
            r#"{"method":"SUBSCRIBE","params":["btcusdt@bookTicker","btcusdt@trade"],"id":7}"#
        );
    }
}
