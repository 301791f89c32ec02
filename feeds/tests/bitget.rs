//! Bitget fixtures decode to exactly what they say, on both paths.

mod util;

use arb_engine::Side::{Buy, Sell};
use arb_feeds::bitget::BitgetDecoder;
use arb_feeds::{ControlKind, FrameKind, ParseError};
use util::{Item, decode_both, expect_items, lines, ms};

const V: &str = "bitget";

fn control(kind: ControlKind, what: &'static str, code: Option<i64>, text: Option<&str>) -> Item {
    Item::Control {
        kind,
        what,
        id: None,
        code,
        text: text.map(str::to_owned),
    }
}

#[test]
fn book_tickers_decode_to_their_values() {
    let l = lines(V, "book_ticker.jsonl");
    let expected = [Item::quote(
        "BTCUSDC",
        72354.67,
        1.1646,
        72377.25,
        0.00408,
        ms(1730332859984),
    )];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(BitgetDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn constructed_book_tickers_decode_to_their_values() {
    let l = lines(V, "book_ticker.constructed.jsonl");
    let expected = [
        Item::quote(
            "BTCUSDT",
            37001.24,
            1.0172,
            37001.25,
            0.3514,
            ms(1700000000148),
        ),
        Item::quote(
            "ETHUSDT",
            2045.32,
            0.8017,
            2045.33,
            4.2161,
            ms(1700000000371),
        ),
        // `ticker` channel.
        Item::quote("SOLUSDT", 57.811, 120.55, 57.812, 15.02, ms(1700000001039)),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(BitgetDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn trades_decode_to_their_values() {
    let l = lines(V, "trades.jsonl");
    let expected = [
        Item::trade(
            "BTCUSDT",
            72389.99,
            0.001373,
            Buy,
            "1235671058980749319",
            ms(1730332858796),
        ),
        // The first push after subscribing is a snapshot of recent trades.
        Item::trade(
            "SNEKUSDT",
            0.0010074,
            23617.11,
            Sell,
            "1235670809402884097",
            ms(1730332799292),
        ),
        Item::trade(
            "RENDERUSDT",
            4.987,
            22.75,
            Sell,
            "1235671063632220170",
            ms(1730332859905),
        ),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(BitgetDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn constructed_trades_decode_to_their_values() {
    let l = lines(V, "trades.constructed.jsonl");
    let expected: [Vec<Item>; 2] = [
        vec![Item::trade(
            "ETHUSDT",
            2045.32,
            0.0512,
            Sell,
            "1115430982237466625",
            ms(1700000002001),
        )],
        vec![
            Item::trade(
                "SOLUSDT",
                57.812,
                12.4,
                Buy,
                "1115430984347226113",
                ms(1700000002500),
            ),
            Item::trade(
                "SOLUSDT",
                57.813,
                3.1,
                Buy,
                "1115430984347226114",
                ms(1700000002500),
            ),
        ],
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(BitgetDecoder::new, FrameKind::Text, line.as_bytes(), &e);
    }
}

#[test]
fn batched_trades_emit_each_then_the_error() {
    let frame = r#"{"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},"data":[{"ts":"5","price":"10","size":"1","side":"buy","tradeId":"1"},{"ts":"6","price":"10","size":"1","side":"sell"}],"ts":7}"#;
    let (items, r) = decode_both(BitgetDecoder::new, FrameKind::Text, frame.as_bytes());
    assert_eq!(items, [Item::trade("BTCUSDT", 10.0, 1.0, Buy, "1", ms(5))]);
    assert_eq!(r, Err(ParseError::MissingField("tradeId")));
}

#[test]
fn control_messages_are_classified() {
    use ControlKind::*;
    let real = lines(V, "control.jsonl");
    let expected = [
        control(Ack, "subscribe", None, None),
        control(Ack, "subscribe", None, None),
    ];
    assert_eq!(real.len(), expected.len());
    for (line, e) in real.iter().zip(expected) {
        expect_items(BitgetDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
    let constructed = lines(V, "control.constructed.jsonl");
    let expected = [
        control(Info, "client_request", None, Some("subscribe")),
        control(
            Error,
            "error",
            Some(30001),
            Some("instType:SPOT,channel:books1,instId:NOTACOINUSDT doesn't exist"),
        ),
    ];
    assert_eq!(constructed.len(), expected.len());
    for (line, e) in constructed.iter().zip(expected) {
        expect_items(BitgetDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }

    // control_frames.txt: bare text heartbeats.
    expect_items(
        BitgetDecoder::new,
        FrameKind::Text,
        b"pong",
        &[control(Pong, "pong", None, None)],
    );
    expect_items(
        BitgetDecoder::new,
        FrameKind::Text,
        b"ping",
        &[control(Info, "client_request", None, Some("ping"))],
    );
    let unsub =
        r#"{"event":"unsubscribe","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"}}"#;
    expect_items(
        BitgetDecoder::new,
        FrameKind::Text,
        unsub.as_bytes(),
        &[control(Ack, "unsubscribe", None, None)],
    );
    let string_code = r#"{"event":"error","code":"30003","msg":"Illegal request"}"#;
    expect_items(
        BitgetDecoder::new,
        FrameKind::Text,
        string_code.as_bytes(),
        &[control(
            Error,
            "error",
            Some(30003),
            Some("Illegal request"),
        )],
    );
    let (items, _) = decode_both(BitgetDecoder::new, FrameKind::Close, b"");
    assert_eq!(items[0].control_kind(), Some(Info));
}

#[test]
fn bad_frames_are_errors() {
    let books1 = |asks: &str, bids: &str| {
        format!(
            r#"{{"action":"snapshot","arg":{{"instType":"SPOT","channel":"books1","instId":"X"}},"data":[{{"asks":{asks},"bids":{bids},"checksum":0,"ts":"1"}}],"ts":2}}"#
        )
    };
    let ticker = |bid_pr: &str| {
        format!(
            r#"{{"action":"snapshot","arg":{{"instType":"SPOT","channel":"ticker","instId":"X"}},"data":[{{"instId":"X","bidPr":"{bid_pr}","askPr":"2","bidSz":"0","askSz":"1","ts":"1"}}],"ts":2}}"#
        )
    };
    let cases: Vec<(String, ParseError)> = vec![
        ("{".into(), ParseError::Json),
        ("PONG".into(), ParseError::Json),
        ("[]".into(), ParseError::UnknownMessage),
        (r#"{"foo":1}"#.into(), ParseError::UnknownMessage),
        (r#"{"event":"login","code":0}"#.into(), ParseError::UnknownMessage),
        (
            r#"{"action":"snapshot","arg":{"instType":"SPOT","channel":"books1","instId":"X"},"data":[{"asks":[["2","1"]],"checksum":0,"ts":"1"}],"ts":2}"#.into(),
            ParseError::MissingField("bids"),
        ),
        (
            r#"{"action":"snapshot","arg":{"instType":"SPOT","channel":"books1","instId":5},"data":[]}"#.into(),
            ParseError::WrongType("instId"),
        ),
        (
            books1(r#"[["2","-1"]]"#, r#"[["1","1"]]"#),
            ParseError::BadValue("asks"),
        ),
        (
            books1(r#"[["2","1"]]"#, r#"[["1"]]"#),
            ParseError::WrongType("bids"),
        ),
        (books1("[]", r#"[["1","1"]]"#), ParseError::EmptySide),
        (ticker(""), ParseError::EmptySide),
        (ticker("1..2"), ParseError::BadNumber("bidPr")),
        (
            r#"{"action":"snapshot","arg":{"instType":"USDT-FUTURES","channel":"books1","instId":"BTCUSDT"},"data":[]}"#.into(),
            ParseError::Unsupported("instrument type"),
        ),
        (
            r#"{"action":"snapshot","arg":{"instType":"SPOT","channel":"books5","instId":"BTCUSDT"},"data":[]}"#.into(),
            ParseError::Unsupported("order book deeper than L1"),
        ),
        (
            r#"{"action":"update","arg":{"instType":"SPOT","channel":"books","instId":"BTCUSDT"},"data":[]}"#.into(),
            ParseError::Unsupported("order book deeper than L1"),
        ),
        (
            r#"{"action":"snapshot","arg":{"instType":"SPOT","channel":"candle1m","instId":"BTCUSDT"},"data":[]}"#.into(),
            ParseError::Unsupported("channel"),
        ),
        (
            r#"{"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":"X"},"data":[{"ts":"5","price":"10","size":"1","side":"up","tradeId":"1"}],"ts":7}"#.into(),
            ParseError::BadValue("side"),
        ),
    ];
    for (frame, e) in &cases {
        let (items, r) = decode_both(BitgetDecoder::new, FrameKind::Text, frame.as_bytes());
        assert!(items.is_empty(), "{frame}");
        assert_eq!(r, Err(*e), "{frame}");
    }
}

#[test]
fn mutated_fixtures_never_panic_and_paths_agree() {
    for file in [
        "book_ticker.jsonl",
        "book_ticker.constructed.jsonl",
        "trades.jsonl",
        "trades.constructed.jsonl",
        "control.jsonl",
        "control.constructed.jsonl",
    ] {
        for line in lines(V, file) {
            util::check_mutations(BitgetDecoder::new, FrameKind::Text, line.as_bytes());
        }
    }
    for frame in ["pong", "ping"] {
        util::check_mutations(BitgetDecoder::new, FrameKind::Text, frame.as_bytes());
    }
}
