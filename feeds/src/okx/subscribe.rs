//! OKX subscribe requests and the client heartbeat.

use std::fmt::Write as _;

use super::msg::{BBO_CHANNEL, MAX_REQUEST_BYTES, TRADES_CHANNEL};

/// The client heartbeat: the bare text `ping` (not JSON); the venue answers `pong`.
pub const PING_REQUEST: &str = "ping";

const HEAD: &str = r#"{"op":"subscribe","args":["#;
const TAIL: &str = "]}";

/// Builds the subscribe requests for the `bbo-tbt` and `trades` channels of `natives`
/// (instrument ids such as `BTC-USDT`).
///
/// Symbols are packed into as few requests as fit in [`MAX_REQUEST_BYTES`] each; every
/// request counts against the 480-per-hour budget of a connection.
pub fn subscribe_requests(natives: &[&str]) -> Vec<String> {
    let mut reqs = Vec::new();
    let mut cur = String::from(HEAD);
    let mut entry = String::new();
    for n in natives {
        entry.clear();
        let _ = write!(
            entry,
            r#"{{"channel":"{BBO_CHANNEL}","instId":"{n}"}},{{"channel":"{TRADES_CHANNEL}","instId":"{n}"}}"#
        );
        let empty = cur.len() == HEAD.len();
        let needed = entry.len() + usize::from(!empty) + TAIL.len();
        if !empty && cur.len() + needed > MAX_REQUEST_BYTES {
            cur.push_str(TAIL);
            reqs.push(std::mem::replace(&mut cur, String::from(HEAD)));
        }
        if cur.len() > HEAD.len() {
            cur.push(',');
        }
        cur.push_str(&entry);
    }
    if cur.len() > HEAD.len() {
        cur.push_str(TAIL);
        reqs.push(cur);
    }
    reqs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lists_both_channels() {
        assert_eq!(
            subscribe_requests(&["BTC-USDT"]),
            [
                r#"{"op":"subscribe","args":[{"channel":"bbo-tbt","instId":"BTC-USDT"},{"channel":"trades","instId":"BTC-USDT"}]}"#
            ]
        );
        assert!(subscribe_requests(&[]).is_empty());
    }

    #[test]
    fn requests_stay_under_the_size_cap() {
        let natives: Vec<String> = (0..3000).map(|i| format!("COIN{i}-USDT")).collect();
        let refs: Vec<&str> = natives.iter().map(String::as_str).collect();
        let reqs = subscribe_requests(&refs);
        assert!(reqs.len() > 1);
        let mut args = 0;
        for r in &reqs {
            assert!(r.len() <= MAX_REQUEST_BYTES);
            let v: serde_json::Value = serde_json::from_str(r).unwrap();
            assert_eq!(v["op"], "subscribe");
            args += v["args"].as_array().unwrap().len();
        }
        assert_eq!(args, 6000);
    }
}
