//! Loom models of the lock-free pieces: a reader of a history series or of the ranking board never
//! sees a torn copy, whatever the interleaving with the single writer, and a ring's
//! doorbell never lets its consumer sleep through a push.
//!
//! Run: `RUSTFLAGS="--cfg arb_loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom
//! cargo test -p arb-engine --test loom --release` (`ci/loom.sh`). Loom treats SeqCst as
//! AcqRel and skips load buffering: evidence, not proof.
#![cfg(arb_loom)]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use arb_engine::SymbolId;
use arb_engine::history::{HistoryConfig, HistoryStore, SeriesCursor, SeriesSnapshot};
use arb_engine::ranking::RankingBoard;
use arb_engine::ring::Doorbell;

/// The prices of point `ts`: distinct per point and per side, so a copy that mixes two
/// points (or the two sides) cannot pass.
fn point(ts: i64) -> (f64, f64) {
    let t = ts as f64;
    (t, t + 0.25)
}

#[test]
fn history_reader_sees_whole_points_only() {
    loom::model(|| {
        let store = Arc::new(HistoryStore::with_series(
            1,
            HistoryConfig {
                buckets: 2,
                bucket_ns: 10,
                raw_points: 2,
            },
        ));
        // Prior state: points 1 and 2 fill the raw ring and bucket 0 (not zeroed memory).
        let mut cursor = SeriesCursor::default();
        for ts in [1, 2] {
            let (bid, ask) = point(ts);
            store.append(0, &mut cursor, ts, bid, ask);
        }
        let writer = {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                // Point 3 overwrites point 1's raw slot and updates bucket 0.
                let (bid, ask) = point(3);
                store.append(0, &mut cursor, 3, bid, ask);
            })
        };
        let mut snap = SeriesSnapshot::default();
        if store.read(0, &mut snap).is_ok() {
            let newest = snap.raw.last().unwrap().ts_ns;
            assert!(newest == 2 || newest == 3, "unknown point {newest}");
            let ts: Vec<i64> = snap.raw.iter().map(|p| p.ts_ns).collect();
            assert_eq!(ts, [newest - 1, newest], "raw ring from one moment");
            for p in &snap.raw {
                let (bid, ask) = point(p.ts_ns);
                assert_eq!((p.bid, p.ask), (bid as f32, ask as f32));
            }
            let b = snap.buckets.last().unwrap();
            let (bid, ask) = point(newest);
            assert_eq!(
                (b.last_bid, b.last_ask),
                (bid as f32, ask as f32),
                "bucket and raw ring from one moment"
            );
            assert!(b.min_bid <= 1.0 && b.max_ask >= ask as f32);
        }
        writer.join().unwrap();
        store.read(0, &mut snap).unwrap();
        assert_eq!(snap.raw.last().unwrap().ts_ns, 3);
    });
}

/// A consumer that finds its ring empty and sleeps is always woken by a push: with a lost
/// wake-up the model deadlocks (loom's park has no timeout), which loom reports.
#[test]
fn doorbell_never_sleeps_through_a_push() {
    loom::model(|| {
        let bell = Doorbell::new();
        bell.bind();
        let work = Arc::new(AtomicUsize::new(0));
        let producer = {
            let (bell, work) = (std::sync::Arc::clone(&bell), Arc::clone(&work));
            thread::spawn(move || {
                work.store(1, Ordering::Release);
                bell.ring();
            })
        };
        while work.load(Ordering::Acquire) == 0 {
            bell.sleep(Duration::from_millis(1), || {
                work.load(Ordering::Acquire) != 0
            });
        }
        producer.join().unwrap();
    });
}

#[test]
fn ranking_reader_sees_one_publication() {
    loom::model(|| {
        let board = Arc::new(RankingBoard::new(2));
        let writer = {
            let board = Arc::clone(&board);
            thread::spawn(move || {
                board.publish(1, &[(SymbolId(1), 1.0), (SymbolId(1), 1.0)]);
            })
        };
        let mut out = Vec::new();
        if let Some(ts) = board.read(&mut out) {
            match ts {
                0 => assert!(out.is_empty()),
                1 => assert_eq!(out, [(SymbolId(1), 1.0), (SymbolId(1), 1.0)]),
                _ => panic!("unknown publication {ts}"),
            }
        }
        writer.join().unwrap();
    });
}
