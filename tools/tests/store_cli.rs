//! `arb query` and `arb analyze` end to end over a small fixture store: charts equal the
//! library's join of the rows written, raw exports hold exactly the kept rows, the default
//! range is the last hour, analyze covers every pair of every symbol on two venues and its
//! results do not depend on how the symbol space is cut, and bad arguments are clear
//! errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arb_io::history::{ASOF_TOLERANCE_NS, Deviation, asof_deviation};
use arb_io::store::fixture::{QuoteRow, TradeRow, write_quotes, write_trades};

const T0: i64 = 1_796_180_400_000_000_000; // 2026-12-02T03:00:00Z
const S: i64 = 1_000_000_000;
const VENUES: [&str; 3] = ["Binance", "GateIo", "OKX"];

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arb-store-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Quotes over two hours (02:00–04:00): symbols A..E on three venues, SOLO_USDT on one.
fn fixture(root: &Path) -> Vec<QuoteRow> {
    let mut rows = Vec::new();
    let mut seed = 12345u64;
    let mut rnd = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    };
    for sym in ["AAA_USDT", "BBB_USDT", "CCC_USDT", "DDD_USDT", "EEE_USDT"] {
        for venue in VENUES {
            let mut t = T0 - 3600 * S + (rnd() * 1e9) as i64;
            while t < T0 + 3600 * S {
                let bid = 100.0 * (1.0 + (rnd() - 0.5) * 0.012);
                rows.push(QuoteRow {
                    ts_ns: t,
                    exchange: venue.into(),
                    symbol: sym.into(),
                    bid,
                    ask: bid * 1.001,
                });
                t += (rnd() * 6e9) as i64 + 1;
            }
        }
    }
    for k in 0..100 {
        rows.push(QuoteRow {
            ts_ns: T0 + k * S,
            exchange: "OKX".into(),
            symbol: "SOLO_USDT".into(),
            bid: 1.0,
            ask: 1.1,
        });
    }
    let written = rows.clone();
    write_quotes(root, &mut rows, "part-0", 64).unwrap();
    let mut trades: Vec<TradeRow> = (0..50)
        .map(|k| TradeRow {
            ts_ns: T0 + k * 10 * S,
            exchange: VENUES[k as usize % 3].into(),
            symbol: "AAA_USDT".into(),
            price: 100.0 + k as f64,
            quantity: 0.5,
            side: if k % 2 == 0 { "Buy" } else { "Sell" },
            trade_id: k as u64,
        })
        .collect();
    write_trades(root, &mut trades, "part-0", 16).unwrap();
    written
}

fn arb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arb"))
        .args(args)
        .env_remove("ARB_STORE")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> (String, String) {
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8(out.stdout.clone()).unwrap(), stderr)
}

fn join(rows: &[QuoteRow], sym: &str, a: &str, b: &str, from: i64, to: i64) -> Deviation {
    let leg = |v: &str| -> (Vec<i64>, Vec<f64>) {
        rows.iter()
            .filter(|r| r.symbol == sym && r.exchange == v && r.ts_ns >= from && r.ts_ns < to)
            .map(|r| (r.ts_ns, r.bid))
            .unzip()
    };
    let ((t1, b1), (t2, b2)) = (leg(a), leg(b));
    let mut d = Deviation::default();
    asof_deviation((&t1, &b1), (&t2, &b2), ASOF_TOLERANCE_NS, &mut d);
    d
}

#[test]
fn query_prints_charts_and_raw_rows_and_reports_what_it_read() {
    let dir = temp_dir("query");
    let root = dir.join("store");
    let rows = fixture(&root);
    let store = root.to_str().unwrap();

    // Default range: the last hour (03:00–04:00). Venues in any spelling and order.
    let (out, err) = ok(&arb(&[
        "query",
        "--store",
        store,
        "--symbol",
        "ccc/usdt",
        "--exchanges",
        "okx,Gate.io",
    ]));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let c = &lines[0];
    assert_eq!(c["symbol"], "CCC_USDT");
    assert_eq!(c["exchange1"], "GateIo");
    assert_eq!(c["exchange2"], "OKX");
    let want = join(&rows, "CCC_USDT", "GateIo", "OKX", T0, T0 + 3600 * S);
    let ts = c["timestamps"].as_array().unwrap();
    assert_eq!(ts.len(), want.len());
    assert!(want.len() > 100);
    for (got, t) in ts.iter().zip(&want.ts_ns) {
        assert!((got.as_f64().unwrap() - (t / 1_000_000) as f64 / 1e3).abs() < 1e-6);
    }
    for (got, d) in c["spreads"].as_array().unwrap().iter().zip(&want.dev_pct) {
        assert!((got.as_f64().unwrap() - d).abs() < 1e-9);
    }
    assert_eq!(c["upperBand"].as_array().unwrap().len(), want.len());
    assert!(err.contains("1 partitions, 1 files"), "{err}");
    assert!(err.contains("row groups read"), "{err}");

    // Three venues, two hours: three charts (every alphabetical pair).
    let (out, err) = ok(&arb(&[
        "query",
        "--store",
        store,
        "--symbol",
        "CCC_USDT",
        "--exchanges",
        "binance,okx,gateio",
        "--from",
        "2026-12-02T02:00",
        "--to",
        "2026-12-02T04:00:00Z",
        "-q",
    ]));
    assert!(err.is_empty(), "{err}");
    let pairs: Vec<(String, String)> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["exchange1"].as_str().unwrap().to_owned(),
                v["exchange2"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let p = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        pairs,
        [
            p("Binance", "GateIo"),
            p("Binance", "OKX"),
            p("GateIo", "OKX")
        ]
    );

    // Raw quotes as CSV, epoch-second bounds: exactly the rows in range.
    let csv = dir.join("q.csv");
    let (from, to) = ((T0 - 1800 * S) / S, (T0 + 600 * S) / S);
    ok(&arb(&[
        "query",
        "--store",
        store,
        "--symbol",
        "BBB_USDT",
        "--raw",
        "quotes",
        "--exchanges",
        "okx",
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
        "--output",
        csv.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&csv).unwrap();
    let n_want = rows
        .iter()
        .filter(|r| {
            r.symbol == "BBB_USDT" && r.exchange == "OKX" && r.ts_ns >= from * S && r.ts_ns < to * S
        })
        .count();
    assert!(text.starts_with("Timestamp,Exchange,Symbol,BestBid,"));
    assert_eq!(text.lines().count(), n_want + 1);
    assert!(text.lines().skip(1).all(|l| l.contains(",OKX,BBB_USDT,")));

    // Raw trades as JSON lines, every venue.
    let (out, _) = ok(&arb(&[
        "query", "--store", store, "--symbol", "AAA_USDT", "--raw", "trades", "--format", "jsonl",
    ]));
    let trades: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(trades.len(), 50);
    assert!(
        trades
            .iter()
            .all(|t| t["Side"] == "Buy" || t["Side"] == "Sell")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_query_arguments_are_clear_errors() {
    let dir = temp_dir("errors");
    let root = dir.join("store");
    fixture(&root);
    let store = root.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--symbol", "AAA_USDT", "--exchanges", "okx,kraken"],
            "unknown venue \"kraken\"",
        ),
        (
            &["--symbol", "AAA_USDT", "--exchanges", "okx"],
            "at least two venues",
        ),
        (
            &["--symbol", "AAAUSDT", "--exchanges", "okx,binance"],
            "bad symbol",
        ),
        (
            &[
                "--symbol",
                "AAA_USDT",
                "--exchanges",
                "okx,binance",
                "--from",
                "noon",
            ],
            "expected RFC 3339",
        ),
        (
            &[
                "--symbol",
                "AAA_USDT",
                "--exchanges",
                "okx,binance",
                "--from",
                "2026-12-02T04:00",
                "--to",
                "2026-12-02T03:00",
            ],
            "empty time range",
        ),
    ];
    for (args, msg) in cases {
        let mut all = vec!["query", "--store", store];
        all.extend_from_slice(args);
        let out = arb(&all);
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    let out = arb(&[
        "query",
        "--store",
        dir.join("nope").to_str().unwrap(),
        "--symbol",
        "A_B",
        "--exchanges",
        "okx,binance",
    ]);
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("not a directory")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn read_csv(dir: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.starts_with("summary_stats_") && n.ends_with(".csv")
        })
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn analyze_summarises_every_pair_the_same_however_the_symbols_are_cut() {
    let dir = temp_dir("analyze");
    let root = dir.join("store");
    let rows = fixture(&root);
    let store = root.to_str().unwrap();
    let (one, many) = (dir.join("one"), dir.join("many"));
    let (stdout, err) = ok(&arb(&[
        "analyze",
        "--store",
        store,
        "--out-dir",
        one.to_str().unwrap(),
        "--threads",
        "1",
    ]));
    assert!(
        stdout.contains("Top 10 by zero crossings per minute:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Top 10 by opportunity_cycles_040bp:"),
        "{stdout}"
    );
    assert!(err.contains("analyze: 15 pairs of 5 symbols"), "{err}");
    // Tiny chunks: many symbol spans, two threads, row groups straddling the cuts.
    let (_, err) = ok(&arb(&[
        "analyze",
        "--store",
        store,
        "--out-dir",
        many.to_str().unwrap(),
        "--threads",
        "2",
        "--chunk-rows",
        "50",
    ]));
    let spans: usize = err
        .split(" symbol spans")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(spans >= 4, "{err}");
    let (header, a) = read_csv(&one);
    let (header2, b) = read_csv(&many);
    assert_eq!(header, header2);
    assert_eq!(a, b);
    for col in [
        "symbol",
        "exchange1",
        "exchange2",
        "data_points",
        "duration_hours",
        "max_deviation",
        "min_deviation",
        "mean_deviation",
        "zero_crossings",
        "zero_crossings_per_hour",
        "zero_crossings_per_minute",
        "opportunity_cycles_030bp",
        "opportunity_cycles_040bp",
        "opportunity_cycles_050bp",
        "cycles_per_hour_040bp",
        "pct_time_above_040bp",
        "avg_cycle_duration_s_040bp",
        "last_above_040bp",
    ] {
        assert!(header.iter().any(|h| h == col), "{col}");
    }
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    // 5 symbols × 3 pairs; SOLO_USDT (one venue) has none.
    assert_eq!(a.len(), 15);
    assert!(a.iter().all(|r| r[at("symbol")] != "SOLO_USDT"));
    let zpm: Vec<f64> = a
        .iter()
        .map(|r| r[at("zero_crossings_per_minute")].parse().unwrap())
        .collect();
    assert!(zpm.windows(2).all(|w| w[0] >= w[1]), "{zpm:?}");
    // One pair against the library join over the whole store.
    let r = a
        .iter()
        .find(|r| r[at("symbol")] == "DDD_USDT" && r[at("exchange1")] == "Binance")
        .filter(|r| r[at("exchange2")] == "OKX")
        .unwrap();
    let d = join(&rows, "DDD_USDT", "Binance", "OKX", i64::MIN, i64::MAX);
    assert_eq!(r[at("data_points")], d.len().to_string());
    let max = d.dev_pct.iter().copied().fold(f64::MIN, f64::max);
    assert!((r[at("max_deviation")].parse::<f64>().unwrap() - max).abs() < 1e-6);

    // A venue subset: only Binance–OKX pairs.
    let sub = dir.join("sub");
    ok(&arb(&[
        "analyze",
        "--store",
        store,
        "--exchanges",
        "okx,binance",
        "--from",
        "2026-12-02T03:00",
        "--out-dir",
        sub.to_str().unwrap(),
        "-q",
    ]));
    let (_, s) = read_csv(&sub);
    assert_eq!(s.len(), 5);
    assert!(
        s.iter()
            .all(|r| r[at("exchange1")] == "Binance" && r[at("exchange2")] == "OKX")
    );
    let r = s.iter().find(|r| r[at("symbol")] == "DDD_USDT").unwrap();
    let d = join(&rows, "DDD_USDT", "Binance", "OKX", T0, i64::MAX);
    assert_eq!(r[at("data_points")], d.len().to_string());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn query_and_analyze_read_what_arb_replay_store_writes() {
    let dir = temp_dir("writer");
    let cap = dir.join("m.arbcap");
    let root = dir.join("store");
    ok(&arb(&[
        "gen",
        "--out",
        cap.to_str().unwrap(),
        "--symbols",
        "10",
        "--rate",
        "5000",
        "--duration",
        "4",
    ]));
    // Small files: a symbol's quotes span several files of the hour.
    ok(&arb(&[
        "replay",
        cap.to_str().unwrap(),
        "--store",
        root.to_str().unwrap(),
        "--store-file-rows",
        "3000",
        "--store-row-group-rows",
        "500",
        "-q",
    ]));
    let store = root.to_str().unwrap();
    let (out, err) = ok(&arb(&[
        "query",
        "--store",
        store,
        "--symbol",
        "BTC_USDT",
        "--exchanges",
        "okx,binance",
    ]));
    let c: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(
        (c["exchange1"].as_str(), c["exchange2"].as_str()),
        (Some("Binance"), Some("OKX"))
    );
    let ts: Vec<f64> = c["timestamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    assert!(ts.len() > 10, "{err}");
    assert!(ts.windows(2).all(|w| w[0] <= w[1]));
    assert!(err.contains("row groups read"), "{err}");

    let (out, _) = ok(&arb(&[
        "query", "--store", store, "--symbol", "BTC_USDT", "--raw", "quotes", "--format", "jsonl",
        "-q",
    ]));
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["Symbol"], "BTC_USDT");

    let reports = dir.join("reports");
    ok(&arb(&[
        "analyze",
        "--store",
        store,
        "--out-dir",
        reports.to_str().unwrap(),
        "-q",
    ]));
    let (header, rows) = read_csv(&reports);
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    // 10 symbols on 8 venues: 28 pairs each.
    assert_eq!(rows.len(), 280);
    assert!(
        rows.iter()
            .all(|r| r[at("exchange1")] < r[at("exchange2")] && r[at("data_points")] != "0")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
