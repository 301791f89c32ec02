//! BingX subscribe requests and heartbeat replies.

use super::msg::{CHANNEL_BOOK_TICKER, CHANNEL_TRADE};

/// The reply to the bare-text `Ping` heartbeat (swap-style; accepted on spot to be safe).
pub const TEXT_PONG: &str = "Pong";

/// Builds the `sub` requests for the book ticker and trade channels of `natives`
/// (`BTC-USDT`): one request per `dataType`, as BingX takes one topic per request; request
/// ids count up from `first_id` (BingX echoes any id text; the docs use UUIDs).
pub fn subscribe_requests(first_id: u64, natives: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(natives.len() * 2);
    let mut id = first_id;
    for n in natives {
        for channel in [CHANNEL_BOOK_TICKER, CHANNEL_TRADE] {
            out.push(format!(
                r#"{{"id":"{id}","reqType":"sub","dataType":"{n}{channel}"}}"#
            ));
            id += 1;
        }
    }
    out
}

/// Builds the reply to the server's `{"ping":"<id>","time":"<time>"}`: the same id and time
/// under `pong` (from the decoded ping control's `id` and `text`).
pub fn pong_reply(ping_id: &str, time: &str) -> String {
    let mut s = String::with_capacity(ping_id.len() + time.len() + 24);
    s.push_str(r#"{"pong":""#);
    push_json_str(&mut s, ping_id);
    s.push_str(r#"","time":""#);
    push_json_str(&mut s, time);
    s.push_str(r#""}"#);
    s
}

/// Appends `text` escaped for a JSON string body (the decoder hands out unescaped text).
fn push_json_str(s: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = std::fmt::Write::write_fmt(s, format_args!("\\u{:04x}", u32::from(c)));
            }
            c => s.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_topic() {
        assert_eq!(
            subscribe_requests(3, &["BTC-USDT", "ETH-USDT"]),
            [
                r#"{"id":"3","reqType":"sub","dataType":"BTC-USDT@bookTicker"}"#,
                r#"{"id":"4","reqType":"sub","dataType":"BTC-USDT@trade"}"#,
                r#"{"id":"5","reqType":"sub","dataType":"ETH-USDT@bookTicker"}"#,
                r#"{"id":"6","reqType":"sub","dataType":"ETH-USDT@trade"}"#,
            ]
        );
        assert!(subscribe_requests(1, &[]).is_empty());
    }

    #[test]
    fn pong_echoes_id_and_time() {
        assert_eq!(
            pong_reply(
                "2177c68e4d0e45679965f482929b59c2",
                "2022-06-07T16:27:36.323+0800"
            ),
            r#"{"pong":"2177c68e4d0e45679965f482929b59c2","time":"2022-06-07T16:27:36.323+0800"}"#
        );
        assert_eq!(
            pong_reply("a\"b\\", "\n"),
            r#"{"pong":"a\"b\\","time":"\u000a"}"#
        );
    }
}
