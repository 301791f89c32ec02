//! MEXC fixtures decode to exactly what they say: protobuf frames byte for byte, the docs'
//! JSON renderings, and control text; protobuf and JSON encodings of a push agree.

mod util;

use arb_engine::Side::{Buy, Sell};
use arb_feeds::mexc::{
    BookTickerBody, Deal, MexcDecoder, PushHeader, encode_book_ticker_batch_push,
    encode_book_ticker_push, encode_deals_push,
};
use arb_feeds::{ControlKind, FrameKind, ParseError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use util::{Item, decode, decode_both, expect_items, lines, ms};

const V: &str = "mexc";

/// One `*.constructed.jsonl` line: protobuf bytes and the JSON `decoded` object as text.
struct Constructed {
    wire: Vec<u8>,
    decoded: String,
}

fn constructed(file: &str) -> Vec<Constructed> {
    lines(V, file)
        .iter()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("fixture json");
            let wire = B64
                .decode(v["wire_b64"].as_str().expect("wire_b64"))
                .expect("base64");
            Constructed {
                wire,
                decoded: v["decoded"].to_string(),
            }
        })
        .collect()
}

fn book_ticker_expected() -> [Item; 3] {
    [
        Item::quote(
            "BTCUSDT",
            93387.28,
            3.73485,
            93387.29,
            7.669875,
            ms(1736412092433),
        ),
        Item::quote(
            "ETHUSDT",
            3318.02,
            12.50341,
            3318.03,
            0.84112,
            ms(1736412092511),
        ),
        Item::quote("MXUSDT", 3.1201, 1302.77, 3.1213, 455.1, ms(1736412092610)),
    ]
}

fn trades_expected() -> [Vec<Item>; 2] {
    [
        vec![Item::trade(
            "BTCUSDT",
            93220.00,
            0.04438243,
            Sell,
            "",
            ms(1736409765051),
        )],
        vec![
            Item::trade("ETHUSDT", 3318.03, 0.1201, Buy, "", ms(1736409765291)),
            Item::trade("ETHUSDT", 3318.04, 0.0457, Buy, "", ms(1736409765291)),
        ],
    ]
}

#[test]
fn protobuf_book_tickers_decode_to_their_values() {
    let c = constructed("book_ticker.constructed.jsonl");
    let expected = book_ticker_expected();
    assert_eq!(c.len(), expected.len());
    for (line, e) in c.iter().zip(expected) {
        let e = [e];
        expect_items(MexcDecoder::new, FrameKind::Binary, &line.wire, &e);
        expect_items(
            MexcDecoder::new,
            FrameKind::Text,
            line.decoded.as_bytes(),
            &e,
        );
    }
}

#[test]
fn protobuf_deals_decode_to_their_values() {
    let c = constructed("trades.constructed.jsonl");
    let expected = trades_expected();
    assert_eq!(c.len(), expected.len());
    for (line, e) in c.iter().zip(expected) {
        expect_items(MexcDecoder::new, FrameKind::Binary, &line.wire, &e);
        expect_items(
            MexcDecoder::new,
            FrameKind::Text,
            line.decoded.as_bytes(),
            &e,
        );
    }
}

#[test]
fn protobuf_and_json_renderings_agree() {
    for file in ["book_ticker.constructed.jsonl", "trades.constructed.jsonl"] {
        for line in constructed(file) {
            let (pb, r1) = decode_both(MexcDecoder::new, FrameKind::Binary, &line.wire);
            let (js, r2) = decode_both(MexcDecoder::new, FrameKind::Text, line.decoded.as_bytes());
            assert_eq!((r1, r2), (Ok(()), Ok(())), "{}", line.decoded);
            assert!(!pb.is_empty());
            assert_eq!(pb, js, "{}", line.decoded);
        }
    }
}

#[test]
fn doc_json_renderings_decode_to_their_values() {
    let l = lines(V, "book_ticker.jsonl");
    assert_eq!(l.len(), 2);
    expect_items(
        MexcDecoder::new,
        FrameKind::Text,
        l[0].as_bytes(),
        &[book_ticker_expected()[0].clone()],
    );
    expect_items(
        MexcDecoder::new,
        FrameKind::Text,
        l[1].as_bytes(),
        &[Item::quote(
            "BTCUSDT",
            96567.37,
            3.362925,
            96567.38,
            1.545255,
            ms(1739503249114),
        )],
    );

    let l = lines(V, "trades.jsonl");
    assert_eq!(l.len(), 2);
    expect_items(
        MexcDecoder::new,
        FrameKind::Text,
        l[0].as_bytes(),
        &trades_expected()[0],
    );
    expect_items(
        MexcDecoder::new,
        FrameKind::Text,
        l[1].as_bytes(),
        &[
            Item::trade(
                "BTCUSDT",
                100.1,
                0.2,
                Buy,
                "698165549569396736X0_698165549569396737X0",
                ms(1710000000001),
            ),
            Item::trade(
                "BTCUSDT",
                100.2,
                0.3,
                Sell,
                "698165549569396738X0_698165549569396739X0",
                ms(1710000000002),
            ),
        ],
    );
}

const BTC_BOOK: &str = "spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT";
const BTC_DEALS: &str = "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT";

fn header(channel: &str) -> PushHeader<'_> {
    PushHeader {
        channel,
        symbol: "BTCUSDT",
        create_time_ms: 0,
        send_time_ms: 1736412092433,
    }
}

#[test]
fn writer_reproduces_the_fixture_bytes() {
    let c = constructed("book_ticker.constructed.jsonl");
    let mut buf = Vec::new();
    encode_book_ticker_push(
        &mut buf,
        &header(BTC_BOOK),
        &BookTickerBody {
            bid_price: "93387.28",
            bid_quantity: "3.73485",
            ask_price: "93387.29",
            ask_quantity: "7.669875",
        },
    );
    assert_eq!(buf, c[0].wire);

    let c = constructed("trades.constructed.jsonl");
    let mut buf = Vec::new();
    let h = PushHeader {
        channel: "spot@public.aggre.deals.v3.api.pb@10ms@ETHUSDT",
        symbol: "ETHUSDT",
        create_time_ms: 0,
        send_time_ms: 1736409765300,
    };
    let deal = |price, quantity| Deal {
        price,
        quantity,
        trade_type: 1,
        time_ms: 1736409765291,
        trade_id: "",
    };
    encode_deals_push(
        &mut buf,
        &h,
        &[deal("3318.03", "0.1201"), deal("3318.04", "0.0457")],
        "spot@public.aggre.deals.v3.api.pb@10ms",
    );
    assert_eq!(buf, c[1].wire);
}

#[test]
fn writer_round_trips_through_the_decoder() {
    let mut buf = Vec::new();
    let deals = [
        Deal {
            price: "100.1",
            quantity: "0.2",
            trade_type: 1,
            time_ms: 1710000000001,
            trade_id: "698165549569396736X0_698165549569396737X0",
        },
        Deal {
            price: "100.2",
            quantity: "0.3",
            trade_type: 2,
            time_ms: 1710000000002,
            trade_id: "7",
        },
    ];
    encode_deals_push(&mut buf, &header(BTC_DEALS), &deals, "e");
    expect_items(
        MexcDecoder::new,
        FrameKind::Binary,
        &buf,
        &[
            Item::trade(
                "BTCUSDT",
                100.1,
                0.2,
                Buy,
                "698165549569396736X0_698165549569396737X0",
                ms(1710000000001),
            ),
            Item::trade("BTCUSDT", 100.2, 0.3, Sell, "7", ms(1710000000002)),
        ],
    );

    // Empty deal list: nothing, and no error.
    buf.clear();
    encode_deals_push(&mut buf, &header(BTC_DEALS), &[], "e");
    expect_items(MexcDecoder::new, FrameKind::Binary, &buf, &[]);

    // Batch, with the symbol taken from the channel and createTime as the fallback stamp.
    buf.clear();
    let item = |bid_price| BookTickerBody {
        bid_price,
        bid_quantity: "2",
        ask_price: "3",
        ask_quantity: "4",
    };
    let h = PushHeader {
        channel: "spot@public.bookTicker.batch.v3.api.pb@ETHUSDT",
        symbol: "",
        create_time_ms: 1739503249114,
        send_time_ms: 0,
    };
    encode_book_ticker_batch_push(&mut buf, &h, &[item("1"), item("1.5")]);
    expect_items(
        MexcDecoder::new,
        FrameKind::Binary,
        &buf,
        &[
            Item::quote("ETHUSDT", 1.0, 2.0, 3.0, 4.0, ms(1739503249114)),
            Item::quote("ETHUSDT", 1.5, 2.0, 3.0, 4.0, ms(1739503249114)),
        ],
    );

    // No timestamp at all.
    buf.clear();
    let h = PushHeader {
        channel: BTC_BOOK,
        ..PushHeader::default()
    };
    encode_book_ticker_push(&mut buf, &h, &item("1"));
    expect_items(
        MexcDecoder::new,
        FrameKind::Binary,
        &buf,
        &[Item::quote("BTCUSDT", 1.0, 2.0, 3.0, 4.0, 0)],
    );
}

#[test]
fn a_bad_deal_keeps_the_earlier_ones() {
    let mut buf = Vec::new();
    let deal = |trade_type| Deal {
        price: "1",
        quantity: "2",
        trade_type,
        time_ms: 5,
        trade_id: "",
    };
    encode_deals_push(
        &mut buf,
        &header(BTC_DEALS),
        &[deal(1), deal(3), deal(2)],
        "",
    );
    let (items, r) = decode_both(MexcDecoder::new, FrameKind::Binary, &buf);
    assert_eq!(items, [Item::trade("BTCUSDT", 1.0, 2.0, Buy, "", ms(5))]);
    assert_eq!(r, Err(ParseError::BadValue("tradeType")));

    let json = r#"{"symbol":"BTCUSDT","publicAggreDeals":{"deals":[{"price":"1","quantity":"2","tradeType":2,"time":"5"},{"price":"x","quantity":"2","tradeType":1}]}}"#;
    let (items, r) = decode_both(MexcDecoder::new, FrameKind::Text, json.as_bytes());
    assert_eq!(items, [Item::trade("BTCUSDT", 1.0, 2.0, Sell, "", ms(5))]);
    assert_eq!(r, Err(ParseError::BadNumber("price")));
}

#[test]
fn control_messages_are_classified() {
    let l = lines(V, "control.jsonl");
    let items: Vec<Item> = l
        .iter()
        .map(|line| {
            let (items, r) = decode_both(MexcDecoder::new, FrameKind::Text, line.as_bytes());
            assert_eq!(r, Ok(()), "{line}");
            assert_eq!(items.len(), 1, "{line}");
            items.into_iter().next().expect("one item")
        })
        .collect();
    let control = |kind, what, code: Option<i64>, text: Option<&str>| Item::Control {
        kind,
        what,
        id: None,
        code,
        text: text.map(str::to_owned),
    };
    use ControlKind::*;
    assert_eq!(
        items,
        [
            control(Ack, "subscribe", None, Some(BTC_DEALS)),
            control(Pong, "pong", None, None),
            control(Info, "client_request", None, Some("SUBSCRIPTION")),
            control(Info, "client_request", None, Some("PING")),
            control(Info, "client_request", None, Some("UNSUBSCRIPTION")),
        ]
    );

    let l = lines(V, "control.constructed.jsonl");
    assert_eq!(l.len(), 1);
    let (items, r) = decode_both(MexcDecoder::new, FrameKind::Text, l[0].as_bytes());
    assert_eq!(r, Ok(()));
    assert!(matches!(
        &items[..],
        [Item::Control { kind: Error, what: "subscribe", code: Some(0), text: Some(t), .. }]
            if t.starts_with("Not Subscribed successfully! [spot@public.miniTicker")
    ));

    let (items, _) = decode_both(
        MexcDecoder::new,
        FrameKind::Text,
        br#"{"id":0,"code":1001,"msg":"bad request"}"#,
    );
    assert_eq!(
        items,
        [control(Error, "error", Some(1001), Some("bad request"))]
    );
    // JSON control sent in a binary frame is still recognised.
    let (items, _) = decode_both(
        MexcDecoder::new,
        FrameKind::Binary,
        br#"{"id":0,"code":0,"msg":"PONG"}"#,
    );
    assert_eq!(items, [control(Pong, "pong", None, None)]);
    let (items, _) = decode_both(MexcDecoder::new, FrameKind::Ping, b"hb");
    assert!(matches!(
        &items[0],
        Item::Control { kind: Ping, what: "ws_ping", text: Some(t), .. } if t == "hb"
    ));
}

#[test]
fn bad_frames_are_errors() {
    let text_cases: &[(&str, ParseError)] = &[
        ("{", ParseError::Json),
        ("[]", ParseError::UnknownMessage),
        ("{}", ParseError::UnknownMessage),
        (r#"{"code":"0","msg":"x"}"#, ParseError::WrongType("code")),
        (r#"{"code":0,"msg":5}"#, ParseError::WrongType("msg")),
        (
            r#"{"channel":"a@b","publicAggreBookTicker":{"bidPrice":"1","bidQuantity":"1","askPrice":"2"}}"#,
            ParseError::BadNumber("askQuantity"),
        ),
        (
            r#"{"channel":"a@b","publicAggreBookTicker":{"bidPrice":"","bidQuantity":"1","askPrice":"2","askQuantity":"1"}}"#,
            ParseError::EmptySide,
        ),
        (
            r#"{"channel":"a@b","publicAggreBookTicker":{"bidPrice":"-1","bidQuantity":"1","askPrice":"2","askQuantity":"1"}}"#,
            ParseError::BadValue("bidPrice"),
        ),
        (
            r#"{"channel":"nosymbol","publicAggreBookTicker":{"bidPrice":"1","bidQuantity":"1","askPrice":"2","askQuantity":"1"}}"#,
            ParseError::MissingField("symbol"),
        ),
        (
            r#"{"symbol":"X","sendTime":"soon","publicAggreBookTicker":{}}"#,
            ParseError::BadNumber("sendTime"),
        ),
        (
            r#"{"symbol":"X","publicAggreDeals":{"deals":{}}}"#,
            ParseError::WrongType("deals"),
        ),
        (
            r#"{"symbol":"X","publicAggreDepths":{"asks":[]}}"#,
            ParseError::Unsupported("depth"),
        ),
    ];
    for (frame, err) in text_cases {
        let (items, r) = decode_both(MexcDecoder::new, FrameKind::Text, frame.as_bytes());
        assert!(items.is_empty(), "{frame}");
        assert_eq!(r, Err(*err), "{frame}");
    }

    let mut depth = Vec::new();
    depth.extend_from_slice(b"\x1a\x01X"); // symbol "X"
    depth.extend_from_slice(b"\xca\x13\x00"); // field 313, empty message
    let binary_cases: &[(&[u8], ParseError)] = &[
        (b"", ParseError::UnknownMessage),
        (b"\x1a\x01X", ParseError::UnknownMessage),
        (&depth, ParseError::Unsupported("depth")),
        (b"\x0a\x05ab", ParseError::Protobuf),
        (b"\x1a\x01\xff\xda\x13\x00", ParseError::Protobuf),
        (b"\x08\x01", ParseError::Protobuf), // channel as a varint
    ];
    for (frame, err) in binary_cases {
        let (items, r) = decode_both(MexcDecoder::new, FrameKind::Binary, frame);
        assert!(items.is_empty(), "{frame:02x?}");
        assert_eq!(r, Err(*err), "{frame:02x?}");
    }
    // A negative sendTime (10-byte varint) is refused.
    let mut negative = Vec::new();
    let body = BookTickerBody {
        bid_price: "1",
        bid_quantity: "1",
        ask_price: "2",
        ask_quantity: "1",
    };
    let h = PushHeader {
        send_time_ms: -1,
        ..header(BTC_BOOK)
    };
    encode_book_ticker_push(&mut negative, &h, &body);
    let (items, r) = decode_both(MexcDecoder::new, FrameKind::Binary, &negative);
    assert!(items.is_empty());
    assert_eq!(r, Err(ParseError::BadValue("sendTime")));
}

#[test]
fn truncated_and_mutated_protobuf_never_panics() {
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for file in ["book_ticker.constructed.jsonl", "trades.constructed.jsonl"] {
        frames.extend(constructed(file).into_iter().map(|c| c.wire));
    }
    let mut dec = MexcDecoder::new();
    for frame in &frames {
        let (full, r) = decode(&mut dec, FrameKind::Binary, frame);
        assert_eq!(r, Ok(()));
        // The body is the last field, so every truncation cuts it or drops it.
        for cut in 0..frame.len() {
            let (items, r) = decode(&mut dec, FrameKind::Binary, &frame[..cut]);
            assert!(r.is_err() && items.is_empty(), "cut {cut}");
        }
        // Single-byte and bit mutations: an error or at most the original item count.
        for i in 0..frame.len() {
            for m in [
                0x00,
                0x01,
                0x7f,
                0x80,
                0xff,
                frame[i] ^ 0x80,
                frame[i] ^ 0x07,
            ] {
                let mut bad = frame.clone();
                bad[i] = m;
                let (items, r) = decode(&mut dec, FrameKind::Binary, &bad);
                assert!(r.is_err() || items.len() <= full.len(), "byte {i} = {m:#x}");
            }
        }
        util::check_mutations(MexcDecoder::new, FrameKind::Binary, frame);
    }
}

#[test]
fn mutated_fixtures_never_panic_and_paths_agree() {
    for file in [
        "book_ticker.jsonl",
        "trades.jsonl",
        "control.jsonl",
        "control.constructed.jsonl",
    ] {
        for line in lines(V, file) {
            util::check_mutations(MexcDecoder::new, FrameKind::Text, line.as_bytes());
        }
    }
    for file in ["book_ticker.constructed.jsonl", "trades.constructed.jsonl"] {
        for line in constructed(file) {
            util::check_mutations(MexcDecoder::new, FrameKind::Text, line.decoded.as_bytes());
        }
    }
}
