//! The Parquet store: every kind lands in its hour's partition with the documented
//! columns, rows sorted for pruning; files roll on rows, age and hour; spread samples keep
//! the last value per interval; half-written files are cleaned up at start; a failing
//! write is counted and the store keeps going; two processes cannot share a root.
#![allow(clippy::unwrap_used)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arb_engine::ring::{Envelope, Producer, RingBuffer};
use arb_engine::spread::{CoreOut, GapRecord, QuoteUpdate, Signal, SignalKind};
use arb_engine::{
    CoreConfig, Exchange, Quote, SymbolId, SymbolRegistry, Trade, TradeId, VenuePair, event::Side,
};
use arb_io::store::schema::{HOUR_NS, col};
use arb_io::store::{FileConfig, Kind, StoreConfig, StoreError, StoreWorker};
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampNanosecondType;
use arrow_array::{Array, RecordBatch};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// 2026-12-02T03:00:00Z.
const T0: i64 = 1_796_180_400 * 1_000_000_000;
const MS: i64 = 1_000_000;

fn registry() -> Arc<SymbolRegistry> {
    let mut r = SymbolRegistry::new();
    // Interned in an order that is not alphabetical, so the file order must come from
    // the names.
    for (native, base) in [("ZZZUSDT", "ZZZ"), ("BTCUSDT", "BTC"), ("ETHUSDT", "ETH")] {
        for ex in [Exchange::Binance, Exchange::Okx, Exchange::Gateio] {
            r.insert(ex, native, base, "USDT").unwrap();
        }
    }
    Arc::new(r)
}

fn tmp_root(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("arb-store-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&p);
    p
}

fn config(root: &Path) -> StoreConfig {
    StoreConfig {
        file: FileConfig {
            row_group_rows: 64,
            sync: false,
            ..FileConfig::default()
        },
        ..StoreConfig::new(root)
    }
}

fn open(cfg: StoreConfig) -> (StoreWorker, Producer<Envelope<CoreOut>>) {
    let (tx, rx) = RingBuffer::new(1 << 14);
    let (w, _) = StoreWorker::open(cfg, &registry(), &CoreConfig::default(), rx).unwrap();
    (w, tx)
}

fn quote(sym: u32, ex: Exchange, bid: f64, ts: i64) -> CoreOut {
    CoreOut::Quote(QuoteUpdate {
        quote: Quote {
            symbol: SymbolId(sym),
            exchange: ex,
            conn_id: 3,
            bid_px: bid,
            bid_qty: 2.0,
            ask_px: bid + 1.0,
            ask_qty: 4.0,
            exch_ts_ns: if ex == Exchange::Okx { 0 } else { ts - MS },
            recv_ts_ns: ts,
        },
        own_spread_pct: 0.0,
        history_ts_ns: ts,
    })
}

fn send(tx: &mut Producer<Envelope<CoreOut>>, w: &mut StoreWorker, items: &[CoreOut]) {
    for &item in items {
        tx.push(Envelope { item, stamp_ns: 0 }).unwrap();
        if tx.slots() < 16 {
            while w.pump() > 0 {}
        }
    }
    while w.pump() > 0 {}
}

fn files(root: &Path, kind: Kind) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let base = root.join(kind.as_str());
    let Ok(dates) = fs::read_dir(&base) else {
        return out;
    };
    for d in dates {
        for h in fs::read_dir(d.unwrap().path()).unwrap() {
            for f in fs::read_dir(h.unwrap().path()).unwrap() {
                out.push(f.unwrap().path());
            }
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> (RecordBatch, usize) {
    let b = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let groups = b.metadata().num_row_groups();
    let schema = b.schema().clone();
    let batches: Vec<RecordBatch> = b.build().unwrap().map(|r| r.unwrap()).collect();
    (arrow_select_concat(&schema, &batches), groups)
}

fn arrow_select_concat(schema: &arrow_schema::SchemaRef, batches: &[RecordBatch]) -> RecordBatch {
    // Small files: one batch each in these tests.
    assert!(
        batches.len() <= 1,
        "expected one batch, got {}",
        batches.len()
    );
    batches
        .first()
        .cloned()
        .unwrap_or_else(|| RecordBatch::new_empty(schema.clone()))
}

fn strings(b: &RecordBatch, name: &str) -> Vec<String> {
    b.column_by_name(name)
        .unwrap()
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect()
}

fn stamps(b: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let a = b
        .column_by_name(name)
        .unwrap()
        .as_primitive::<TimestampNanosecondType>();
    (0..a.len())
        .map(|i| (!a.is_null(i)).then(|| a.value(i)))
        .collect()
}

#[test]
fn every_kind_lands_in_its_hour_with_the_documented_columns_sorted_by_symbol() {
    let root = tmp_root("kinds");
    let (mut w, mut tx) = open(config(&root));
    let pair = VenuePair::new(Exchange::Binance, Exchange::Okx).unwrap();
    let mut items = Vec::new();
    // Arrival order: time-major over symbols 0 (ZZZ), 1 (BTC), 2 (ETH); the last two
    // quotes are in the next hour.
    for i in 0..30 {
        let ts = T0 + HOUR_NS - 30 * MS + i * MS;
        items.push(quote(
            (i % 3) as u32,
            Exchange::Binance,
            100.0 + i as f64,
            ts,
        ));
        items.push(quote((i % 3) as u32, Exchange::Okx, 100.5 + i as f64, ts));
    }
    items.push(quote(1, Exchange::Binance, 200.0, T0 + HOUR_NS + 5 * MS));
    items.push(quote(1, Exchange::Okx, 201.0, T0 + HOUR_NS + 6 * MS));
    items.push(CoreOut::Trade(Trade {
        symbol: SymbolId(2),
        exchange: Exchange::Gateio,
        side: Side::Sell,
        conn_id: 1,
        px: 3000.5,
        qty: 0.25,
        trade_id: TradeId::Hashed(77),
        exch_ts_ns: 0,
        recv_ts_ns: T0 + 10 * MS,
    }));
    items.push(CoreOut::Signal(Signal {
        ts_ns: T0 + 11 * MS,
        symbol: SymbolId(1),
        pair,
        kind: SignalKind::Entry,
        dev_pct: 0.42,
    }));
    items.push(CoreOut::Gap(GapRecord {
        exchange: Exchange::Okx,
        conn_id: 2,
        symbols_affected: 3,
        start_ns: T0 + 12 * MS,
        end_ns: T0 + 2_000 * MS,
    }));
    send(&mut tx, &mut w, &items);
    drop(tx);
    let stats = w.finish();
    assert_eq!(stats.rows_written.get(Kind::Quotes), 62);
    assert_eq!(stats.rows_written.get(Kind::Trades), 1);
    assert_eq!(stats.rows_written.get(Kind::Signals), 1);
    assert_eq!(stats.rows_written.get(Kind::Gaps), 1);
    // One spread per quote once both legs are live, sampled per second per pair.
    assert!(stats.rows_written.get(Kind::Spreads) >= 4);

    let quotes = files(&root, Kind::Quotes);
    assert_eq!(quotes.len(), 2, "one file per hour: {quotes:?}");
    assert!(
        quotes[0]
            .to_string_lossy()
            .contains("date=2026-12-02/hour=03")
    );
    assert!(
        quotes[1]
            .to_string_lossy()
            .contains("date=2026-12-02/hour=04")
    );
    let (b, groups) = read(&quotes[0]);
    assert_eq!(b.schema(), Kind::Quotes.schema());
    assert_eq!(b.num_rows(), 60);
    assert!(groups >= 1);
    let syms = strings(&b, col::SYMBOL);
    let venues = strings(&b, col::EXCHANGE);
    let ts = stamps(&b, col::TIMESTAMP);
    // Sorted by symbol name, venue name, time.
    let keys: Vec<_> = (0..b.num_rows())
        .map(|i| (syms[i].clone(), venues[i].clone(), ts[i]))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(syms[0], "BTC_USDT");
    assert_eq!(venues[0], "Binance");
    assert!(venues.iter().any(|v| v == "OKX"));
    // OKX sends no exchange time: null there, present elsewhere.
    let ex_ts = stamps(&b, col::EXCHANGE_TIMESTAMP);
    for i in 0..b.num_rows() {
        assert_eq!(ex_ts[i].is_none(), venues[i] == "OKX");
    }
    let trades = files(&root, Kind::Trades);
    let (t, _) = read(&trades[0]);
    assert_eq!(strings(&t, col::SIDE), ["Sell"]);
    assert_eq!(strings(&t, col::EXCHANGE), ["GateIo"]);
    assert_eq!(strings(&t, col::SYMBOL), ["ETH_USDT"]);
    let (s, _) = read(&files(&root, Kind::Signals)[0]);
    assert_eq!(strings(&s, col::EXCHANGE1), ["Binance"]);
    assert_eq!(strings(&s, col::EXCHANGE2), ["OKX"]);
    assert_eq!(strings(&s, col::KIND), ["Entry"]);
    let (g, _) = read(&files(&root, Kind::Gaps)[0]);
    assert_eq!(stamps(&g, col::END_TIMESTAMP), [Some(T0 + 2_000 * MS)]);
    for k in Kind::ALL {
        for f in files(&root, k) {
            assert!(f.extension().is_some_and(|e| e == "parquet"), "{f:?}");
        }
    }
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn files_close_at_the_row_limit_and_row_groups_split_symbols() {
    let root = tmp_root("rows");
    let (mut w, mut tx) = open(StoreConfig {
        max_file_rows: 100,
        ..config(&root)
    });
    let items: Vec<CoreOut> = (0..250)
        .map(|i| {
            quote(
                (i % 3) as u32,
                Exchange::Gateio,
                10.0,
                T0 + i64::from(i) * MS,
            )
        })
        .collect();
    send(&mut tx, &mut w, &items);
    drop(tx);
    let stats = w.finish();
    assert_eq!(stats.rows_written.get(Kind::Quotes), 250);
    let fs_ = files(&root, Kind::Quotes);
    assert!(fs_.len() >= 3, "{fs_:?}");
    // 100 rows in groups of 64: a reader looking for one symbol can skip a group whose
    // Symbol statistics exclude it.
    let meta = ParquetRecordBatchReaderBuilder::try_new(File::open(&fs_[0]).unwrap())
        .unwrap()
        .metadata()
        .clone();
    assert_eq!(meta.num_row_groups(), 2);
    let sym_col = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.name() == col::SYMBOL)
        .unwrap();
    let ranges: Vec<(Vec<u8>, Vec<u8>)> = meta
        .row_groups()
        .iter()
        .map(|rg| {
            let s = rg.column(sym_col).statistics().unwrap();
            (
                s.min_bytes_opt().unwrap().to_vec(),
                s.max_bytes_opt().unwrap().to_vec(),
            )
        })
        .collect();
    assert!(ranges[0].1 <= ranges[1].0, "row groups overlap: {ranges:?}");
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn spread_samples_keep_the_last_value_per_pair_per_interval() {
    for (sample_ms, want) in [(1_000, vec![500, 1_200]), (0, vec![100, 500, 1_200])] {
        let root = tmp_root(&format!("sample{sample_ms}"));
        let (mut w, mut tx) = open(StoreConfig {
            spread_sample_ms: sample_ms,
            ..config(&root)
        });
        let mut items = vec![quote(1, Exchange::Binance, 100.0, T0)];
        for t in [100, 500, 1_200] {
            items.push(quote(1, Exchange::Okx, 101.0, T0 + t * MS));
        }
        send(&mut tx, &mut w, &items);
        drop(tx);
        w.finish();
        let (b, _) = read(&files(&root, Kind::Spreads)[0]);
        let got: Vec<i64> = stamps(&b, col::TIMESTAMP)
            .into_iter()
            .map(|t| (t.unwrap() - T0) / MS)
            .collect();
        assert_eq!(got, want, "sample {sample_ms} ms");
        fs::remove_dir_all(&root).unwrap();
    }
}

#[test]
fn start_up_removes_half_written_files_and_reports_foreign_ones() {
    let root = tmp_root("recover");
    let part = root.join("quotes/date=2026-12-02/hour=03");
    fs::create_dir_all(&part).unwrap();
    fs::write(part.join("part-x-000001.parquet.tmp"), b"PAR1 half written").unwrap();
    fs::write(part.join("broken.parquet"), b"not parquet at all").unwrap();
    let (tx, rx) = RingBuffer::new(16);
    drop(tx);
    let (w, rec) =
        StoreWorker::open(config(&root), &registry(), &CoreConfig::default(), rx).unwrap();
    assert_eq!(rec.temps_removed, 1);
    assert_eq!(rec.files, 1);
    assert_eq!(rec.invalid.len(), 1);
    assert!(!part.join("part-x-000001.parquet.tmp").exists());
    let line = rec.to_string();
    assert!(line.contains("removed 1 half-written"), "{line}");
    drop(w);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_root_is_written_by_one_process_at_a_time_and_a_bad_root_is_a_clear_error() {
    let root = tmp_root("lock");
    let (_w, _tx) = open(config(&root));
    let (_tx2, rx2) = RingBuffer::new(16);
    let err =
        StoreWorker::open(config(&root), &registry(), &CoreConfig::default(), rx2).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("in use by another arb process"));

    let file = tmp_root("notadir");
    fs::write(&file, b"").unwrap();
    let (_tx3, rx3) = RingBuffer::new(16);
    let err = StoreWorker::open(
        config(&file.join("sub")),
        &registry(),
        &CoreConfig::default(),
        rx3,
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::Root { .. }), "{err}");
    fs::remove_file(&file).unwrap();
    drop(_w);
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_failed_write_is_counted_and_the_next_file_is_written() {
    let root = tmp_root("fail");
    let (mut w, mut tx) = open(StoreConfig {
        max_file_rows: 10,
        ..config(&root)
    });
    // The dataset directory is a file: every write of quotes fails (as a full or
    // read-only disk would), without crashing anything.
    fs::write(root.join("quotes"), b"in the way").unwrap();
    let first: Vec<CoreOut> = (0..10)
        .map(|i| quote(0, Exchange::Binance, 1.0, T0 + i * MS))
        .collect();
    send(&mut tx, &mut w, &first);
    w.maybe_roll();
    let stats = w.stats();
    assert_eq!(stats.rows_dropped_write.get(Kind::Quotes), 10);
    assert_eq!(stats.rows_written.get(Kind::Quotes), 0);
    fs::remove_file(root.join("quotes")).unwrap();
    let second: Vec<CoreOut> = (10..20)
        .map(|i| quote(0, Exchange::Binance, 1.0, T0 + i * MS))
        .collect();
    send(&mut tx, &mut w, &second);
    drop(tx);
    let stats = w.finish();
    assert_eq!(stats.rows_written.get(Kind::Quotes), 10);
    assert_eq!(stats.rows_dropped_write.get(Kind::Quotes), 10);
    assert!(
        stats
            .write_errors
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    fs::remove_dir_all(&root).unwrap();
}
