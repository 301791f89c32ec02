//! OKX fixtures decode to exactly what they say, on both paths.

mod util;

use arb_engine::Side::{Buy, Sell};
use arb_feeds::okx::OkxDecoder;
use arb_feeds::{ControlKind, FrameKind, ParseError};
use util::{Item, decode_both, expect_items, lines, ms};

const V: &str = "okx";

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
    let expected = [
        Item::quote(
            "BTC-USDT",
            30228.6,
            0.23393,
            30228.7,
            1.55896972,
            ms(1652459224956),
        ),
        Item::quote(
            "BTC-USDT",
            30228.6,
            0.23393,
            30228.7,
            1.55896972,
            ms(1652459226124),
        ),
        Item::quote(
            "BTC-USDT",
            30243.4,
            0.33732919,
            30243.5,
            0.00315938,
            ms(1652459226240),
        ),
        Item::quote(
            "BTC-USDT",
            30243.4,
            0.33732919,
            30243.5,
            0.00315938,
            ms(1652459226825),
        ),
        Item::quote(
            "BTC-USDT",
            31774.6,
            0.3392211,
            31774.7,
            0.14368878,
            ms(1654032991947),
        ),
        Item::quote(
            "BTC-USDT",
            8476.97,
            256.0,
            8476.98,
            415.0,
            ms(1597026383085),
        ),
        Item::quote(
            "ACT-USDT",
            0.00713,
            4092.326,
            0.0072,
            54969.407534,
            ms(1639999318686),
        ),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(OkxDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn constructed_book_tickers_decode_to_their_values() {
    let l = lines(V, "book_ticker.constructed.jsonl");
    let expected = [
        Item::quote(
            "ETH-USDT",
            2045.32,
            3.1,
            2045.33,
            12.874512,
            ms(1700000000123),
        ),
        Item::quote("SOL-USDT", 57.812, 88.5, 57.813, 501.221, ms(1700000000456)),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(OkxDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn trades_decode_to_their_values() {
    let l = lines(V, "trades.jsonl");
    let expected = [
        // The recording starts with the subscribe ack.
        control(ControlKind::Ack, "subscribe", None, None),
        Item::trade(
            "CRV-USDT",
            3.973,
            13.491146,
            Buy,
            "21300150",
            ms(1639999319938),
        ),
        Item::trade(
            "BTC-USDT",
            30236.0,
            0.0002,
            Buy,
            "338476307",
            ms(1652459224818),
        ),
        Item::trade(
            "BTC-USDT",
            30243.5,
            0.001,
            Buy,
            "338476308",
            ms(1652459226050),
        ),
        Item::trade(
            "BTC-USDT",
            30243.5,
            0.0002,
            Buy,
            "338476309",
            ms(1652459226050),
        ),
        Item::trade(
            "BTC-USDT",
            30243.5,
            0.00684062,
            Buy,
            "338476310",
            ms(1652459226050),
        ),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(OkxDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn batched_trades_emit_each_then_the_error() {
    let frame = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"10","sz":"1","side":"sell","ts":"5"},{"instId":"BTC-USDT","tradeId":"2","px":"11","sz":"2","side":"buy","ts":"6"},{"instId":"BTC-USDT","tradeId":"3","px":"11","sz":"2","side":"both","ts":"6"}]}"#;
    let (items, r) = decode_both(OkxDecoder::new, FrameKind::Text, frame.as_bytes());
    assert_eq!(
        items,
        [
            Item::trade("BTC-USDT", 10.0, 1.0, Sell, "1", ms(5)),
            Item::trade("BTC-USDT", 11.0, 2.0, Buy, "2", ms(6)),
        ]
    );
    assert_eq!(r, Err(ParseError::BadValue("side")));
}

#[test]
fn control_messages_are_classified() {
    let l = lines(V, "control.jsonl");
    let expected = [
        control(ControlKind::Ack, "subscribe", None, None),
        control(ControlKind::Ack, "subscribe", None, None),
        control(ControlKind::Info, "client_request", None, Some("subscribe")),
        control(
            ControlKind::Error,
            "error",
            Some(60012),
            Some(
                r#"Invalid request: {"op": "subscribe", "args":[{ "channel" : "trades", "instId" : "BTC-USD-191227"}]}"#,
            ),
        ),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(OkxDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }

    // control_frames.txt: bare text heartbeats.
    expect_items(
        OkxDecoder::new,
        FrameKind::Text,
        b"pong",
        &[control(ControlKind::Pong, "pong", None, None)],
    );
    expect_items(
        OkxDecoder::new,
        FrameKind::Text,
        b"ping",
        &[control(
            ControlKind::Info,
            "client_request",
            None,
            Some("ping"),
        )],
    );
    let notice = r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade.","connId":"a4d3ae55"}"#;
    expect_items(
        OkxDecoder::new,
        FrameKind::Text,
        notice.as_bytes(),
        &[control(
            ControlKind::Info,
            "notice",
            Some(64008),
            Some("The connection will soon be closed for a service upgrade."),
        )],
    );
    let unsub =
        r#"{"id":"7","event":"unsubscribe","arg":{"channel":"trades","instId":"BTC-USDT"}}"#;
    expect_items(
        OkxDecoder::new,
        FrameKind::Text,
        unsub.as_bytes(),
        &[Item::Control {
            kind: ControlKind::Ack,
            what: "unsubscribe",
            id: Some("7".into()),
            code: None,
            text: None,
        }],
    );
    let (items, _) = decode_both(OkxDecoder::new, FrameKind::Ping, b"");
    assert_eq!(items[0].control_kind(), Some(ControlKind::Ping));
}

#[test]
fn bad_frames_are_errors() {
    let bbo = |asks: &str, bids: &str| {
        format!(
            r#"{{"arg":{{"channel":"bbo-tbt","instId":"BTC-USDT"}},"data":[{{"asks":{asks},"bids":{bids},"ts":"1"}}]}}"#
        )
    };
    let ticker = |inst_type: &str, bid_px: &str| {
        format!(
            r#"{{"arg":{{"channel":"tickers","instId":"BTC-USDT"}},"data":[{{"instType":"{inst_type}","instId":"BTC-USDT","askPx":"2","askSz":"1","bidPx":"{bid_px}","bidSz":"0","ts":"1"}}]}}"#
        )
    };
    let cases: Vec<(String, ParseError)> = vec![
        ("{".into(), ParseError::Json),
        ("pongg".into(), ParseError::Json),
        ("[]".into(), ParseError::UnknownMessage),
        (r#"{"foo":1}"#.into(), ParseError::UnknownMessage),
        (r#"{"event":"mystery"}"#.into(), ParseError::UnknownMessage),
        (
            r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["2","1","0","1"]],"bids":[["1","1","0","1"]]}]}"#.into(),
            ParseError::MissingField("ts"),
        ),
        (
            r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"}}"#.into(),
            ParseError::MissingField("data"),
        ),
        (
            r#"{"arg":{"channel":7,"instId":"BTC-USDT"},"data":[]}"#.into(),
            ParseError::WrongType("channel"),
        ),
        (
            bbo(r#"[["-2","1","0","1"]]"#, r#"[["1","1","0","1"]]"#),
            ParseError::BadValue("asks"),
        ),
        (
            bbo(r#"[["2","1","0","1"]]"#, r#"[["1e","1","0","1"]]"#),
            ParseError::BadNumber("bids"),
        ),
        (
            bbo(r#"[["2","1","0","1"]]"#, r#"{"px":"1"}"#),
            ParseError::WrongType("bids"),
        ),
        (bbo(r#"[["2","1","0","1"]]"#, "[]"), ParseError::EmptySide),
        (ticker("SPOT", ""), ParseError::EmptySide),
        (
            ticker("SWAP", "1"),
            ParseError::Unsupported("instrument type"),
        ),
        (
            r#"{"arg":{"channel":"trades","instId":"BTC-USD-SWAP"},"data":[{"instId":"BTC-USD-SWAP","tradeId":"1","px":"1","sz":"1","side":"buy","ts":"1"}]}"#.into(),
            ParseError::Unsupported("instrument type"),
        ),
        (
            r#"{"arg":{"channel":"tickers","instId":"BTC-USD-220527"},"data":[]}"#.into(),
            ParseError::Unsupported("instrument type"),
        ),
        (
            r#"{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[]}"#.into(),
            ParseError::Unsupported("order book deeper than L1"),
        ),
        (
            r#"{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[]}"#.into(),
            ParseError::Unsupported("channel"),
        ),
        (
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"1","side":"buy","ts":"x"}]}"#.into(),
            ParseError::BadNumber("ts"),
        ),
    ];
    for (frame, e) in &cases {
        let (items, r) = decode_both(OkxDecoder::new, FrameKind::Text, frame.as_bytes());
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
        "control.jsonl",
    ] {
        for line in lines(V, file) {
            util::check_mutations(OkxDecoder::new, FrameKind::Text, line.as_bytes());
        }
    }
    for frame in ["pong", "ping"] {
        util::check_mutations(OkxDecoder::new, FrameKind::Text, frame.as_bytes());
    }
}
