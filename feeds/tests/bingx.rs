//! BingX fixtures decode to exactly what they say, on both paths, as text and gzipped.

mod util;

use std::io::Write as _;

use arb_engine::Side::{Buy, Sell};
use arb_feeds::bingx::{BingxDecoder, gzip_compress};
use arb_feeds::{ControlKind, FrameKind, ParseError};
use flate2::Compression;
use flate2::write::GzEncoder;
use util::{Item, decode_both, expect_items, lines, ms};

const V: &str = "bingx";
const FILES: [&str; 5] = [
    "book_ticker.jsonl",
    "book_ticker.constructed.jsonl",
    "trades.jsonl",
    "trades.constructed.jsonl",
    "control.jsonl",
];

/// Gzips `text` the way the server does, with an independent encoder.
fn gz(text: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(text).expect("gzip into a Vec");
    enc.finish().expect("gzip into a Vec")
}

/// Expects `frame` to hold exactly `expected`, as a text frame and as a gzipped binary one.
fn expect_both_encodings(frame: &[u8], expected: &[Item]) {
    expect_items(BingxDecoder::new, FrameKind::Text, frame, expected);
    expect_items(BingxDecoder::new, FrameKind::Binary, &gz(frame), expected);
}

#[test]
fn book_tickers_decode_to_their_values() {
    let cases = [
        (
            "book_ticker.jsonl",
            vec![Item::quote(
                "BTC-USDT",
                121342.22,
                4.372149,
                121348.56,
                0.000016,
                ms(1760066515920),
            )],
        ),
        (
            "book_ticker.constructed.jsonl",
            vec![
                Item::quote(
                    "ETH-USDT",
                    4478.30,
                    11.0087,
                    4478.31,
                    3.2145,
                    ms(1760066516102),
                ),
                Item::quote("SOL-USDT", 221.53, 88.41, 221.54, 150.2, ms(1760066516230)),
                Item::quote(
                    "DOGE-USDT",
                    0.25609,
                    190023.0,
                    0.25612,
                    52210.0,
                    ms(1760066516388),
                ),
                Item::quote("XRP-USDT", 2.8539, 930.2, 2.8541, 1820.7, ms(1760066516501)),
            ],
        ),
    ];
    for (file, expected) in cases {
        let l = lines(V, file);
        assert_eq!(l.len(), expected.len(), "{file}");
        for (line, e) in l.iter().zip(expected) {
            expect_both_encodings(line.as_bytes(), &[e]);
        }
    }
}

#[test]
fn trades_decode_to_their_values() {
    let cases = [
        (
            "trades.jsonl",
            vec![Item::trade(
                "BTC-USDT",
                121123.47,
                0.003189,
                Sell,
                "172356086",
                ms(1760066129316),
            )],
        ),
        (
            "trades.constructed.jsonl",
            vec![
                Item::trade(
                    "ETH-USDT",
                    4478.31,
                    0.0521,
                    Buy,
                    "98801233",
                    ms(1760066129990),
                ),
                Item::trade(
                    "SOL-USDT",
                    221.53,
                    3.12,
                    Sell,
                    "41200871",
                    ms(1760066130399),
                ),
                Item::trade(
                    "DOGE-USDT",
                    0.25612,
                    1500.0,
                    Buy,
                    "66002318",
                    ms(1760066130995),
                ),
                Item::trade(
                    "XRP-USDT",
                    2.8539,
                    230.4,
                    Sell,
                    "52390017",
                    ms(1760066131488),
                ),
            ],
        ),
    ];
    for (file, expected) in cases {
        let l = lines(V, file);
        assert_eq!(l.len(), expected.len(), "{file}");
        for (line, e) in l.iter().zip(expected) {
            expect_both_encodings(line.as_bytes(), &[e]);
        }
    }
}

#[test]
fn older_pushes_without_envelope_fields_decode() {
    expect_both_encodings(
        br#"{"data":{"E":1,"T":1672515782136,"e":"trade","m":false,"p":"1.5","q":"2","s":"X-Y","t":"9"},"dataType":"X-Y@trade"}"#,
        &[Item::trade("X-Y", 1.5, 2.0, Buy, "9", ms(1672515782136))],
    );
    // Any key order, numeric trade id, no trade time.
    expect_both_encodings(
        br#"{"dataType":"X-Y@trade","data":{"s":"X-Y","e":"trade","t":12,"p":"1.5","q":"2","m":true}}"#,
        &[Item::trade("X-Y", 1.5, 2.0, Sell, "12", 0)],
    );
    expect_both_encodings(
        br#"{"data":{"e":"bookTicker","s":"X-Y","b":"1","B":"2","a":"3","A":"4"},"dataType":"X-Y@bookTicker"}"#,
        &[Item::quote("X-Y", 1.0, 2.0, 3.0, 4.0, 0)],
    );
}

#[test]
fn control_messages_are_classified() {
    let l = lines(V, "control.jsonl");
    let control = |kind, what, id: &str, text: Option<&str>| Item::Control {
        kind,
        what,
        id: Some(id.to_owned()),
        code: None,
        text: text.map(str::to_owned),
    };
    use ControlKind::*;
    let expected = [
        control(
            Info,
            "client_request",
            "975f7385-7f28-4ef1-93af-df01cb9ebb53",
            Some("sub"),
        ),
        control(
            Ack,
            "subscribe",
            "e745cd6d-d0f6-4a70-8d5a-043e4c741b40",
            Some("SUCCESS"),
        ),
        control(
            Ack,
            "subscribe",
            "e745cd6d-d0f6-4a70-8d5a-043e4c741b40",
            None,
        ),
        control(
            Info,
            "client_request",
            "24dd0e35-56a4-4f7a-af8a-394c7060909c",
            Some("unsub"),
        ),
        control(
            Ping,
            "ping",
            "2177c68e4d0e45679965f482929b59c2",
            Some("2022-06-07T16:27:36.323+0800"),
        ),
        control(
            Info,
            "client_request",
            "2177c68e4d0e45679965f482929b59c2",
            None,
        ),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_both_encodings(line.as_bytes(), &[e]);
    }

    expect_both_encodings(
        br#"{"code":100400,"id":"x","msg":"illegal argument","timestamp":1}"#,
        &[Item::Control {
            kind: Error,
            what: "error",
            id: Some("x".into()),
            code: Some(100400),
            text: Some("illegal argument".into()),
        }],
    );
    // Bare-text heartbeats of the swap socket, plain and gzipped.
    for (text, kind, what) in [
        (&b"Ping"[..], Ping, "text_ping"),
        (b"Pong", Pong, "text_pong"),
    ] {
        let item = Item::Control {
            kind,
            what,
            id: None,
            code: None,
            text: None,
        };
        expect_both_encodings(text, &[item]);
    }
    let (items, _) = decode_both(BingxDecoder::new, FrameKind::Ping, b"hb");
    assert!(matches!(
        &items[0],
        Item::Control { kind: Ping, what: "ws_ping", text: Some(t), .. } if t == "hb"
    ));
}

#[test]
fn the_gzip_helper_feeds_the_decoder() {
    let line = &lines(V, "trades.jsonl")[0];
    let mut frame = Vec::new();
    gzip_compress(line.as_bytes(), &mut frame);
    let (items, r) = decode_both(BingxDecoder::new, FrameKind::Binary, &frame);
    assert_eq!(r, Ok(()));
    assert_eq!(items.len(), 1);
    // One decoder reused across many frames keeps decoding.
    let mut dec = BingxDecoder::new();
    for file in FILES {
        for line in lines(V, file) {
            let (items, r) = util::decode(&mut dec, FrameKind::Binary, &gz(line.as_bytes()));
            assert_eq!((items.len(), r), (1, Ok(())), "{line}");
        }
    }
}

#[test]
fn bad_gzip_frames_are_errors() {
    let frame = gz(lines(V, "book_ticker.jsonl")[0].as_bytes());
    // Corrupt deflate data, header or trailer.
    for i in [
        0,
        2,
        3,
        12,
        frame.len() / 2,
        frame.len() - 6,
        frame.len() - 2,
    ] {
        let mut bad = frame.clone();
        bad[i] ^= 0x55;
        let (items, r) = decode_both(BingxDecoder::new, FrameKind::Binary, &bad);
        assert!(items.is_empty(), "byte {i}");
        assert_eq!(r, Err(ParseError::Gzip), "byte {i}");
    }
    // Every truncation is an error.
    for cut in 0..frame.len() {
        let (items, r) = decode_both(BingxDecoder::new, FrameKind::Binary, &frame[..cut]);
        assert!(items.is_empty(), "cut {cut}");
        assert_eq!(r, Err(ParseError::Gzip), "cut {cut}");
    }
    // Plain JSON sent as binary is not gzip.
    let (_, r) = decode_both(BingxDecoder::new, FrameKind::Binary, b"{\"ping\":\"1\"}");
    assert_eq!(r, Err(ParseError::Gzip));
    // A frame that inflates past the bound.
    let huge = vec![b' '; arb_feeds::bingx::MAX_INFLATED_FRAME_BYTES + 1];
    let (_, r) = decode_both(BingxDecoder::new, FrameKind::Binary, &gz(&huge));
    assert_eq!(r, Err(ParseError::Oversize));
    // A gzipped frame that is not JSON.
    let (_, r) = decode_both(BingxDecoder::new, FrameKind::Binary, &gz(b"{"));
    assert_eq!(r, Err(ParseError::Json));
}

#[test]
fn bad_frames_are_errors() {
    let book = |data: &str| format!(r#"{{"code":0,"data":{data},"dataType":"X-Y@bookTicker"}}"#);
    let trade = |data: &str| format!(r#"{{"code":0,"data":{data},"dataType":"X-Y@trade"}}"#);
    let cases: Vec<(String, ParseError)> = vec![
        ("{".into(), ParseError::Json),
        ("[]".into(), ParseError::UnknownMessage),
        ("ping".into(), ParseError::Json),
        ("{}".into(), ParseError::UnknownMessage),
        (
            book(r#"{"B":"1","E":1,"a":"2","b":"1","e":"bookTicker","s":"X-Y"}"#),
            ParseError::MissingField("A"),
        ),
        (
            book(r#"{"A":"1","B":"1","E":1,"a":"2","b":"-1","e":"bookTicker","s":"X-Y"}"#),
            ParseError::BadValue("b"),
        ),
        (
            book(r#"{"A":"1","B":"1","E":1,"a":"","b":"1","e":"bookTicker","s":"X-Y"}"#),
            ParseError::EmptySide,
        ),
        (
            book(r#"{"A":"1","B":"1","E":"x","a":"2","b":"1","e":"bookTicker","s":"X-Y"}"#),
            ParseError::BadNumber("E"),
        ),
        (
            book(r#"{"A":"1","B":"1","E":1,"a":"2","b":"1","e":"bookTicker","s":5}"#),
            ParseError::WrongType("s"),
        ),
        (
            trade(r#"{"E":1,"T":1,"e":"trade","m":"yes","p":"1","q":"1","s":"X-Y","t":"1"}"#),
            ParseError::WrongType("m"),
        ),
        (
            trade(r#"{"E":1,"T":1,"e":"trade","m":true,"p":"1","q":"1","s":"X-Y","t":[]}"#),
            ParseError::WrongType("t"),
        ),
        (
            r#"{"code":0,"data":{"bids":[],"asks":[]},"dataType":"X-Y@depth20"}"#.into(),
            ParseError::Unsupported("depth"),
        ),
        (
            r#"{"code":0,"data":{"e":"kline"},"dataType":"X-Y@kline_1min"}"#.into(),
            ParseError::Unsupported("kline"),
        ),
        (
            r#"{"code":0,"data":{"e":"mystery"}}"#.into(),
            ParseError::UnknownMessage,
        ),
        (
            r#"{"code":0,"data":[1]}"#.into(),
            ParseError::WrongType("data"),
        ),
        (
            r#"{"code":"0","id":"1"}"#.into(),
            ParseError::WrongType("code"),
        ),
        (r#"{"ping":1}"#.into(), ParseError::WrongType("ping")),
    ];
    for (frame, err) in &cases {
        let (items, r) = decode_both(BingxDecoder::new, FrameKind::Text, frame.as_bytes());
        assert!(items.is_empty(), "{frame}");
        assert_eq!(r, Err(*err), "{frame}");
    }
}

#[test]
fn mutated_fixtures_never_panic_and_paths_agree() {
    for file in FILES {
        for line in lines(V, file) {
            util::check_mutations(BingxDecoder::new, FrameKind::Text, line.as_bytes());
            util::check_mutations(BingxDecoder::new, FrameKind::Binary, &gz(line.as_bytes()));
        }
    }
}
