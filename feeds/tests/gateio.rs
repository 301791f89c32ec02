//! Gate fixtures decode to exactly what they say, on both paths.

mod util;

use arb_engine::Side::{Buy, Sell};
use arb_feeds::gateio::GateioDecoder;
use arb_feeds::{ControlKind, Decoded, FrameDecoder, FrameKind, ParseError, RawTradeId};
use util::{Item, decode_both, expect_items, lines, ms};

const V: &str = "gateio";

const fn secs(v: i64) -> i64 {
    v * 1_000_000_000
}

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
            "BTC_USDT",
            31738.93,
            2.3039,
            31738.94,
            0.335,
            ms(1654029559473),
        ),
        Item::quote(
            "ETC_ETH",
            0.010326,
            0.001,
            0.010366,
            10.0,
            ms(1682689046131),
        ),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(GateioDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn constructed_book_tickers_decode_to_their_values() {
    let l = lines(V, "book_ticker.constructed.jsonl");
    let expected = [
        Item::quote(
            "ETH_USDT",
            2045.31,
            4.2161,
            2045.32,
            0.8017,
            ms(1700000000148),
        ),
        Item::quote("SOL_USDT", 57.811, 120.55, 57.812, 15.02, ms(1700000000371)),
        Item::quote(
            "DOGE_USDT",
            0.062331,
            15402.0,
            0.062338,
            88210.0,
            ms(1700000001039),
        ),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(GateioDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn trades_decode_to_their_values() {
    let l = lines(V, "trades.jsonl");
    let expected = [
        Item::trade(
            "BTC_USDT",
            47395.009,
            0.00052,
            Buy,
            "1638417041",
            1_631_824_310_261_896_000,
        ),
        Item::trade(
            "TLOS_BTC",
            0.00000644,
            89.238,
            Buy,
            "5541729598",
            1_682_689_046_123_000_000,
        ),
        Item::trade(
            "DIS_USDT",
            121.58,
            0.201,
            Sell,
            "816995772",
            1_619_093_543_708_264_200,
        ),
        Item::trade(
            "NEO_BTC",
            0.0018735,
            0.5,
            Buy,
            "816995970",
            1_619_093_546_958_116_000,
        ),
        Item::trade(
            "NEO_BTC",
            0.0018753,
            1.07,
            Sell,
            "816995982",
            1_619_093_547_078_008_000,
        ),
        Item::trade(
            "FAST_USDT",
            10.42,
            1.717,
            Sell,
            "816996516",
            1_619_093_553_517_921_000,
        ),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(GateioDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn trade_ids_are_json_integers() {
    let l = lines(V, "trades.jsonl");
    let mut dec = GateioDecoder::new();
    for validating in [false, true] {
        let mut ids = Vec::new();
        let mut sink = |d: Decoded<'_>| {
            if let Decoded::Trade(t) = d
                && let RawTradeId::Num(n) = t.trade_id
            {
                ids.push(n);
            }
        };
        let r = if validating {
            dec.decode_validating(FrameKind::Text, l[0].as_bytes(), &mut sink)
        } else {
            dec.decode(FrameKind::Text, l[0].as_bytes(), &mut sink)
        };
        assert_eq!(r, Ok(()));
        assert_eq!(ids, [1638417041]);
    }
}

#[test]
fn trade_time_falls_back_to_create_time() {
    let frame = r#"{"time":1606292218,"channel":"spot.trades","event":"update","result":{"id":7,"create_time":1606292218,"side":"sell","currency_pair":"BTC_USDT","amount":"1","price":"2"}}"#;
    expect_items(
        GateioDecoder::new,
        FrameKind::Text,
        frame.as_bytes(),
        &[Item::trade(
            "BTC_USDT",
            2.0,
            1.0,
            Sell,
            "7",
            secs(1606292218),
        )],
    );
}

#[test]
fn ws_tickers_decode_to_best_prices_without_sizes() {
    let l = lines(V, "ws_tickers.jsonl");
    let expected = [
        Item::quote("NEO_BTC", 0.0018697, 0.0, 0.0018734, 0.0, secs(1619093533)),
        Item::quote("NEO_BTC", 0.0018697, 0.0, 0.0018735, 0.0, secs(1619093534)),
        Item::quote("OMG_USDT", 7.899, 0.0, 7.927, 0.0, secs(1619093535)),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(GateioDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
    // Newer envelopes carry `time_ms`, which wins over `time`.
    let frame = r#"{"time":1619093533,"time_ms":1619093533123,"channel":"spot.tickers","event":"update","result":{"currency_pair":"NEO_BTC","last":"0.0018716","lowest_ask":"0.0018734","highest_bid":"0.0018697"}}"#;
    expect_items(
        GateioDecoder::new,
        FrameKind::Text,
        frame.as_bytes(),
        &[Item::quote(
            "NEO_BTC",
            0.0018697,
            0.0,
            0.0018734,
            0.0,
            ms(1619093533123),
        )],
    );
}

#[test]
fn control_messages_are_classified() {
    use ControlKind::*;
    let real = lines(V, "control.jsonl");
    let expected = [
        control(Ack, "subscribe", None, None),
        control(Ack, "subscribe", None, None),
        control(Ack, "subscribe", None, None),
        control(Info, "client_request", None, Some("subscribe")),
        control(
            Error,
            "error",
            Some(2),
            Some("unknown currency pair GIBBERISH_USD"),
        ),
    ];
    assert_eq!(real.len(), expected.len());
    for (line, e) in real.iter().zip(expected) {
        expect_items(GateioDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
    let constructed = lines(V, "control.constructed.jsonl");
    let expected = [
        control(Info, "client_request", None, Some("spot.ping")),
        control(Pong, "pong", None, None),
        control(Info, "client_request", None, Some("subscribe")),
    ];
    assert_eq!(constructed.len(), expected.len());
    for (line, e) in constructed.iter().zip(expected) {
        expect_items(GateioDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }

    let unsub =
        r#"{"time":1,"channel":"spot.trades","event":"unsubscribe","result":{"status":"success"}}"#;
    expect_items(
        GateioDecoder::new,
        FrameKind::Text,
        unsub.as_bytes(),
        &[control(Ack, "unsubscribe", None, None)],
    );
    let failed =
        r#"{"time":1,"channel":"spot.trades","event":"subscribe","result":{"status":"fail"}}"#;
    expect_items(
        GateioDecoder::new,
        FrameKind::Text,
        failed.as_bytes(),
        &[control(Error, "error", None, Some("fail"))],
    );
    let old_pong = r#"{"time":1,"channel":"spot.pong","event":"","error":null,"result":null}"#;
    expect_items(
        GateioDecoder::new,
        FrameKind::Text,
        old_pong.as_bytes(),
        &[control(Pong, "pong", None, None)],
    );
    let (items, _) = decode_both(GateioDecoder::new, FrameKind::Pong, b"");
    assert_eq!(items[0].control_kind(), Some(Pong));
}

#[test]
fn bad_frames_are_errors() {
    let bt = |b: &str| {
        format!(
            r#"{{"time":1,"channel":"spot.book_ticker","event":"update","result":{{"t":1,"u":2,"s":"X_Y","b":"{b}","B":"1","a":"2","A":"1"}}}}"#
        )
    };
    let trade = |id: &str, side: &str| {
        format!(
            r#"{{"time":1,"channel":"spot.trades","event":"update","result":{{"id":{id},"create_time":1,"create_time_ms":"1000.5","side":"{side}","currency_pair":"X_Y","amount":"1","price":"2"}}}}"#
        )
    };
    let cases: Vec<(String, ParseError)> = vec![
        ("{".into(), ParseError::Json),
        ("[]".into(), ParseError::UnknownMessage),
        (r#"{"time":1}"#.into(), ParseError::MissingField("channel")),
        (
            r#"{"time":1,"channel":"spot.trades","event":"mystery"}"#.into(),
            ParseError::UnknownMessage,
        ),
        (
            r#"{"time":1,"channel":"spot.trades","event":"subscribe"}"#.into(),
            ParseError::UnknownMessage,
        ),
        (
            r#"{"time":1,"channel":"spot.book_ticker","event":"update","result":{"t":1,"u":2,"s":"X_Y","b":"1","B":"1","a":"2"}}"#.into(),
            ParseError::MissingField("A"),
        ),
        (
            r#"{"time":1,"channel":"spot.book_ticker","event":"update","result":{"t":1,"u":2,"s":5,"b":"1","B":"1","a":"2","A":"1"}}"#.into(),
            ParseError::WrongType("s"),
        ),
        (
            r#"{"time":1,"channel":"spot.book_ticker","event":"update","result":null}"#.into(),
            ParseError::WrongType("result"),
        ),
        (bt("-1"), ParseError::BadValue("b")),
        (bt("1x"), ParseError::BadNumber("b")),
        (bt(""), ParseError::EmptySide),
        (
            r#"{"time":1,"channel":"spot.tickers","event":"update","result":{"currency_pair":"X_Y","lowest_ask":"2","highest_bid":""}}"#.into(),
            ParseError::EmptySide,
        ),
        (trade("1", "x"), ParseError::BadValue("side")),
        (trade("1.5", "buy"), ParseError::BadValue("id")),
        (trade("true", "buy"), ParseError::WrongType("id")),
        (
            r#"{"time":1,"channel":"spot.trades","event":"update","result":{"id":1,"create_time_ms":"17x","side":"buy","currency_pair":"X_Y","amount":"1","price":"2"}}"#.into(),
            ParseError::BadNumber("create_time_ms"),
        ),
        (
            r#"{"time":1,"channel":"spot.order_book_update","event":"update","result":{"t":1,"s":"X_Y","U":1,"u":2,"b":[],"a":[]}}"#.into(),
            ParseError::Unsupported("order book deeper than L1"),
        ),
        (
            r#"{"time":1,"channel":"spot.obu","event":"update","result":{}}"#.into(),
            ParseError::Unsupported("order book deeper than L1"),
        ),
        (
            r#"{"time":1,"channel":"spot.order_book","event":"all","result":{}}"#.into(),
            ParseError::Unsupported("order book deeper than L1"),
        ),
        (
            r#"{"time":1,"channel":"spot.candlesticks","event":"update","result":{}}"#.into(),
            ParseError::Unsupported("channel"),
        ),
    ];
    for (frame, e) in &cases {
        let (items, r) = decode_both(GateioDecoder::new, FrameKind::Text, frame.as_bytes());
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
        "ws_tickers.jsonl",
        "control.jsonl",
        "control.constructed.jsonl",
    ] {
        for line in lines(V, file) {
            util::check_mutations(GateioDecoder::new, FrameKind::Text, line.as_bytes());
        }
    }
}

/// `create_time_ms` whose whole milliseconds fit an i64 of ns but whose fraction pushes it
/// past i64::MAX: once wrapped to a negative time in release and panicked in debug.
#[test]
fn trade_create_time_ms_past_i64_is_bad_value() {
    for ts in ["9223372036854.9", "9223372036854.775808", "9223372036855.0"] {
        let frame = format!(
            r#"{{"time":1,"channel":"spot.trades","event":"update","result":{{"id":1,"create_time":1,"create_time_ms":"{ts}","side":"buy","currency_pair":"BTC_USDT","amount":"1","price":"2"}}}}"#
        );
        let (items, r) = decode_both(GateioDecoder::new, FrameKind::Text, frame.as_bytes());
        assert!(items.is_empty(), "{frame}");
        assert_eq!(r, Err(ParseError::BadValue("create_time_ms")), "{frame}");
    }
    // The last representable instant still decodes.
    let frame = r#"{"time":1,"channel":"spot.trades","event":"update","result":{"id":1,"create_time":1,"create_time_ms":"9223372036854.775807","side":"buy","currency_pair":"BTC_USDT","amount":"1","price":"2"}}"#;
    expect_items(
        GateioDecoder::new,
        FrameKind::Text,
        frame.as_bytes(),
        &[Item::trade("BTC_USDT", 2.0, 1.0, Buy, "1", i64::MAX)],
    );
}
