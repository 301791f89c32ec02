//! Binance fixtures decode to exactly what they say, on both paths.

mod util;

use arb_engine::Side::{Buy, Sell};
use arb_feeds::binance::BinanceDecoder;
use arb_feeds::{ControlKind, FrameKind, ParseError};
use util::{Item, decode_both, expect_items, lines, ms};

const V: &str = "binance";

#[test]
fn book_tickers_decode_to_their_values() {
    let l = lines(V, "book_ticker.jsonl");
    let expected = [
        Item::quote("BLZETH", 0.00006547, 100.0, 0.00006560, 1528.0, 0),
        Item::quote("LRCBTC", 0.00000637, 6500.0, 0.00000638, 27122.0, 0),
        Item::quote("LRCBTC", 0.00000637, 6500.0, 0.00000638, 5219.0, 0),
        Item::quote("NKNUSDT", 0.3521, 672.0, 0.3526, 3199.0, 0),
        Item::quote("NKNUSDT", 0.3521, 672.0, 0.3525, 1123.0, 0),
        Item::quote("BTCUSDT", 8010.0, 0.142459, 8012.15, 0.031201, 0),
        Item::quote("BNBUSDT", 25.3519, 31.21, 25.3652, 40.66, 0),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(BinanceDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn trades_decode_to_their_values() {
    let l = lines(V, "trades.jsonl");
    let expected = [
        Item::trade("NKNUSDT", 0.3528, 58.0, Buy, "15683430", ms(1633998523963)),
        Item::trade(
            "LRCBTC",
            0.00000638,
            177.0,
            Buy,
            "9213679",
            ms(1633998534486),
        ),
        Item::trade(
            "BTCUSDT",
            58942.01,
            0.000356,
            Buy,
            "640283266",
            ms(1616176861893),
        ),
        Item::trade(
            "ETHUSDT",
            1632.46,
            0.34305,
            Buy,
            "226532",
            ms(1675759520847),
        ),
        Item::trade("BNBBTC", 0.001, 100.0, Sell, "12345", ms(1672515782136)),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(BinanceDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn control_messages_are_classified() {
    let l = lines(V, "control.jsonl");
    let kinds: Vec<(ControlKind, &str)> = l
        .iter()
        .map(|line| {
            let (items, r) = decode_both(BinanceDecoder::new, FrameKind::Text, line.as_bytes());
            assert_eq!(r, Ok(()), "{line}");
            assert_eq!(items.len(), 1, "{line}");
            match &items[0] {
                Item::Control { kind, what, .. } => (*kind, *what),
                other => panic!("not control: {other:?}"),
            }
        })
        .collect();
    use ControlKind::*;
    assert_eq!(
        kinds,
        [
            (Ack, "subscribe"),
            (Ack, "subscribe"),
            (Error, "error"),
            (Error, "error"),
            (Info, "server_shutdown"),
            (Info, "client_request"),
        ]
    );
    let (items, _) = decode_both(BinanceDecoder::new, FrameKind::Text, l[2].as_bytes());
    assert!(
        matches!(&items[0], Item::Control { code: Some(2), text: Some(t), .. } if t.starts_with("Invalid request"))
    );
    let (items, _) = decode_both(BinanceDecoder::new, FrameKind::Ping, b"hb");
    assert!(
        matches!(&items[0], Item::Control { kind: Ping, what: "ws_ping", text: Some(t), .. } if t == "hb")
    );
}

#[test]
fn bad_frames_are_errors() {
    let dec = BinanceDecoder::new;
    let cases: &[(&str, ParseError)] = &[
        ("{", ParseError::Json),
        ("[]", ParseError::UnknownMessage),
        (
            r#"{"u":1,"s":"X","b":"1","B":"1","a":"2"}"#,
            ParseError::MissingField("A"),
        ),
        (
            r#"{"u":1,"s":"X","b":"-1","B":"1","a":"2","A":"1"}"#,
            ParseError::BadValue("b"),
        ),
        (
            r#"{"u":1,"s":"X","b":"abc","B":"1","a":"2","A":"1"}"#,
            ParseError::BadNumber("b"),
        ),
        (
            r#"{"u":1,"s":5,"b":"1","B":"1","a":"2","A":"1"}"#,
            ParseError::WrongType("s"),
        ),
        (
            r#"{"e":"trade","E":1,"s":"X","t":1,"p":"1","q":"1","T":1,"m":"yes","M":true}"#,
            ParseError::WrongType("m"),
        ),
        (
            r#"{"e":"depthUpdate","E":1,"s":"X"}"#,
            ParseError::Unsupported("depth stream"),
        ),
        (r#"{"e":"mystery"}"#, ParseError::UnknownMessage),
    ];
    for (frame, err) in cases {
        let (items, r) = decode_both(dec, FrameKind::Text, frame.as_bytes());
        assert!(items.is_empty(), "{frame}");
        assert_eq!(r, Err(*err), "{frame}");
    }
}

#[test]
fn mutated_fixtures_never_panic_and_paths_agree() {
    for file in ["book_ticker.jsonl", "trades.jsonl", "control.jsonl"] {
        for line in lines(V, file) {
            util::check_mutations(BinanceDecoder::new, FrameKind::Text, line.as_bytes());
        }
    }
}
