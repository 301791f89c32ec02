//! KuCoin fixtures decode to exactly what they say, on both paths.

mod util;

use arb_engine::Side::{Buy, Sell};
use arb_feeds::kucoin::KucoinDecoder;
use arb_feeds::{ControlKind, FrameKind, ParseError};
use util::{Item, decode_both, expect_items, lines, ms};

const V: &str = "kucoin";

#[test]
fn book_tickers_decode_to_their_values() {
    let l = lines(V, "book_ticker.jsonl");
    let expected = [
        Item::quote(
            "BTC-USDT",
            31785.2,
            0.4645037,
            31785.3,
            1.0455757,
            ms(1654032320677),
        ),
        Item::quote(
            "ANKR-BTC",
            0.0000026033,
            4051.2663,
            0.0000026192,
            4664.7644,
            ms(1619378326388),
        ),
        Item::quote(
            "BCHSV-USDT",
            242.65,
            5.0,
            242.951,
            4.51280965,
            ms(1619378326630),
        ),
        Item::quote(
            "CAPP-BTC",
            0.0000002181,
            83.07,
            0.0000002197,
            735.9,
            ms(1619378326581),
        ),
        Item::quote(
            "COV-BTC",
            0.00001121,
            49.6422,
            0.00001127,
            4331.68226035,
            ms(1619378328688),
        ),
        Item::quote(
            "DAPPT-BTC",
            0.0000001114,
            1463.5949,
            0.0000001117,
            81.8814,
            ms(1619378327330),
        ),
        Item::quote(
            "EQZ-BTC",
            0.00002383,
            20.5373,
            0.00002395,
            72.1515,
            ms(1619378333238),
        ),
        Item::quote(
            "FET-BTC",
            0.00000771,
            357.285,
            0.00000775,
            8025.7777,
            ms(1619378326968),
        ),
        Item::quote(
            "NRG-BTC",
            0.00006141,
            19.5017,
            0.00006218,
            43.3399,
            ms(1619378327591),
        ),
        Item::quote(
            "SNX-BTC",
            0.00028678,
            3.70422021,
            0.00028717,
            14.04274325,
            ms(1619378326323),
        ),
        Item::quote(
            "BTC-USDT",
            68145.7,
            1.29267802,
            68145.8,
            0.51987471,
            ms(1729816058766),
        ),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(KucoinDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn trades_decode_to_their_values() {
    let l = lines(V, "trades.jsonl");
    let expected = [
        Item::trade(
            "BTC-USDT",
            24093.9,
            0.00001255,
            Sell,
            "62fade002e113d292303a18b",
            1_660_608_000_026_914_990,
        ),
        Item::trade(
            "LMR-BTC",
            0.000001094,
            12.9629,
            Sell,
            "455391760226305",
            1_660_608_000_023_000_000,
        ),
        Item::trade(
            "XRP-USDT",
            0.37587,
            66.5603,
            Sell,
            "62fade212e113d325d5cf21d",
            1_660_608_033_110_362_773,
        ),
        Item::trade(
            "DAPPT-BTC",
            0.0000001117,
            81.8814,
            Buy,
            "6085c09769bc506996295e36",
            1_619_378_327_739_050_725,
        ),
        Item::trade(
            "DAPPT-BTC",
            0.0000001119,
            0.0267,
            Buy,
            "6085c09769bc506996295e37",
            1_619_378_327_739_050_725,
        ),
        Item::trade(
            "DAPPT-BTC",
            0.000000112,
            1355.35,
            Buy,
            "6085c09769bc506996295e38",
            1_619_378_327_739_050_725,
        ),
        Item::trade(
            "BTC-USDT",
            67523.0,
            0.003,
            Buy,
            "11067996711960577",
            1_729_843_222_921_000_000,
        ),
    ];
    assert_eq!(l.len(), expected.len());
    for (line, e) in l.iter().zip(expected) {
        expect_items(KucoinDecoder::new, FrameKind::Text, line.as_bytes(), &[e]);
    }
}

#[test]
fn ticker_variants_decode() {
    // `/market/ticker:all`: the symbol is the subject.
    expect_items(
        KucoinDecoder::new,
        FrameKind::Text,
        br#"{"type":"message","topic":"/market/ticker:all","subject":"ETH-USDT","data":{"bestAsk":"2","bestAskSize":"3","bestBid":"1","bestBidSize":"4","price":"1.5","sequence":"9","size":"0.1","time":1654032320677}}"#,
        &[Item::quote("ETH-USDT", 1.0, 4.0, 2.0, 3.0, ms(1654032320677))],
    );
    // The official example spells the timestamp `Time`; no timestamp at all gives 0.
    expect_items(
        KucoinDecoder::new,
        FrameKind::Text,
        br#"{"type":"message","topic":"/market/ticker:BTC-USDT","subject":"trade.ticker","data":{"sequence":"1","price":"5","size":"1","bestAsk":"2","bestAskSize":"3","bestBid":"1","bestBidSize":"4","Time":1654032320677}}"#,
        &[Item::quote("BTC-USDT", 1.0, 4.0, 2.0, 3.0, ms(1654032320677))],
    );
    expect_items(
        KucoinDecoder::new,
        FrameKind::Text,
        br#"{"type":"message","topic":"/spotMarket/level1:BTC-USDT","subject":"level1","data":{"bids":["1","4"],"asks":["2","3"]}}"#,
        &[Item::quote("BTC-USDT", 1.0, 4.0, 2.0, 3.0, 0)],
    );
    // Extra whitespace and a trade time sent as a number take the validating path.
    expect_items(
        KucoinDecoder::new,
        FrameKind::Text,
        br#"{ "type":"message","topic":"/market/match:BTC-USDT","subject":"trade.l3match","data":{"symbol":"BTC-USDT","side":"buy","price":"1","size":"2","tradeId":"7","time":1729843222921000000}}"#,
        &[Item::trade(
            "BTC-USDT",
            1.0,
            2.0,
            Buy,
            "7",
            1_729_843_222_921_000_000,
        )],
    );
}

#[test]
fn control_messages_are_classified() {
    let l = lines(V, "control.jsonl");
    let items: Vec<Item> = l
        .iter()
        .map(|line| {
            let (items, r) = decode_both(KucoinDecoder::new, FrameKind::Text, line.as_bytes());
            assert_eq!(r, Ok(()), "{line}");
            assert_eq!(items.len(), 1, "{line}");
            items.into_iter().next().expect("one item")
        })
        .collect();
    let control = |kind, what, id: Option<&str>| Item::Control {
        kind,
        what,
        id: id.map(str::to_owned),
        code: None,
        text: None,
    };
    use ControlKind::*;
    assert_eq!(items[0], control(Pong, "pong", Some("1545910590801")));
    assert_eq!(items[1], control(Info, "welcome", Some("hQvf8jkno")));
    assert_eq!(items[2], control(Ack, "subscribe", Some("1545910660739")));
    // The client's own subscribe request (numeric id: not echoed as text).
    assert!(matches!(
        &items[3],
        Item::Control { kind: Info, what: "client_request", id: None, text: Some(t), .. }
            if t.starts_with("/market/match:EQZ-BTC,")
    ));
    assert_eq!(items.len(), 4);

    let (items, r) = decode_both(
        KucoinDecoder::new,
        FrameKind::Text,
        br#"{"id":"3","type":"error","code":404,"data":"topic /market/xx:BTC-USDT is not found"}"#,
    );
    assert_eq!(r, Ok(()));
    assert_eq!(
        items,
        [Item::Control {
            kind: Error,
            what: "error",
            id: Some("3".into()),
            code: Some(404),
            text: Some("topic /market/xx:BTC-USDT is not found".into()),
        }]
    );
    let (items, _) = decode_both(
        KucoinDecoder::new,
        FrameKind::Text,
        br#"{"id":"9","type":"ping"}"#,
    );
    assert_eq!(items[0].control_kind(), Some(Info));
    let (items, _) = decode_both(KucoinDecoder::new, FrameKind::Ping, b"hb");
    assert!(matches!(
        &items[0],
        Item::Control { kind: Ping, what: "ws_ping", text: Some(t), .. } if t == "hb"
    ));
}

#[test]
fn bad_frames_are_errors() {
    let dec = KucoinDecoder::new;
    let ticker = |data: &str| {
        format!(
            r#"{{"type":"message","topic":"/market/ticker:X-Y","subject":"trade.ticker","data":{data}}}"#
        )
    };
    let level1 = |data: &str| {
        format!(
            r#"{{"topic":"/spotMarket/level1:X-Y","type":"message","subject":"level1","data":{data}}}"#
        )
    };
    let trade = |side: &str, time: &str| {
        format!(
            r#"{{"topic":"/market/match:X-Y","type":"message","subject":"trade.l3match","data":{{"makerOrderId":"a","price":"1","sequence":"1","side":"{side}","size":"1","symbol":"X-Y","takerOrderId":"b","time":"{time}","tradeId":"1","type":"match"}}}}"#
        )
    };
    let cases: Vec<(String, ParseError)> = vec![
        ("{".into(), ParseError::Json),
        ("[]".into(), ParseError::UnknownMessage),
        (r#"{"id":"1"}"#.into(), ParseError::MissingField("type")),
        (r#"{"type":"notice"}"#.into(), ParseError::UnknownMessage),
        (
            ticker(r#"{"bestAsk":"2","bestAskSize":"1","bestBid":"1"}"#),
            ParseError::MissingField("bestBidSize"),
        ),
        (
            ticker(r#"{"bestAsk":"2","bestAskSize":"1","bestBid":"-1","bestBidSize":"1"}"#),
            ParseError::BadValue("bestBid"),
        ),
        (
            ticker(r#"{"bestAsk":"2","bestAskSize":"1","bestBid":"","bestBidSize":"1"}"#),
            ParseError::EmptySide,
        ),
        (
            ticker(r#"{"bestAsk":"2","bestAskSize":"x","bestBid":"1","bestBidSize":"1"}"#),
            ParseError::BadNumber("bestAskSize"),
        ),
        (
            ticker(r#"{"bestAsk":"2","bestAskSize":"1","bestBid":"1","bestBidSize":"1","time":-5}"#),
            ParseError::BadValue("time"),
        ),
        (ticker("[1]"), ParseError::WrongType("data")),
        (
            level1(r#"{"asks":[],"bids":["1","1"],"timestamp":1}"#),
            ParseError::EmptySide,
        ),
        (
            level1(r#"{"asks":"2","bids":["1","1"],"timestamp":1}"#),
            ParseError::WrongType("asks"),
        ),
        (trade("hold", "1"), ParseError::BadValue("side")),
        (trade("buy", "abc"), ParseError::BadNumber("time")),
        (
            r#"{"type":"message","topic":"/market/level2:X-Y","subject":"trade.l2update","data":{}}"#
                .into(),
            ParseError::Unsupported("depth topic"),
        ),
        (
            r#"{"type":"message","topic":"/market/ticker:","subject":"trade.ticker","data":{}}"#
                .into(),
            ParseError::BadValue("topic"),
        ),
        (
            r#"{"type":"message","topic":"/x/y:X-Y","subject":"s","data":{}}"#.into(),
            ParseError::UnknownMessage,
        ),
    ];
    for (frame, err) in &cases {
        let (items, r) = decode_both(dec, FrameKind::Text, frame.as_bytes());
        assert!(items.is_empty(), "{frame}");
        assert_eq!(r, Err(*err), "{frame}");
    }
    let (_, r) = decode_both(dec, FrameKind::Binary, b"\x1f\x8b");
    assert_eq!(r, Err(ParseError::Unsupported("binary frame")));
}

#[test]
fn mutated_fixtures_never_panic_and_paths_agree() {
    for file in ["book_ticker.jsonl", "trades.jsonl", "control.jsonl"] {
        for line in lines(V, file) {
            util::check_mutations(KucoinDecoder::new, FrameKind::Text, line.as_bytes());
        }
    }
}
