//! Capture format: round trips, symbol table, truncation, corruption, header validation and
//! the publish-by-rename contract.
#![allow(unsafe_code)] // maps capture files that the tests themselves just wrote

use std::path::PathBuf;

use arb_engine::{Exchange, SymbolRegistry};
use arb_feeds::capture::{
    CaptureBuf, CaptureError, CaptureFile, CaptureReader, CaptureWriter, CorruptReason,
    MAX_PAYLOAD_BYTES, Record, RecordKind, TailStatus,
};
use proptest::prelude::*;

/// A fresh path in the temp directory, removed (with its `.partial`) on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "arb-capture-test-{}-{name}.arbcap",
            std::process::id()
        ));
        let t = TempPath(p);
        t.cleanup();
        t
    }

    fn partial(&self) -> PathBuf {
        PathBuf::from(format!("{}.partial", self.0.display()))
    }

    fn cleanup(&self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_file(self.partial());
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        self.cleanup();
    }
}

fn registry() -> SymbolRegistry {
    let mut r = SymbolRegistry::new();
    for (base, quote) in [
        ("BTC", "USDT"),
        ("ETH", "USDT"),
        ("1000SATS", "USDT"),
        ("ETH", "BTC"),
    ] {
        for ex in Exchange::ALL {
            let native = match ex {
                Exchange::Gateio => format!("{base}_{quote}"),
                Exchange::Kucoin | Exchange::Okx | Exchange::Bingx => format!("{base}-{quote}"),
                _ => format!("{base}{quote}"),
            };
            r.insert(ex, &native, base, quote).expect("valid listing");
        }
    }
    r
}

/// Owned copy of a record, for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    recv_ts_ns: i64,
    exchange: Exchange,
    kind: RecordKind,
    conn_id: u16,
    payload: Vec<u8>,
}

impl Owned {
    fn as_record(&self) -> Record<'_> {
        Record {
            recv_ts_ns: self.recv_ts_ns,
            exchange: self.exchange,
            kind: self.kind,
            conn_id: self.conn_id,
            payload: &self.payload,
        }
    }

    fn from_record(r: Record<'_>) -> Self {
        Owned {
            recv_ts_ns: r.recv_ts_ns,
            exchange: r.exchange,
            kind: r.kind,
            conn_id: r.conn_id,
            payload: r.payload.to_vec(),
        }
    }
}

/// Many records: every venue, every kind, payload lengths 0..=40 and a few large ones.
fn sample_records(n: usize) -> Vec<Owned> {
    (0..n)
        .map(|i| {
            let len = if i % 97 == 0 { 5000 + i } else { i % 41 };
            Owned {
                recv_ts_ns: 1_767_225_600_000_000_000 + (i as i64) * 1_234,
                exchange: Exchange::ALL[i % Exchange::COUNT],
                kind: RecordKind::ALL[(i / 3) % RecordKind::COUNT],
                conn_id: (i % 700) as u16,
                payload: (0..len).map(|j| (i * 31 + j * 7) as u8).collect(),
            }
        })
        .collect()
}

fn buf_with(records: &[Owned]) -> Vec<u8> {
    let mut buf = CaptureBuf::new(&registry(), 42).expect("valid registry");
    for r in records {
        buf.append(r.as_record()).expect("small payload");
    }
    buf.into_bytes()
}

fn read_all(bytes: &[u8]) -> (Vec<Owned>, TailStatus) {
    let reader = CaptureReader::new(bytes).expect("valid header");
    let mut it = reader.records();
    let recs = it.by_ref().map(Owned::from_record).collect();
    (recs, it.tail().expect("exhausted"))
}

/// Start offsets of every record.
fn record_offsets(bytes: &[u8]) -> Vec<usize> {
    let reader = CaptureReader::new(bytes).expect("valid header");
    let mut it = reader.records();
    let mut offsets = vec![it.offset() as usize];
    while it.next().is_some() {
        offsets.push(it.offset() as usize);
    }
    offsets.pop();
    offsets
}

#[test]
fn file_round_trip_of_many_records_of_all_kinds() {
    let tmp = TempPath::new("round-trip");
    let records = sample_records(5_000);
    let mut w = CaptureWriter::create_at(&tmp.0, &registry(), 7).unwrap();
    for r in &records {
        w.append(r.as_record()).unwrap();
    }
    assert_eq!(w.records(), records.len() as u64);
    let bytes_written = w.bytes();
    let summary = w.finish().unwrap();
    assert_eq!(summary.records, records.len() as u64);
    assert_eq!(summary.bytes, bytes_written);
    assert_eq!(std::fs::metadata(&tmp.0).unwrap().len(), summary.bytes);

    // SAFETY: the file was just written by this test and nothing modifies it while mapped.
    let file = unsafe { CaptureFile::open(&tmp.0) }.unwrap();
    assert_eq!(file.header().created_ns, 7);
    let read: Vec<Owned> = file.records().map(Owned::from_record).collect();
    assert_eq!(read, records);
    assert_eq!(file.tail(), TailStatus::Clean);

    // The same bytes as the in-memory writer.
    let mut buf = CaptureBuf::new(&registry(), 7).unwrap();
    for r in &records {
        buf.append(r.as_record()).unwrap();
    }
    assert!(
        file.as_bytes() == buf.as_bytes(),
        "file and memory bytes differ"
    );

    let stats = file.scan();
    assert_eq!(stats.records, records.len() as u64);
    assert_eq!(stats.tail, TailStatus::Clean);
    assert_eq!(stats.valid_len, summary.bytes);
    assert_eq!(stats.first_recv_ts_ns, Some(records[0].recv_ts_ns));
    assert_eq!(stats.last_recv_ts_ns, records.last().map(|r| r.recv_ts_ns));
    assert_eq!(stats.ts_regressions, 0);
    for ex in Exchange::ALL {
        for kind in RecordKind::ALL {
            let expected = records
                .iter()
                .filter(|r| r.exchange == ex && r.kind == kind)
                .count() as u64;
            assert_eq!(stats.count(ex, kind), expected, "{ex} {kind}");
        }
    }
    assert_eq!(
        stats.payload_bytes,
        records.iter().map(|r| r.payload.len() as u64).sum::<u64>()
    );
}

#[test]
fn symbol_table_round_trips() {
    let reg = registry();
    let bytes = buf_with(&[]);
    let back = CaptureReader::new(&bytes).unwrap().symbols().unwrap();
    assert_eq!(back.len(), reg.len());
    let a: Vec<_> = reg.listings().collect();
    let b: Vec<_> = back.listings().collect();
    assert_eq!(a, b);
    let id = back.lookup(Exchange::Gateio, "1000SATS_USDT").unwrap();
    assert_eq!(back.name(id), "1000SATS/USDT");
    assert_eq!(
        back.lookup(Exchange::Okx, "ETH-BTC").map(|i| back.name(i)),
        Some("ETH/BTC")
    );
}

#[test]
fn truncation_at_every_offset_of_the_last_record_keeps_the_prefix() {
    let records = sample_records(50);
    let bytes = buf_with(&records);
    let offsets = record_offsets(&bytes);
    let last = *offsets.last().unwrap();
    for cut in last..bytes.len() {
        let (read, tail) = read_all(&bytes[..cut]);
        assert_eq!(read, records[..records.len() - 1], "cut at {cut}");
        if cut == last {
            assert_eq!(tail, TailStatus::Clean);
        } else {
            assert_eq!(
                tail,
                TailStatus::Truncated {
                    offset: last as u64,
                    bytes: (cut - last) as u64
                },
                "cut at {cut}"
            );
        }
    }
    let (read, tail) = read_all(&bytes);
    assert_eq!(read, records);
    assert_eq!(tail, TailStatus::Clean);
}

#[test]
fn truncation_inside_a_large_record_is_reported() {
    let records = sample_records(100);
    let bytes = buf_with(&records);
    let offsets = record_offsets(&bytes);
    // Record 97 has a 5097-byte payload.
    let start = offsets[97];
    let (read, tail) = read_all(&bytes[..start + 1000]);
    assert_eq!(read, records[..97]);
    assert_eq!(
        tail,
        TailStatus::Truncated {
            offset: start as u64,
            bytes: 1000
        }
    );
}

#[test]
fn flipped_payload_byte_is_corrupt_and_the_prefix_reads() {
    let records = sample_records(60);
    let mut bad = buf_with(&records);
    let offsets = record_offsets(&bad);
    let k = 40;
    assert!(!records[k].payload.is_empty());
    bad[offsets[k] + 24] ^= 0x01;
    let (read, tail) = read_all(&bad);
    assert_eq!(read, records[..k]);
    assert_eq!(
        tail,
        TailStatus::Corrupt {
            offset: offsets[k] as u64,
            reason: CorruptReason::CrcMismatch
        }
    );
    let stats = CaptureReader::new(&bad).unwrap().scan();
    assert_eq!(stats.records, k as u64);
    assert_eq!(stats.valid_len, offsets[k] as u64);
    assert!(!stats.tail.is_clean());
}

#[test]
fn any_flipped_head_or_payload_byte_stops_at_that_record() {
    let records = sample_records(12);
    let bytes = buf_with(&records);
    let offsets = record_offsets(&bytes);
    let k = 10;
    let end = offsets[k] + 24 + records[k].payload.len();
    for at in offsets[k]..end {
        for bit in [0x01u8, 0x80] {
            let mut bad = bytes.clone();
            bad[at] ^= bit;
            let (read, tail) = read_all(&bad);
            assert_eq!(read, records[..k], "flip at {at}");
            assert_eq!(
                tail.offset(),
                Some(offsets[k] as u64),
                "flip at {at}: {tail}"
            );
        }
    }
}

#[test]
fn oversize_length_is_corrupt_not_truncated() {
    let records = sample_records(3);
    let mut bytes = buf_with(&records);
    let offsets = record_offsets(&bytes);
    bytes[offsets[2]..offsets[2] + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let (read, tail) = read_all(&bytes);
    assert_eq!(read.len(), 2);
    assert_eq!(
        tail,
        TailStatus::Corrupt {
            offset: offsets[2] as u64,
            reason: CorruptReason::Oversize { len: u32::MAX }
        }
    );
}

#[test]
fn bad_header_fields_are_errors() {
    let good = buf_with(&sample_records(3));
    assert!(CaptureReader::new(&good).is_ok());

    let mut b = good.clone();
    b[0] = b'X';
    assert!(matches!(
        CaptureReader::new(&b),
        Err(CaptureError::BadMagic)
    ));

    let mut b = good.clone();
    b[8] = 2;
    assert!(matches!(
        CaptureReader::new(&b),
        Err(CaptureError::UnsupportedVersion(2))
    ));

    let mut b = good.clone();
    b[10] = 1;
    assert!(matches!(
        CaptureReader::new(&b),
        Err(CaptureError::UnsupportedFlags(1))
    ));

    let mut b = good.clone();
    b[12] = b[12].wrapping_add(4);
    assert!(matches!(
        CaptureReader::new(&b),
        Err(CaptureError::BadHeaderLen { .. })
    ));

    let mut b = good.clone();
    b[40] ^= 0x20;
    assert!(matches!(
        CaptureReader::new(&b),
        Err(CaptureError::MetaCrc { .. })
    ));

    for len in [0, 5, 8, 31] {
        assert!(
            matches!(
                CaptureReader::new(&good[..len]),
                Err(CaptureError::TooShort { .. })
            ),
            "len {len}"
        );
    }
    let header_len = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    assert!(matches!(
        CaptureReader::new(&good[..header_len - 8]),
        Err(CaptureError::BadHeaderLen { .. })
    ));
    assert!(matches!(
        CaptureReader::new(b"hello world, this is not a capture file at all"),
        Err(CaptureError::BadMagic)
    ));
    let msg = CaptureReader::new(&good[..10]).unwrap_err().to_string();
    assert_eq!(msg, "file too short for a capture header (10 bytes)");
}

#[test]
fn partial_file_is_renamed_only_by_finish() {
    let tmp = TempPath::new("partial");
    let mut w = CaptureWriter::create_at(&tmp.0, &registry(), 1).unwrap();
    assert_eq!(w.partial_path(), tmp.partial());
    for r in sample_records(10) {
        w.append(r.as_record()).unwrap();
    }
    assert!(tmp.partial().exists());
    assert!(!tmp.0.exists());
    w.finish().unwrap();
    assert!(tmp.0.exists());
    assert!(!tmp.partial().exists());
}

#[test]
fn dropped_writer_leaves_only_the_partial_file() {
    let tmp = TempPath::new("dropped");
    {
        let mut w = CaptureWriter::create_at(&tmp.0, &registry(), 1).unwrap();
        for r in sample_records(10) {
            w.append(r.as_record()).unwrap();
        }
    }
    assert!(!tmp.0.exists());
    assert!(tmp.partial().exists());
    // SAFETY: no writer is left; nothing modifies the file while mapped.
    let file = unsafe { CaptureFile::open(tmp.partial()) }.unwrap();
    assert_eq!(file.records().count(), 10);
}

#[test]
fn empty_capture_is_valid() {
    let tmp = TempPath::new("empty");
    let summary = CaptureWriter::create(&tmp.0, &SymbolRegistry::new())
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(summary.records, 0);
    assert_eq!(summary.bytes, 32);
    // SAFETY: the file was just written by this test and nothing modifies it while mapped.
    let file = unsafe { CaptureFile::open(&tmp.0) }.unwrap();
    assert!(file.symbols().unwrap().is_empty());
    assert_eq!(file.records().count(), 0);
    let stats = file.scan();
    assert_eq!(stats.records, 0);
    assert_eq!(stats.tail, TailStatus::Clean);
    assert_eq!(stats.first_recv_ts_ns, None);
    assert!(file.header().created_ns > 0);
}

#[test]
fn oversize_payload_is_rejected_and_the_writer_goes_on() {
    let mut buf = CaptureBuf::new(&SymbolRegistry::new(), 0).unwrap();
    let big = vec![0u8; MAX_PAYLOAD_BYTES + 1];
    let rec = |payload| Record {
        recv_ts_ns: 1,
        exchange: Exchange::Mexc,
        kind: RecordKind::Binary,
        conn_id: 0,
        payload,
    };
    assert!(matches!(
        buf.append(rec(&big)),
        Err(CaptureError::PayloadTooLarge { .. })
    ));
    buf.append(rec(&big[..MAX_PAYLOAD_BYTES])).unwrap();
    buf.append(rec(b"x")).unwrap();
    let bytes = buf.into_bytes();
    let (read, tail) = read_all(&bytes);
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].payload.len(), MAX_PAYLOAD_BYTES);
    assert_eq!(tail, TailStatus::Clean);
}

#[test]
fn opening_a_missing_file_names_it() {
    // SAFETY: the file does not exist; nothing is mapped.
    let err = unsafe { CaptureFile::open("/nonexistent/dir/x.arbcap") }.unwrap_err();
    assert!(matches!(err, CaptureError::Io { op: "open", .. }));
    assert!(
        err.to_string()
            .starts_with("cannot open /nonexistent/dir/x.arbcap: ")
    );
}

#[test]
fn creating_in_a_missing_directory_is_an_io_error() {
    let err = CaptureWriter::create("/nonexistent/dir/x.arbcap", &registry()).unwrap_err();
    assert!(matches!(err, CaptureError::Io { op: "create", .. }));
}

fn arb_record() -> impl Strategy<Value = Owned> {
    (
        any::<i64>(),
        0..Exchange::COUNT,
        0..RecordKind::COUNT,
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(ts, ex, kind, conn, payload)| Owned {
            recv_ts_ns: ts,
            exchange: Exchange::ALL[ex],
            kind: RecordKind::ALL[kind],
            conn_id: conn,
            payload,
        })
}

proptest! {
    #[test]
    fn prop_records_round_trip(records in proptest::collection::vec(arb_record(), 0..40)) {
        let bytes = buf_with(&records);
        prop_assert_eq!(bytes.len() % 8, 0);
        let (read, tail) = read_all(&bytes);
        prop_assert_eq!(read, records);
        prop_assert_eq!(tail, TailStatus::Clean);
    }

    #[test]
    fn prop_any_prefix_reads_without_panic(
        records in proptest::collection::vec(arb_record(), 1..10),
        cut_frac in 0.0f64..1.0,
    ) {
        let bytes = buf_with(&records);
        let cut = (bytes.len() as f64 * cut_frac) as usize;
        if let Ok(reader) = CaptureReader::new(&bytes[..cut]) {
            let stats = reader.scan();
            prop_assert!(stats.records <= records.len() as u64);
            prop_assert!(stats.valid_len <= cut as u64);
        }
    }
}
