//! Loom models of the lock-free pieces: a reader of a window or of the ranking board never
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
use arb_engine::ranking::RankingBoard;
use arb_engine::ring::Doorbell;
use arb_engine::window::{WindowConfig, WindowSnapshot, WindowStore};

/// The values of point `ts`: distinct per point and per series, so a copy that mixes two
/// points (or two series) cannot pass.
fn point(ts: i64) -> (f64, f64, f64) {
    let t = ts as f64;
    (t, t + 0.25, -t)
}

#[test]
fn window_reader_sees_whole_points_only() {
    loom::model(|| {
        let store = Arc::new(WindowStore::new(
            1,
            WindowConfig {
                buckets: 2,
                bucket_ns: 10,
                raw_points: 2,
            },
        ));
        // Prior state: points 1 and 2 fill the raw ring and bucket 0 (not zeroed memory).
        for ts in [1, 2] {
            let (d, ab, ba) = point(ts);
            store.record(0, ts, d, ab, ba);
        }
        let writer = {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                // Point 3 overwrites point 1's raw slot and updates bucket 0.
                let (d, ab, ba) = point(3);
                store.record(0, 3, d, ab, ba);
            })
        };
        let mut snap = WindowSnapshot::default();
        if store.read(0, &mut snap).is_ok() {
            let newest = snap.raw.last().unwrap().ts_ns;
            assert!(newest == 2 || newest == 3, "unknown point {newest}");
            let ts: Vec<i64> = snap.raw.iter().map(|p| p.ts_ns).collect();
            assert_eq!(ts, [newest - 1, newest], "raw ring from one moment");
            for p in &snap.raw {
                let (d, ab, ba) = point(p.ts_ns);
                assert_eq!(
                    (p.dev, p.exec_ab, p.exec_ba),
                    (d as f32, ab as f32, ba as f32)
                );
            }
            let b = snap.buckets.last().unwrap();
            assert_eq!(
                b.count as i64, newest,
                "bucket and raw ring from one moment"
            );
            let (d, ab, ba) = point(newest);
            assert_eq!(
                (b.dev.last, b.exec_ab.last, b.exec_ba.last),
                (d as f32, ab as f32, ba as f32)
            );
            assert_eq!((b.dev.min, b.dev.max), (1.0, d as f32));
            assert_eq!((b.exec_ba.min, b.exec_ba.max), (ba as f32, -1.0));
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
