//! The dashboard in a real browser: headless Chromium loads the page `arb demo` serves and
//! the test reads the DOM it built: the opportunities table fills, the chart draws (a
//! uPlot canvas) with a point count that grows between two loads, the venues panel lists
//! 8 venues, and the history view draws the pair from the Parquet store. A screenshot is
//! kept as `target/dashboard.png`.
//!
//! Needs Debian's `chromium` (`ci/setup.sh` installs it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn chromium(args: &[&str], url: &str) -> String {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1400,1000",
            "--virtual-time-budget=6000",
        ])
        .args(args)
        .arg(url)
        .stderr(Stdio::null())
        .output()
        .expect("chromium is needed for the dashboard test (ci/setup.sh installs it)");
    assert!(out.status.success(), "chromium failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `<tbody>` of the table with `id`, from a DOM dump.
fn tbody<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("table {id} missing from the page: {dom}"));
    let rest = &dom[start..];
    let b = rest.find("<tbody>").expect("tbody");
    let e = rest.find("</tbody>").expect("/tbody");
    &rest[b..e]
}

fn points(dom: &str) -> usize {
    let i = dom.find(" points ").expect("chart note");
    let digits: String = dom[..i]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().unwrap()
}

#[test]
fn the_dashboard_fills_its_table_chart_and_venues_in_chromium() {
    let data = std::env::temp_dir().join(format!("arb-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut child = Command::new(env!("CARGO_BIN_EXE_arb"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--symbols",
            "20",
            "--data",
        ])
        .arg(&data)
        .args(["--rate", "4000", "--loop-secs", "10", "--duration", "60"])
        .args(["--store-file-secs", "2"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://{}/", common::serving_addr(&mut child));
    // Let the market run long enough for dislocations to rank.
    std::thread::sleep(Duration::from_secs(4));

    let dom = chromium(&["--dump-dom"], &url);
    let opps = tbody(&dom, "opps");
    assert!(opps.matches("<tr").count() >= 3, "opportunities: {opps}");
    let venues = tbody(&dom, "venues");
    assert_eq!(venues.matches("<tr").count(), 8, "venues: {venues}");
    for v in ["Binance", "GateIo", "Kucoin", "BingX"] {
        assert!(venues.contains(v), "{v} missing: {venues}");
    }
    assert!(dom.contains("<canvas"), "no chart canvas");
    let first = points(&dom);
    assert!(first > 0);
    std::thread::sleep(Duration::from_secs(3));
    let dom2 = chromium(&["--dump-dom"], &url);
    assert!(dom2.contains("<canvas"));
    // The page picks the top opportunity; a different pair may lead later, so compare the
    // total points drawn only when the same pair is shown.
    let title = |d: &str| {
        let i = d.find("id=\"chart-title\">").unwrap();
        d[i..].split('<').next().unwrap().to_string()
    };
    if title(&dom) == title(&dom2) {
        assert!(
            points(&dom2) > first,
            "chart did not move: {first} then {}",
            points(&dom2)
        );
    }
    // The history view: the same chart from the Parquet store (files close every 2 s).
    let hist = chromium(&["--dump-dom"], &format!("{url}#history"));
    assert!(hist.contains("<canvas"), "no history chart");
    let note = hist
        .split("id=\"chart-note\"")
        .nth(1)
        .unwrap_or("")
        .split("</p>")
        .next()
        .unwrap_or("");
    assert!(
        hist.contains(" points from the store"),
        "history view did not load: {note}"
    );
    assert!(points(&hist) > 0, "history chart is empty");
    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dashboard.png");
    chromium(&[&format!("--screenshot={}", shot.display())], &url);
    assert!(shot.exists());
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
}
