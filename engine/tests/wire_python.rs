//! The wire format is decodable without arb: `engine/wire_decode.py` (Python standard
//! library only, written from `engine/WIRE.md`) reads batches this crate writes, and
//! every field it prints matches what was encoded. Needs `python3` on the PATH (CI
//! installs it); without it the test fails and says so.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use arb_engine::event::{ConnState, Event, Exchange, Quote, Side, SymbolId, Trade, TradeId};
use arb_engine::event::{MAX_CONNS_PER_VENUE, VenueState};
use arb_engine::wire::{self, BatchWriter, VenueSnapshot};
use serde_json::Value;

const T: i64 = 1_712_345_678_901_234_567;

fn events() -> Vec<Event> {
    let ex = Exchange::Gateio;
    let quote = Quote {
        symbol: SymbolId(4_000_000_001),
        exchange: ex,
        conn_id: 17,
        bid_px: 0.000_000_123_4,
        bid_qty: 12_345_678.9,
        ask_px: 0.000_000_123_5,
        ask_qty: 0.1,
        exch_ts_ns: 0,
        recv_ts_ns: T,
    };
    let trade = |side, trade_id, conn_id| Trade {
        symbol: SymbolId(3),
        exchange: ex,
        side,
        conn_id,
        px: 68_123.45,
        qty: 0.000_15,
        trade_id,
        exch_ts_ns: T - 1_000_000,
        recv_ts_ns: T,
    };
    vec![
        Event::Quote(quote),
        Event::Trade(trade(Side::Buy, TradeId::Numeric(u64::MAX - 1), 0)),
        Event::Trade(trade(
            Side::Sell,
            TradeId::from_text("62fade002e113d292303a18b"),
            255,
        )),
        Event::Venue(VenueState {
            exchange: ex,
            conn_id: 200,
            state: ConnState::Resubscribed,
            ts_ns: i64::MIN,
        }),
    ]
}

fn snapshots() -> Vec<VenueSnapshot> {
    let mut a = VenueSnapshot::new(Exchange::Bitget);
    for c in [0, 1, 9, 128, 255] {
        a.set_up(c, true);
    }
    vec![a, VenueSnapshot::new(Exchange::Binance)]
}

/// A data batch of [`events`] followed by a heartbeat batch of [`snapshots`], in one
/// buffer.
fn batches() -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = BatchWriter::data(&mut buf, Exchange::Gateio, 12);
    for e in events() {
        assert!(w.push_event(&mut buf, &e));
    }
    w.finish(&mut buf, 41, T + 5);
    let mut w = BatchWriter::heartbeat(&mut buf, 12);
    for s in snapshots() {
        assert!(w.push_snapshot(&mut buf, &s));
    }
    w.finish(&mut buf, 7, T + 6);
    buf
}

/// Writes `bytes` to a temporary file of its own (tests run in parallel), removed when
/// the returned handle is dropped.
fn temp_file(name: &str, bytes: &[u8]) -> tempfile::TempPath {
    let mut f = tempfile::Builder::new()
        .prefix("arb-wire-python-")
        .suffix(&format!("-{name}"))
        .tempfile()
        .unwrap();
    f.write_all(bytes).unwrap();
    f.into_temp_path()
}

fn run_decoder(args: &[&str], file: &Path) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("wire_decode.py");
    match Command::new("python3")
        .arg(&script)
        .args(args)
        .arg(file)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run `python3 {}` ({e}): python3 must be installed for this test \
             (it proves the wire format decodes without arb)",
            script.display()
        ),
    }
}

fn decode_with_python(args: &[&str], bytes: &[u8]) -> Vec<Value> {
    let file = temp_file("batch.bin", bytes);
    let out = run_decoder(args, &file);
    assert!(
        out.status.success(),
        "wire_decode.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn int(v: &Value, key: &str) -> i128 {
    let x = &v[key];
    x.as_i64()
        .map(i128::from)
        .or_else(|| x.as_u64().map(i128::from))
        .unwrap_or_else(|| panic!("{key} is not an integer in {v}"))
}

fn float(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

#[test]
fn python_decoder_reads_every_field() {
    let buf = batches();
    let lines = decode_with_python(&[], &buf);
    let events = events();
    let snaps = snapshots();
    assert_eq!(
        lines.len(),
        1 + events.len() + 1 + snaps.len(),
        "{lines:#?}"
    );

    let h = &lines[0];
    assert_eq!(text(h, "type"), "header");
    assert_eq!(int(h, "offset"), 0);
    assert_eq!(int(h, "version"), i128::from(wire::VERSION));
    assert_eq!(text(h, "kind"), "data");
    assert_eq!(int(h, "count"), events.len() as i128);
    assert_eq!(int(h, "seq"), 41);
    assert_eq!(int(h, "sent_ns"), i128::from(T + 5));
    assert_eq!(int(h, "table_epoch"), 12);
    assert_eq!(text(h, "venue"), "gateio");

    let mut offset = wire::HEADER_LEN as i128;
    for (e, v) in events.iter().zip(&lines[1..]) {
        assert_eq!(int(v, "offset"), offset, "{v}");
        match e {
            Event::Quote(q) => {
                assert_eq!(text(v, "type"), "quote");
                assert_eq!(text(v, "venue"), q.exchange.as_str());
                assert_eq!(int(v, "conn_id"), i128::from(q.conn_id));
                assert_eq!(int(v, "symbol"), i128::from(q.symbol.0));
                for (key, want) in [
                    ("bid_px", q.bid_px),
                    ("bid_qty", q.bid_qty),
                    ("ask_px", q.ask_px),
                    ("ask_qty", q.ask_qty),
                ] {
                    assert_eq!(float(v, key).to_bits(), want.to_bits(), "{key}");
                }
                assert_eq!(int(v, "exch_ts_ns"), i128::from(q.exch_ts_ns));
                assert_eq!(int(v, "recv_ts_ns"), i128::from(q.recv_ts_ns));
                offset += wire::QUOTE_LEN as i128;
            }
            Event::Trade(t) => {
                assert_eq!(text(v, "type"), "trade");
                assert_eq!(text(v, "venue"), t.exchange.as_str());
                assert_eq!(int(v, "conn_id"), i128::from(t.conn_id));
                assert_eq!(int(v, "symbol"), i128::from(t.symbol.0));
                assert_eq!(text(v, "side"), t.side.as_str());
                assert_eq!(float(v, "px").to_bits(), t.px.to_bits());
                assert_eq!(float(v, "qty").to_bits(), t.qty.to_bits());
                let (kind, id) = match t.trade_id {
                    TradeId::Numeric(id) => ("numeric", id),
                    TradeId::Hashed(id) => ("hashed", id),
                };
                assert_eq!(text(v, "trade_id_kind"), kind);
                assert_eq!(int(v, "trade_id"), i128::from(id));
                assert_eq!(int(v, "exch_ts_ns"), i128::from(t.exch_ts_ns));
                assert_eq!(int(v, "recv_ts_ns"), i128::from(t.recv_ts_ns));
                offset += wire::TRADE_LEN as i128;
            }
            Event::Venue(s) => {
                assert_eq!(text(v, "type"), "venue_state");
                assert_eq!(text(v, "venue"), s.exchange.as_str());
                assert_eq!(int(v, "conn_id"), i128::from(s.conn_id));
                assert_eq!(text(v, "state"), "resubscribed");
                assert_eq!(int(v, "ts_ns"), i128::from(s.ts_ns));
                offset += wire::VENUE_LEN as i128;
            }
        }
    }

    let h = &lines[1 + events.len()];
    assert_eq!(text(h, "type"), "header");
    assert_eq!(int(h, "offset"), offset);
    assert_eq!(text(h, "kind"), "heartbeat");
    assert_eq!(int(h, "count"), snaps.len() as i128);
    assert_eq!(int(h, "seq"), 7);
    assert_eq!(int(h, "sent_ns"), i128::from(T + 6));
    assert_eq!(int(h, "table_epoch"), 12);
    assert!(h["venue"].is_null());
    offset += wire::HEADER_LEN as i128;
    for (s, v) in snaps.iter().zip(&lines[2 + events.len()..]) {
        assert_eq!(text(v, "type"), "snapshot");
        assert_eq!(int(v, "offset"), offset);
        assert_eq!(text(v, "venue"), s.venue.as_str());
        assert_eq!(int(v, "conns_up"), i128::from(s.conns_up));
        let up: Vec<u16> = v["up"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| u16::try_from(x.as_u64().unwrap()).unwrap())
            .collect();
        let want: Vec<u16> = (0..MAX_CONNS_PER_VENUE as u16)
            .filter(|&c| s.is_up(c))
            .collect();
        assert_eq!(up, want);
        offset += wire::SNAPSHOT_LEN as i128;
    }
    assert_eq!(offset, buf.len() as i128);
}

#[test]
fn python_decoder_reads_pings_and_rejects_bad_batches() {
    let reply = decode_with_python(&["--ping"], &wire::encode_ping_reply(T, -1, i64::MAX));
    assert_eq!(text(&reply[0], "type"), "ping_reply");
    assert_eq!(
        (
            int(&reply[0], "t0"),
            int(&reply[0], "t1"),
            int(&reply[0], "t2")
        ),
        (i128::from(T), -1, i128::from(i64::MAX))
    );
    let req = decode_with_python(&["--ping"], &wire::encode_ping_request(T));
    assert_eq!(int(&req[0], "t0"), i128::from(T));

    // The Python decoder rejects what `wire::decode` rejects.
    let good = batches();
    let data_len = wire::HEADER_LEN + wire::QUOTE_LEN + 2 * wire::TRADE_LEN + wire::VENUE_LEN;
    let data = &good[..data_len];
    assert!(wire::decode(data).is_ok());
    let mut bad_version = data.to_vec();
    bad_version[4] = 2;
    let mut bad_side = data.to_vec();
    bad_side[wire::HEADER_LEN + wire::QUOTE_LEN + 7] = 2;
    let mut trailing = data.to_vec();
    trailing.push(0);
    for (name, bytes) in [
        ("version", bad_version),
        ("side", bad_side),
        ("truncated", data[..data_len - 1].to_vec()),
        ("trailing", trailing),
    ] {
        assert!(wire::decode(&bytes).is_err(), "{name}");
        let file = temp_file(&format!("bad-{name}.bin"), &bytes);
        let out = run_decoder(&[], &file);
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        // A file may hold several batches, so trailing bytes are a bad second batch: the
        // valid first one is printed, then the error. The others print nothing.
        let printed = String::from_utf8_lossy(&out.stdout).lines().count();
        let expected = if name == "trailing" { 5 } else { 0 };
        assert_eq!(printed, expected, "{name}: printed records of a bad batch");
    }
}

/// Writes the fuzz target's seed corpus (`fuzz/corpus/wire/`). Run by hand after a format
/// change: `cargo test -p arb-engine --test wire_python -- --ignored`.
#[test]
#[ignore = "writes into fuzz/corpus/wire; run by hand"]
fn write_fuzz_seed_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/wire");
    std::fs::create_dir_all(&dir).unwrap();
    let all = batches();
    let data_len = wire::HEADER_LEN + wire::QUOTE_LEN + 2 * wire::TRADE_LEN + wire::VENUE_LEN;
    let mut empty = Vec::new();
    BatchWriter::data(&mut empty, Exchange::Bingx, 0).finish(&mut empty, 1, 0);
    let seeds: [(&str, &[u8]); 6] = [
        ("seed-data-batch", &all[..data_len]),
        ("seed-heartbeat", &all[data_len..]),
        ("seed-empty-data-batch", &empty),
        ("seed-two-batches", &all),
        ("seed-ping-request", &wire::encode_ping_request(T)),
        ("seed-ping-reply", &wire::encode_ping_reply(T, T + 1, T + 2)),
    ];
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
