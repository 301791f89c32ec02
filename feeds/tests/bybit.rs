//! Bybit fixtures decode to exactly what they say, on both paths, including the L1 state
//! that `orderbook.1` deltas merge into.

mod util;

use arb_engine::Side::{Buy, Sell};
use arb_feeds::bybit::BybitDecoder;
use arb_feeds::{ControlKind, FrameDecoder, FrameKind, ParseError};
use util::{Item, decode, decode_both, decode_validating, expect_items, lines, ms};

const V: &str = "bybit";

/// Expected outcome of one frame in a sequence.
type Step = (Vec<Item>, Result<(), ParseError>);

/// Decodes `frames` in order on one decoder per path (the book state carries over between
/// frames) and checks each frame's items and result on both paths.
fn expect_sequence(frames: &[&str], expected: &[Step]) {
    assert_eq!(frames.len(), expected.len());
    let mut fast = BybitDecoder::new();
    let mut slow = BybitDecoder::new();
    for (frame, want) in frames.iter().zip(expected) {
        let a = decode(&mut fast, FrameKind::Text, frame.as_bytes());
        let b = decode_validating(&mut slow, FrameKind::Text, frame.as_bytes());
        assert_eq!(a, b, "paths differ on {frame}");
        assert_eq!(&a, want, "{frame}");
    }
}

fn ok(items: Vec<Item>) -> Step {
    (items, Ok(()))
}

fn err(e: ParseError) -> Step {
    (Vec::new(), Err(e))
}

#[test]
fn book_snapshot_then_delta_keeps_the_old_ask() {
    let l = lines(V, "book_ticker.jsonl");
    assert_eq!(l.len(), 2);
    let frames: Vec<&str> = l.iter().map(String::as_str).collect();
    expect_sequence(
        &frames,
        &[
            ok(vec![Item::quote(
                "BTCUSDT",
                28165.07,
                0.175231,
                28165.08,
                0.996816,
                ms(1680652806504),
            )]),
            ok(vec![Item::quote(
                "BTCUSDT",
                28165.07,
                0.166754,
                28165.08,
                0.996816,
                ms(1680652806615),
            )]),
        ],
    );
    // Alone, the delta has no ask to keep.
    let (items, r) = decode_both(BybitDecoder::new, FrameKind::Text, l[1].as_bytes());
    assert!(items.is_empty());
    assert_eq!(r, Err(ParseError::EmptySide));
}

#[test]
fn constructed_book_snapshots_use_cts() {
    let l = lines(V, "book_ticker.constructed.jsonl");
    let expected = [
        Item::quote(
            "ETHUSDT",
            2045.31,
            3.51842,
            2045.32,
            0.97311,
            ms(1700000000120),
        ),
        Item::quote("SOLUSDT", 57.812, 412.7, 57.813, 38.2, ms(1700000000451)),
        Item::quote(
            "XRPUSDT",
            0.6091,
            25120.55,
            0.6092,
            8841.03,
            ms(1700000000785),
        ),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(BybitDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn zero_quantity_deletes_a_side() {
    let snap = r#"{"topic":"orderbook.1.BTCUSDT","ts":1000,"type":"snapshot","data":{"s":"BTCUSDT","b":[["10.5","1"]],"a":[["10.6","2"]],"u":5,"seq":1}}"#;
    let del_ask = r#"{"topic":"orderbook.1.BTCUSDT","ts":1001,"type":"delta","data":{"s":"BTCUSDT","b":[],"a":[["10.6","0"]],"u":6,"seq":2}}"#;
    let new_ask = r#"{"topic":"orderbook.1.BTCUSDT","ts":1002,"type":"delta","data":{"s":"BTCUSDT","b":[],"a":[["10.7","3"]],"u":7,"seq":3}}"#;
    expect_sequence(
        &[snap, del_ask, new_ask],
        &[
            ok(vec![Item::quote("BTCUSDT", 10.5, 1.0, 10.6, 2.0, ms(1000))]),
            err(ParseError::EmptySide),
            ok(vec![Item::quote("BTCUSDT", 10.5, 1.0, 10.7, 3.0, ms(1002))]),
        ],
    );
}

#[test]
fn delta_before_any_snapshot_with_an_empty_side_is_empty() {
    let delta = r#"{"topic":"orderbook.1.BTCUSDT","ts":1001,"type":"delta","data":{"s":"BTCUSDT","b":[["10.5","1"]],"a":[],"u":6,"seq":2}}"#;
    let ask = r#"{"topic":"orderbook.1.BTCUSDT","ts":1002,"type":"delta","data":{"s":"BTCUSDT","b":[],"a":[["10.6","2"]],"u":7,"seq":3}}"#;
    expect_sequence(
        &[delta, ask],
        &[
            err(ParseError::EmptySide),
            // The bid of the failed delta was kept.
            ok(vec![Item::quote("BTCUSDT", 10.5, 1.0, 10.6, 2.0, ms(1002))]),
        ],
    );
}

#[test]
fn snapshot_with_an_empty_side_clears_it() {
    let snap = r#"{"topic":"orderbook.1.BTCUSDT","ts":1000,"type":"snapshot","data":{"s":"BTCUSDT","b":[["10.5","1"]],"a":[["10.6","2"]],"u":5,"seq":1}}"#;
    let snap_no_ask = r#"{"topic":"orderbook.1.BTCUSDT","ts":1001,"type":"snapshot","data":{"s":"BTCUSDT","b":[["10.4","1"]],"a":[],"u":6,"seq":2}}"#;
    expect_sequence(
        &[snap, snap_no_ask],
        &[
            ok(vec![Item::quote("BTCUSDT", 10.5, 1.0, 10.6, 2.0, ms(1000))]),
            err(ParseError::EmptySide),
        ],
    );
}

#[test]
fn restart_resets_the_symbol() {
    let snap = r#"{"topic":"orderbook.1.BTCUSDT","ts":1000,"type":"snapshot","data":{"s":"BTCUSDT","b":[["10.5","1"]],"a":[["10.6","2"]],"u":5,"seq":1}}"#;
    let eth = r#"{"topic":"orderbook.1.ETHUSDT","ts":1000,"type":"snapshot","data":{"s":"ETHUSDT","b":[["1.5","1"]],"a":[["1.6","2"]],"u":5,"seq":1}}"#;
    let restart = r#"{"topic":"orderbook.1.BTCUSDT","ts":1001,"type":"delta","data":{"s":"BTCUSDT","b":[["10.4","1"]],"a":[],"u":1,"seq":2}}"#;
    let eth_delta = r#"{"topic":"orderbook.1.ETHUSDT","ts":1002,"type":"delta","data":{"s":"ETHUSDT","b":[["1.4","7"]],"a":[],"u":6,"seq":2}}"#;
    expect_sequence(
        &[snap, eth, restart, eth_delta],
        &[
            ok(vec![Item::quote("BTCUSDT", 10.5, 1.0, 10.6, 2.0, ms(1000))]),
            ok(vec![Item::quote("ETHUSDT", 1.5, 1.0, 1.6, 2.0, ms(1000))]),
            err(ParseError::EmptySide),
            // Other symbols keep their state.
            ok(vec![Item::quote("ETHUSDT", 1.4, 7.0, 1.6, 2.0, ms(1002))]),
        ],
    );
}

#[test]
fn validating_path_shares_state_and_ignores_key_order() {
    let l = lines(V, "book_ticker.jsonl");
    // Keys reordered: the fast path gives up, the validating path merges into the same book.
    let delta = r#"{"data":{"u":20404755,"a":[],"seq":4281281875,"b":[["28165.07","0.166754"]],"s":"BTCUSDT"},"type":"delta","cts":1680652806610,"ts":1680652806615,"topic":"orderbook.1.BTCUSDT"}"#;
    let mut dec = BybitDecoder::new();
    let (_, r) = decode(&mut dec, FrameKind::Text, l[0].as_bytes());
    assert_eq!(r, Ok(()));
    let (items, r) = decode(&mut dec, FrameKind::Text, delta.as_bytes());
    assert_eq!(r, Ok(()));
    assert_eq!(
        items,
        [Item::quote(
            "BTCUSDT",
            28165.07,
            0.166754,
            28165.08,
            0.996816,
            ms(1680652806610),
        )]
    );
}

#[test]
fn deeper_delta_lists_take_the_best_live_level() {
    let snap = r#"{"topic":"orderbook.1.BTCUSDT","ts":1000,"type":"snapshot","data":{"s":"BTCUSDT","b":[["10.5","1"]],"a":[["10.6","2"]],"u":5,"seq":1}}"#;
    let delta = r#"{"topic":"orderbook.1.BTCUSDT","ts":1001,"type":"delta","data":{"s":"BTCUSDT","b":[["10.5","0"],["10.4","4"],["10.3","9"]],"a":[["10.7","3"],["10.6","0"]],"u":6,"seq":2}}"#;
    expect_sequence(
        &[snap, delta],
        &[
            ok(vec![Item::quote("BTCUSDT", 10.5, 1.0, 10.6, 2.0, ms(1000))]),
            ok(vec![Item::quote("BTCUSDT", 10.4, 4.0, 10.7, 3.0, ms(1001))]),
        ],
    );
}

#[test]
fn trades_decode_to_their_values() {
    let l = lines(V, "trades.jsonl");
    let t = ms(1680652847524);
    let expected: [Vec<Item>; 3] = [
        vec![
            Item::trade(
                "BTCUSDT",
                28165.38,
                0.041732,
                Sell,
                "2290000000050703789",
                t,
            ),
            Item::trade(
                "BTCUSDT",
                28165.38,
                0.008513,
                Sell,
                "2290000000050703790",
                t,
            ),
            Item::trade(
                "BTCUSDT",
                28165.38,
                0.042384,
                Sell,
                "2290000000050703791",
                t,
            ),
            Item::trade(
                "BTCUSDT",
                28165.38,
                0.055371,
                Sell,
                "2290000000050703792",
                t,
            ),
        ],
        vec![Item::trade(
            "BTCUSDC",
            28528.98,
            0.00433,
            Buy,
            "2240000000041223438",
            ms(1680688979998),
        )],
        vec![Item::trade(
            "BTCUSDT",
            16578.5,
            0.001,
            Buy,
            "20f43950-d8dd-5b31-9112-a178eb6023af",
            ms(1672304486865),
        )],
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(BybitDecoder::new, FrameKind::Text, line.as_bytes(), &e);
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
            Buy,
            "2290000000061742155",
            ms(1700000001000),
        )],
        vec![
            Item::trade(
                "SOLUSDT",
                57.812,
                12.4,
                Sell,
                "2290000000061742160",
                ms(1700000001500),
            ),
            Item::trade(
                "SOLUSDT",
                57.811,
                3.1,
                Sell,
                "2290000000061742161",
                ms(1700000001500),
            ),
        ],
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(BybitDecoder::new, FrameKind::Text, line.as_bytes(), &e);
    }
}

#[test]
fn a_bad_trade_in_a_batch_comes_after_the_good_ones() {
    let frame = r#"{"topic":"publicTrade.BTCUSDT","ts":2,"type":"snapshot","data":[{"i":"1","T":1,"p":"5","v":"1","S":"Buy","s":"BTCUSDT","BT":false},{"i":"2","T":1,"p":"-5","v":"1","S":"Buy","s":"BTCUSDT","BT":false},{"i":"3","T":1,"p":"5","v":"1","S":"Buy","s":"BTCUSDT","BT":false}]}"#;
    let (items, r) = decode_both(BybitDecoder::new, FrameKind::Text, frame.as_bytes());
    assert_eq!(items, [Item::trade("BTCUSDT", 5.0, 1.0, Buy, "1", ms(1))]);
    assert_eq!(r, Err(ParseError::BadValue("p")));
}

#[test]
fn control_messages_are_classified() {
    let l = lines(V, "control.jsonl");
    let got: Vec<Item> = l
        .iter()
        .map(|line| {
            let (items, r) = decode_both(BybitDecoder::new, FrameKind::Text, line.as_bytes());
            assert_eq!(r, Ok(()), "{line}");
            assert_eq!(items.len(), 1, "{line}");
            items[0].clone()
        })
        .collect();
    let control = |kind, what, id: Option<&str>, text: Option<&str>| Item::Control {
        kind,
        what,
        id: id.map(str::to_owned),
        code: None,
        text: text.map(str::to_owned),
    };
    use ControlKind::*;
    assert_eq!(
        got,
        [
            control(Ack, "subscribe", Some("10001"), None),
            control(Pong, "pong", None, None),
            control(Info, "client_request", Some("test"), Some("subscribe")),
            control(Info, "client_request", Some("100001"), Some("ping")),
        ]
    );

    let failure = r#"{"success":false,"ret_msg":"error:handler not found","conn_id":"c","req_id":"9","op":"subscribe"}"#;
    let (items, r) = decode_both(BybitDecoder::new, FrameKind::Text, failure.as_bytes());
    assert_eq!(r, Ok(()));
    assert_eq!(
        items,
        [control(
            Error,
            "error",
            Some("9"),
            Some("error:handler not found")
        )]
    );
    let unsub = r#"{"success":true,"ret_msg":"","conn_id":"c","op":"unsubscribe"}"#;
    let (items, _) = decode_both(BybitDecoder::new, FrameKind::Text, unsub.as_bytes());
    assert_eq!(items, [control(Ack, "unsubscribe", None, None)]);
    let (items, _) = decode_both(BybitDecoder::new, FrameKind::Ping, b"hb");
    assert_eq!(items[0].control_kind(), Some(Ping));
}

#[test]
fn bad_frames_are_errors() {
    let book = |b: &str, a: &str| {
        format!(
            r#"{{"topic":"orderbook.1.X","ts":1,"type":"snapshot","data":{{"s":"X","b":{b},"a":{a},"u":2,"seq":1}}}}"#
        )
    };
    let cases: Vec<(String, ParseError)> = vec![
        ("{".into(), ParseError::Json),
        ("[]".into(), ParseError::UnknownMessage),
        (r#"{"foo":1}"#.into(), ParseError::UnknownMessage),
        (
            r#"{"topic":"orderbook.1.X","ts":1,"type":"snapshot","data":{"s":"X","b":[["1","1"]],"u":2,"seq":1}}"#.into(),
            ParseError::MissingField("a"),
        ),
        (
            r#"{"topic":"orderbook.1.X","ts":1,"type":"snapshot","data":{"s":5,"b":[],"a":[],"u":2,"seq":1}}"#.into(),
            ParseError::WrongType("s"),
        ),
        (book(r#"[["-1","1"]]"#, r#"[["2","1"]]"#), ParseError::BadValue("b")),
        (book(r#"[["x","1"]]"#, r#"[["2","1"]]"#), ParseError::BadNumber("b")),
        (book(r#"[["1","1"]]"#, r#""2""#), ParseError::WrongType("a")),
        (book(r#"[["1","1"]]"#, "[]"), ParseError::EmptySide),
        (book(r#"[["1","1"]]"#, r#"[["2","0"]]"#), ParseError::EmptySide),
        (
            r#"{"topic":"orderbook.50.X","ts":1,"type":"snapshot","data":{}}"#.into(),
            ParseError::Unsupported("order book deeper than L1"),
        ),
        (
            r#"{"topic":"tickers.BTCUSDT","ts":1,"type":"snapshot","data":{}}"#.into(),
            ParseError::Unsupported("channel"),
        ),
        (
            r#"{"topic":"publicTrade.X","ts":1,"type":"snapshot","data":[{"i":"1","T":1,"p":"1","v":"1","S":"Hold","s":"X","BT":false}]}"#.into(),
            ParseError::BadValue("S"),
        ),
        (
            r#"{"topic":"publicTrade.X","ts":1,"type":"snapshot","data":[{"i":"1","p":"1","v":"1","S":"Buy","s":"X","BT":false}]}"#.into(),
            ParseError::MissingField("T"),
        ),
        (
            r#"{"topic":"publicTrade.X","ts":1,"type":"snapshot","data":{}}"#.into(),
            ParseError::WrongType("data"),
        ),
        (
            r#"{"success":"yes","op":"subscribe"}"#.into(),
            ParseError::WrongType("success"),
        ),
    ];
    for (frame, e) in &cases {
        let (items, r) = decode_both(BybitDecoder::new, FrameKind::Text, frame.as_bytes());
        assert!(items.is_empty(), "{frame}");
        assert_eq!(r, Err(*e), "{frame}");
    }
    let mut dec = BybitDecoder::new();
    let mut n = 0;
    let r = dec.decode(FrameKind::Binary, b"\x1f\x8b", &mut |_| n += 1);
    assert_eq!(r, Err(ParseError::Unsupported("binary frame")));
    assert_eq!(n, 0);
}

#[test]
fn mutated_fixtures_never_panic_and_paths_agree() {
    for file in [
        "book_ticker.jsonl",
        "book_ticker.constructed.jsonl",
        "trades.jsonl",
        "trades.constructed.jsonl",
        "control.jsonl",
    ] {
        for line in lines(V, file) {
            util::check_mutations(BybitDecoder::new, FrameKind::Text, line.as_bytes());
        }
    }
}
