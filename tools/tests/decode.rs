//! `arb decode` over every fixture file of every venue prints events and no errors, and
//! `--capture` decodes a generated capture completely.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

fn decode(venue: &str, input: &[u8]) -> (Vec<serde_json::Value>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arb"))
        .args(["decode", "--exchange", venue])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit status: arb decode exits 0 even on bad lines"
    );
    let rows = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (rows, String::from_utf8(out.stderr).unwrap())
}

#[test]
fn every_fixture_file_decodes_without_errors() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../feeds/tests/data");
    let mut files = 0;
    for venue in [
        "binance", "bybit", "mexc", "gateio", "kucoin", "okx", "bitget", "bingx",
    ] {
        for entry in std::fs::read_dir(data.join(venue)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
                continue;
            }
            files += 1;
            let (rows, summary) = decode(venue, &std::fs::read(&path).unwrap());
            assert!(!rows.is_empty(), "{}", path.display());
            for row in &rows {
                assert_ne!(row["type"], "error", "{}: {row}", path.display());
                assert!(
                    row["type"] == "quote" || row["type"] == "trade" || row["type"] == "control",
                    "{row}"
                );
                if row["type"] == "quote" {
                    assert!(row["symbol"].as_str().unwrap().contains('/'), "{row}");
                    assert!(
                        row["bid"].as_f64().unwrap() > 0.0 && row["ask"].as_f64().unwrap() > 0.0,
                        "{row}"
                    );
                }
            }
            assert!(
                summary.contains(" 0 errors"),
                "{}: {summary}",
                path.display()
            );
        }
    }
    assert!(files >= 24);
}

#[test]
fn bad_lines_are_reported_and_the_rest_still_decodes() {
    let input = b"{\"u\":1,\"s\":\"BTCUSDT\",\"b\":\"1\",\"B\":\"1\",\"a\":\"2\",\"A\":\"1\"}\n{oops\n\n{\"u\":2,\"s\":\"ETHBTC\",\"b\":\"0.05\",\"B\":\"1\",\"a\":\"0.06\",\"A\":\"1\"}\n";
    let (rows, summary) = decode("binance", input);
    let types: Vec<&str> = rows.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["quote", "error", "quote"]);
    assert_eq!(rows[0]["symbol"], "BTC/USDT");
    assert_eq!(rows[0]["native_symbol"], "BTCUSDT");
    assert_eq!(rows[0]["exch_ts_ns"], serde_json::Value::Null);
    assert_eq!(rows[2]["symbol"], "ETH/BTC");
    assert!(
        summary.contains("1 errors") && summary.contains("json=1"),
        "{summary}"
    );
}

#[test]
fn capture_decodes_completely() {
    let dir = std::env::temp_dir().join(format!("arb-test-decode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("c.arbcap");
    let st = Command::new(env!("CARGO_BIN_EXE_arb"))
        .args(["gen", "--out"])
        .arg(&cap)
        .args(["--symbols", "5", "--rate", "5000", "--duration", "1"])
        .output()
        .unwrap();
    assert!(st.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_arb"))
        .args(["decode", "--capture"])
        .arg(&cap)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(" 0 errors"), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().any(|l| l.contains(r#""type":"connection""#)));
    let quotes = text
        .lines()
        .filter(|l| l.contains(r#""type":"quote""#))
        .count();
    assert!(quotes > 3000, "{quotes}");
    let _ = std::fs::remove_dir_all(&dir);
}
