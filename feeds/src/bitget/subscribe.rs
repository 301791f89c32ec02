//! Bitget subscribe requests and the client heartbeat.

use std::fmt::Write as _;

use super::msg::{BOOK_CHANNEL, INST_TYPE, MAX_ARGS_PER_REQUEST, TRADE_CHANNEL};

/// The client heartbeat: the bare text `ping` (not JSON); the venue answers `pong`.
pub const PING_REQUEST: &str = "ping";

/// Builds the subscribe requests for the `books1` and `trade` channels of `natives`
/// (symbols such as `BTCUSDT`), at most [`MAX_ARGS_PER_REQUEST`] args each.
///
/// The caller keeps the per-connection budgets ([`super::MAX_CHANNELS_PER_CONN`], two
/// channels per symbol; [`super::MAX_SUBSCRIBE_REQUESTS_PER_HOUR`]).
pub fn subscribe_requests(natives: &[&str]) -> Vec<String> {
    natives
        .chunks(MAX_ARGS_PER_REQUEST / 2)
        .map(|chunk| {
            let mut s = String::from(r#"{"op":"subscribe","args":["#);
            for (i, n) in chunk.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                for (j, channel) in [BOOK_CHANNEL, TRADE_CHANNEL].into_iter().enumerate() {
                    if j > 0 {
                        s.push(',');
                    }
                    let _ = write!(
                        s,
                        r#"{{"instType":"{INST_TYPE}","channel":"{channel}","instId":"{n}"}}"#
                    );
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
    fn request_lists_both_channels() {
        assert_eq!(
            subscribe_requests(&["BTCUSDT"]),
            [
                r#"{"op":"subscribe","args":[{"instType":"SPOT","channel":"books1","instId":"BTCUSDT"},{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"}]}"#
            ]
        );
        assert!(subscribe_requests(&[]).is_empty());
    }

    #[test]
    fn requests_are_batched() {
        let natives: Vec<String> = (0..120).map(|i| format!("C{i}USDT")).collect();
        let refs: Vec<&str> = natives.iter().map(String::as_str).collect();
        let reqs = subscribe_requests(&refs);
        assert_eq!(reqs.len(), 3);
        let mut args = 0;
        for r in &reqs {
            let v: serde_json::Value = serde_json::from_str(r).unwrap();
            let n = v["args"].as_array().unwrap().len();
            assert!(n <= MAX_ARGS_PER_REQUEST);
            args += n;
        }
        assert_eq!(args, 240);
    }
}
