//! The store reader against small fixture stores: it lists only the partitions a range
//! touches, ignores in-progress files, prunes row groups by statistics, and the pair chart
//! it builds equals the as-of join of the rows written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use arb_engine::Exchange;
use arb_io::history::{
    ASOF_TOLERANCE_NS, Chart, Deviation, asof_deviation, format_time_ns, pair_chart,
};
use arb_io::store::export::{ExportFormat, export_rows};
use arb_io::store::fixture::{QuoteRow, write_quotes};
use arb_io::store::read::{Filter, ReadStats, Store, Symbols, TimeRange, read_quotes};
use arb_io::store::schema::{HOUR_NS, Kind, hour_of};

const T0: i64 = 1_796_180_400_000_000_000; // 2026-12-02T03:00:00Z
const S: i64 = 1_000_000_000;

fn temp_root(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arb-io-read-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 6 symbols × 3 venues, one quote every 700 ms + a per-venue offset, over `secs` seconds
/// from `start`; bids drift per venue so deviations vary.
fn rows(start: i64, secs: i64) -> Vec<QuoteRow> {
    let mut out = Vec::new();
    for (si, sym) in [
        "ADA_USDT", "BTC_USDT", "DOT_USDT", "ETH_USDT", "SOL_USDT", "XRP_USDT",
    ]
    .iter()
    .enumerate()
    {
        for (vi, venue) in ["Binance", "GateIo", "OKX"].iter().enumerate() {
            let mut t = start + vi as i64 * 130_000_000;
            let mut k = 0u64;
            while t < start + secs * S {
                let wiggle = ((k * 7 + vi as u64 * 3 + si as u64) % 11) as f64 - 5.0;
                let bid = 100.0 * (si + 1) as f64 * (1.0 + wiggle / 1000.0);
                out.push(QuoteRow {
                    ts_ns: t,
                    exchange: (*venue).to_owned(),
                    symbol: (*sym).to_owned(),
                    bid,
                    ask: bid * 1.0005,
                });
                t += 700_000_000 + (k % 5) as i64 * 300_000_000;
                k += 1;
            }
        }
    }
    out
}

#[test]
fn one_symbol_reads_fewer_row_groups_and_tmp_files_are_ignored() {
    let root = temp_root("prune");
    let mut all = rows(T0, 600);
    let written = all.clone();
    write_quotes(&root, &mut all, "part-0", 200).unwrap();
    // An in-progress file that is not even Parquet: reading it would fail.
    let dir = root.join("quotes/date=2026-12-02/hour=03");
    std::fs::write(dir.join("part-1.parquet.tmp"), b"not parquet yet").unwrap();

    let store = Store::new(&root);
    let stats = ReadStats::default();
    let files = store
        .open_files(Kind::Quotes, TimeRange::hour(hour_of(T0)), &stats)
        .unwrap();
    assert_eq!(files.len(), 1, "the .parquet.tmp file is not listed");
    let total_groups = files[0].num_row_groups();
    assert!(total_groups >= 10, "{total_groups}");

    let filter = Filter::new(TimeRange::new(T0, T0 + HOUR_NS))
        .with_symbols(Symbols::Only(vec!["DOT_USDT".into()]))
        .with_exchanges(vec!["GateIo".into()]);
    let series = read_quotes(&files, &filter, true, &stats).unwrap();
    let c = stats.snapshot();
    assert_eq!(c.partitions, 1);
    assert_eq!(c.files, 1);
    assert!(
        c.row_groups_read < total_groups as u64 / 4,
        "read {} of {total_groups}",
        c.row_groups_read
    );
    assert_eq!(
        c.row_groups_read + c.row_groups_skipped,
        total_groups as u64
    );
    let file_len = std::fs::metadata(files[0].path()).unwrap().len();
    assert!(
        c.bytes_read > 0 && c.bytes_read < file_len,
        "{c}; file {file_len} B"
    );

    let want: Vec<&QuoteRow> = written
        .iter()
        .filter(|r| r.symbol == "DOT_USDT" && r.exchange == "GateIo")
        .collect();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].symbol, "DOT_USDT");
    assert_eq!(series[0].exchange, "GateIo");
    assert_eq!(
        series[0].ts_ns,
        want.iter().map(|r| r.ts_ns).collect::<Vec<_>>()
    );
    assert_eq!(
        series[0].bid,
        want.iter().map(|r| r.bid).collect::<Vec<_>>()
    );
    assert_eq!(
        series[0].ask,
        want.iter().map(|r| r.ask).collect::<Vec<_>>()
    );
    assert_eq!(c.rows_matched, want.len() as u64);
    // Inside the row groups read, only the pages that can hold the pair are decoded.
    assert!(c.rows_read < c.row_groups_read * 200, "{c}");

    // Every (symbol, venue) and pair comes back exactly, through row-group and page
    // selection.
    for sym in [
        "ADA_USDT", "BTC_USDT", "DOT_USDT", "ETH_USDT", "SOL_USDT", "XRP_USDT",
    ] {
        for venues in [&["Binance"][..], &["GateIo", "OKX"], &["Binance", "OKX"]] {
            let filter = Filter::new(TimeRange::ALL)
                .with_symbols(Symbols::Only(vec![sym.into()]))
                .with_exchanges(venues.iter().map(|v| (*v).to_owned()).collect());
            let got = read_quotes(&files, &filter, false, &ReadStats::default()).unwrap();
            assert_eq!(got.len(), venues.len());
            for (s, v) in got.iter().zip(venues) {
                let want: Vec<i64> = written
                    .iter()
                    .filter(|r| r.symbol == sym && r.exchange == *v)
                    .map(|r| r.ts_ns)
                    .collect();
                assert_eq!(s.ts_ns, want, "{sym} {v}");
            }
        }
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn time_range_lists_only_its_partitions_and_cuts_rows_exactly() {
    let root = temp_root("hours");
    // Three hours: 02:59:00 .. 05:00:00 with quotes every ~second.
    let mut all = rows(T0 - 60 * S, 2 * 3600 + 60);
    let written = all.clone();
    write_quotes(&root, &mut all, "part-0", 500).unwrap();
    let store = Store::new(&root);
    assert_eq!(
        store.hour_span(Kind::Quotes).unwrap(),
        Some((hour_of(T0) - 1, hour_of(T0) + 1))
    );
    assert_eq!(
        store.last_hour(Kind::Quotes).unwrap(),
        Some(hour_of(T0) + 1)
    );
    assert_eq!(store.last_hour(Kind::Trades).unwrap(), None);

    let range = TimeRange::new(T0 + 30 * 60 * S, T0 + 3600 * S + 10 * S);
    let stats = ReadStats::default();
    let files = store.open_files(Kind::Quotes, range, &stats).unwrap();
    assert_eq!(stats.snapshot().partitions, 2);
    let filter = Filter::new(range).with_symbols(Symbols::Span {
        from: Some("BTC_USDT".into()),
        until: Some("ETH_USDT".into()),
    });
    let series = read_quotes(&files, &filter, false, &stats).unwrap();
    let keys: Vec<(&str, &str)> = series
        .iter()
        .map(|s| (s.symbol.as_str(), s.exchange.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("BTC_USDT", "Binance"),
            ("BTC_USDT", "GateIo"),
            ("BTC_USDT", "OKX"),
            ("DOT_USDT", "Binance"),
            ("DOT_USDT", "GateIo"),
            ("DOT_USDT", "OKX"),
        ]
    );
    for s in &series {
        let want: Vec<i64> = written
            .iter()
            .filter(|r| r.symbol == s.symbol && r.exchange == s.exchange && range.contains(r.ts_ns))
            .map(|r| r.ts_ns)
            .collect();
        assert_eq!(s.ts_ns, want);
        assert!(s.ask.is_empty());
    }
    let c = stats.snapshot();
    assert!(c.row_groups_skipped > 0, "{c}");
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn series_split_over_two_files_of_one_hour_come_back_sorted() {
    let root = temp_root("two-files");
    let all = rows(T0, 120);
    let (mut late, mut early): (Vec<QuoteRow>, Vec<QuoteRow>) =
        all.iter().cloned().partition(|r| r.ts_ns >= T0 + 60 * S);
    // "a" holds the later minute, "b" the earlier: file order is not time order.
    write_quotes(&root, &mut late, "a", 100).unwrap();
    write_quotes(&root, &mut early, "b", 100).unwrap();
    let stats = ReadStats::default();
    let store = Store::new(&root);
    let files = store
        .open_files(Kind::Quotes, TimeRange::ALL, &stats)
        .unwrap();
    assert_eq!(files.len(), 2);
    let series = read_quotes(&files, &Filter::new(TimeRange::ALL), false, &stats).unwrap();
    assert_eq!(series.len(), 18);
    for s in &series {
        assert!(s.ts_ns.is_sorted());
    }
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn pair_chart_is_the_join_of_the_rows_written() {
    let root = temp_root("chart");
    let mut all = rows(T0, 900);
    let written = all.clone();
    write_quotes(&root, &mut all, "part-0", 300).unwrap();
    let store = Store::new(&root);
    let stats = ReadStats::default();
    let range = TimeRange::new(T0 + 100 * S, T0 + 800 * S);
    // Venues given in the "wrong" order: the chart puts GateIo (alphabetically first) first.
    let chart = pair_chart(
        &store,
        "SOL_USDT",
        Exchange::Okx,
        Exchange::Gateio,
        range,
        &stats,
    )
    .unwrap();
    let leg = |v: &str| -> (Vec<i64>, Vec<f64>) {
        written
            .iter()
            .filter(|r| r.symbol == "SOL_USDT" && r.exchange == v && range.contains(r.ts_ns))
            .map(|r| (r.ts_ns, r.bid))
            .unzip()
    };
    let ((t1, b1), (t2, b2)) = (leg("GateIo"), leg("OKX"));
    let mut dev = Deviation::default();
    asof_deviation((&t1, &b1), (&t2, &b2), ASOF_TOLERANCE_NS, &mut dev);
    assert!(dev.len() > 500);
    assert_eq!(chart, Chart::new("SOL_USDT", "GateIo", "OKX", dev));
    let c = stats.snapshot();
    assert!(c.row_groups_read < c.row_groups_read + c.row_groups_skipped);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn export_writes_every_column_of_the_kept_rows() {
    let root = temp_root("export");
    let mut all = rows(T0, 60);
    let written = all.clone();
    write_quotes(&root, &mut all, "part-0", 50).unwrap();
    let stats = ReadStats::default();
    let files = Store::new(&root)
        .open_files(Kind::Quotes, TimeRange::ALL, &stats)
        .unwrap();
    let filter = Filter::new(TimeRange::ALL)
        .with_symbols(Symbols::Only(vec!["ETH_USDT".into()]))
        .with_exchanges(vec!["OKX".into()]);
    let want: Vec<&QuoteRow> = written
        .iter()
        .filter(|r| r.symbol == "ETH_USDT" && r.exchange == "OKX")
        .collect();

    let mut csv = Vec::new();
    let n = export_rows(&files, &filter, ExportFormat::Csv, &mut csv, &stats).unwrap();
    assert_eq!(n, want.len() as u64);
    let csv = String::from_utf8(csv).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "Timestamp,Exchange,Symbol,BestBid,BestAsk,SpreadPercentage,BidSize,AskSize,\
         ExchangeTimestamp,ConnectionId"
    );
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(first[0], format_time_ns(want[0].ts_ns));
    assert_eq!(first[1], "OKX");
    assert_eq!(first[2], "ETH_USDT");
    assert_eq!(first[3].parse::<f64>().unwrap(), want[0].bid);
    assert_eq!(first[8], "", "null exchange timestamp");
    assert_eq!(csv.lines().count(), want.len() + 1);

    let mut jsonl = Vec::new();
    export_rows(&files, &filter, ExportFormat::JsonLines, &mut jsonl, &stats).unwrap();
    let rows: Vec<serde_json::Value> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), want.len());
    assert_eq!(rows[1]["Symbol"], "ETH_USDT");
    assert_eq!(rows[1]["Timestamp"], format_time_ns(want[1].ts_ns));
    assert!(rows[1]["ExchangeTimestamp"].is_null());
    assert_eq!(rows[1]["ConnectionId"], 0);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn ranges_across_midnight_list_the_right_days() {
    let root = temp_root("days");
    let midnight = T0 + 21 * 3600 * S; // 2026-12-03T00:00:00Z
    let mut all = Vec::new();
    for start in [
        midnight - 1800 * S,
        midnight + 1800 * S,
        midnight + 34 * 3600 * S,
    ] {
        all.extend(rows(start, 20));
    }
    write_quotes(&root, &mut all, "part-0", 100).unwrap();
    for d in [
        "date=2026-12-02/hour=23",
        "date=2026-12-03/hour=00",
        "date=2026-12-04/hour=10",
    ] {
        assert!(
            root.join("quotes").join(d).join("part-0.parquet").is_file(),
            "{d}"
        );
    }
    let store = Store::new(&root);
    let parts = store
        .partitions(
            Kind::Quotes,
            TimeRange::new(midnight - 3600 * S, midnight + 3600 * S),
        )
        .unwrap();
    let hours: Vec<i64> = parts.iter().map(|p| p.hour - hour_of(midnight)).collect();
    assert_eq!(hours, [-1, 0]);
    assert_eq!(
        store.last_hour(Kind::Quotes).unwrap(),
        Some(hour_of(midnight) + 34)
    );
    assert!(
        store
            .partitions(
                Kind::Quotes,
                TimeRange::new(midnight + 3600 * S, midnight + 34 * 3600 * S)
            )
            .unwrap()
            .is_empty()
    );
    std::fs::remove_dir_all(&root).unwrap();
}
