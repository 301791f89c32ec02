//! The Parquet store's write path on one thread, side by side with the same rows written
//! as CSV through a `BufWriter` (what a hand-rolled collector would do).
//!
//! Rows: 1 000 symbols × 8 venues, quotes in time order (100 ns apart, symbols and venues
//! interleaved as a live feed delivers them), prices moving in ticks on a random walk,
//! sizes random. Every iteration writes into a fresh directory that is removed afterwards
//! (outside the timed part).
//!
//! - `store_write/parquet_file`: buffer the rows as the store thread does and write one
//!   file: counting sort by symbol and venue, Arrow batches per 64 Ki-row group, Parquet
//!   (dictionary prices, delta timestamps, zstd 1), fsync, rename. Per quote row.
//! - `store_write/csv_bufwriter`: the same rows as CSV lines (`write!` of each column
//!   into a 1 MiB `BufWriter<File>`), fsync. Per quote row.
//! - `store_write/worker_end_to_end`: the store thread's whole job for the same quotes:
//!   pop from its ring, derive pair spreads (`LivePairs`), sample them per second, buffer
//!   and write the quote and spread files. Per quote.
//!
//! The bytes each variant leaves are printed once per run (bytes per row).
//!
//! Run: `cargo bench -p arb-benches --profile bench-lto --bench store`.
//! `cargo test --benches` runs each once on 20 000 rows (smoke test).

use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use arb_engine::clock::Stopwatch;

use arb_engine::event::{Exchange, Quote, SymbolId};
use arb_engine::ring::{Envelope, RingBuffer};
use arb_engine::spread::{CoreOut, QuoteUpdate};
use arb_engine::{CoreConfig, SymbolRegistry};
use arb_io::names;
use arb_io::store::rows::{Names, QuoteRows, Rows as _};
use arb_io::store::{FileConfig, StoreConfig, StoreFiles, StoreWorker};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SYMBOLS: u32 = 1000;
const T0_NS: i64 = 1_796_180_400_000_000_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn rows() -> usize {
    // Criterion's --bench flag is present for measuring runs only.
    if std::env::args().any(|a| a == "--bench") {
        1_000_000
    } else {
        20_000
    }
}

fn registry() -> SymbolRegistry {
    let mut r = SymbolRegistry::new();
    for s in 0..SYMBOLS {
        let base = format!("S{s:04}");
        for ex in Exchange::ALL {
            r.insert(ex, &format!("{base}USDT"), &base, "USDT")
                .expect("valid symbol");
        }
    }
    r
}

fn quotes(n: usize) -> Vec<Quote> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let venues = Exchange::COUNT as u64;
    // Mid price per symbol in ticks, walking.
    let mut mid: Vec<i64> = (0..SYMBOLS).map(|s| 10_000 + i64::from(s) * 37).collect();
    (0..n)
        .map(|i| {
            let r = rng.next();
            let s = (r % u64::from(SYMBOLS)) as u32;
            let ex = Exchange::ALL[((r >> 20) % venues) as usize];
            let m = &mut mid[s as usize];
            *m += ((r >> 40) % 3) as i64 - 1;
            let tick = 0.01;
            let ts = T0_NS + i as i64 * 100;
            Quote {
                symbol: SymbolId(s),
                exchange: ex,
                conn_id: 0,
                bid_px: (*m - 1) as f64 * tick,
                bid_qty: ((r >> 8) % 100_000) as f64 / 100.0,
                ask_px: (*m + 1) as f64 * tick,
                ask_qty: ((r >> 28) % 100_000) as f64 / 100.0,
                exch_ts_ns: ts - 2_000_000,
                recv_ts_ns: ts,
            }
        })
        .collect()
}

fn fresh_dir(tag: &str, i: u64) -> PathBuf {
    let d = std::env::temp_dir().join(format!("arb-bench-store-{}-{tag}-{i}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn dir_bytes(d: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(d) else { return 0 };
    rd.flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_bytes(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}

fn csv(path: &Path, registry: &SymbolRegistry, qs: &[Quote]) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(
        w,
        "Timestamp,Exchange,Symbol,BestBid,BestAsk,SpreadPercentage,BidSize,AskSize,ExchangeTimestamp,ConnectionId"
    )?;
    let mut sym = String::new();
    for q in qs {
        names::symbol_name_into(registry.name(q.symbol), &mut sym);
        writeln!(
            w,
            "{},{},{},{},{},{},{},{},{},{}",
            q.recv_ts_ns,
            names::exchange_name(q.exchange),
            sym,
            q.bid_px,
            q.ask_px,
            q.own_spread_pct(),
            q.bid_qty,
            q.ask_qty,
            q.exch_ts_ns,
            q.conn_id
        )?;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}

fn store_write(c: &mut Criterion) {
    let n = rows();
    let registry = registry();
    let names = Names::new(&registry);
    let qs = quotes(n);
    let mut g = c.benchmark_group("store_write");
    g.throughput(Throughput::Elements(n as u64))
        .sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .warm_up_time(Duration::from_secs(2));
    let mut iter_no = 0u64;
    let mut reported = [false; 3];

    g.bench_function("parquet_file", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                iter_no += 1;
                let dir = fresh_dir("pq", iter_no);
                let t = Stopwatch::start();
                let (mut files, _) =
                    StoreFiles::open(&dir, FileConfig::default(), T0_NS).expect("store opens");
                let mut buf = QuoteRows::default();
                for q in &qs {
                    buf.push(q);
                }
                let w = files.write(&buf, T0_NS / 3_600_000_000_000, &names);
                total += t.elapsed();
                let w = w.expect("file written");
                if !reported[0] {
                    reported[0] = true;
                    eprintln!(
                        "store_write/parquet_file: {} rows, {} bytes, {:.2} bytes/row",
                        buf.len(),
                        w.bytes,
                        w.bytes as f64 / buf.len() as f64
                    );
                }
                drop(files);
                let _ = fs::remove_dir_all(&dir);
            }
            total
        });
    });

    g.bench_function("csv_bufwriter", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                iter_no += 1;
                let dir = fresh_dir("csv", iter_no);
                fs::create_dir_all(&dir).expect("dir");
                let path = dir.join("quotes.csv");
                let t = Stopwatch::start();
                csv(&path, &registry, &qs).expect("csv written");
                total += t.elapsed();
                if !reported[1] {
                    reported[1] = true;
                    let bytes = dir_bytes(&dir);
                    eprintln!(
                        "store_write/csv_bufwriter: {n} rows, {bytes} bytes, {:.2} bytes/row",
                        bytes as f64 / n as f64
                    );
                }
                let _ = fs::remove_dir_all(&dir);
            }
            total
        });
    });

    g.bench_function("worker_end_to_end", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                iter_no += 1;
                let dir = fresh_dir("worker", iter_no);
                let (mut tx, rx) = RingBuffer::new(1 << 16);
                let t = Stopwatch::start();
                let (mut w, _) = StoreWorker::open(
                    StoreConfig::new(&dir),
                    &registry,
                    &CoreConfig::default(),
                    rx,
                )
                .expect("store opens");
                for q in &qs {
                    let item = CoreOut::Quote(QuoteUpdate {
                        quote: *q,
                        own_spread_pct: q.own_spread_pct(),
                        history_ts_ns: q.recv_ts_ns,
                    });
                    if tx.push(Envelope { item, stamp_ns: 0 }).is_err() {
                        while w.pump() > 0 {}
                        tx.push(Envelope { item, stamp_ns: 0 })
                            .expect("ring drained");
                    }
                }
                drop(tx);
                while w.pump() > 0 {}
                let stats = w.finish();
                total += t.elapsed();
                if !reported[2] {
                    reported[2] = true;
                    let r = std::sync::atomic::Ordering::Relaxed;
                    eprintln!(
                        "store_write/worker_end_to_end: {} quote rows + {} spread rows, {} bytes",
                        stats.rows_written.get(arb_io::store::Kind::Quotes),
                        stats.rows_written.get(arb_io::store::Kind::Spreads),
                        stats.bytes.load(r)
                    );
                }
                let _ = fs::remove_dir_all(&dir);
            }
            total
        });
    });
    g.finish();
}

criterion_group!(benches, store_write);
criterion_main!(benches);
