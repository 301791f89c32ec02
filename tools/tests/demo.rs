//! `arb demo` end to end: it generates its market, serves the dashboard and the API on
//! the address it prints, the ranking fills, the store keeps data, and it stops by itself
//! with --duration; killed, it leaves nothing in the temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn demo_serves_the_dashboard_and_a_filling_ranking_then_stops() {
    let data = std::env::temp_dir().join(format!("arb-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut child = Command::new(env!("CARGO_BIN_EXE_arb"))
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--symbols",
            "12",
            "--rate",
            "3000",
        ])
        .args(["--loop-secs", "5", "--duration", "8", "--data"])
        .arg(&data)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let addr = common::serving_addr(&mut child);
    let (s, page) = common::http_get(&addr, "/");
    assert_eq!(s, 200);
    assert!(page.contains("<title>arb"), "{page}");
    let (s, js) = common::http_get(&addr, "/assets/uPlot.min.js");
    assert_eq!(s, 200);
    assert!(js.len() > 40_000);
    // The generated market has dislocations: the ranking fills within a few seconds.
    let mut filled = false;
    for _ in 0..40 {
        let (s, body) = common::http_get(&addr, "/api/opportunities");
        assert_eq!(s, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if !v["opportunities"].as_array().unwrap().is_empty() {
            filled = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(filled, "no opportunity appeared");
    let (_, body) = common::http_get(&addr, "/api/exchanges");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 8);
    // It stops by itself.
    let status = child.wait().unwrap();
    assert!(status.success());
    assert!(data.join("quotes").exists(), "the store kept no quotes");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn a_killed_demo_leaves_no_capture_behind_and_sweeps_those_of_dead_demos() {
    let tmp = std::env::temp_dir().join(format!("arb-demo-tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    // What a demo killed while generating leaves: a capture named after a process that
    // is gone.
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let stale = tmp.join(format!("arb-demo-{}.arbcap", gone.id()));
    std::fs::write(&stale, b"left behind").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_arb"))
        .args(["demo", "--listen", "127.0.0.1:0", "--no-store"])
        .args(["--symbols", "4", "--rate", "500", "--loop-secs", "5"])
        .env("TMPDIR", &tmp)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Serving: generated, and the replay has the capture open.
    let addr = common::serving_addr(&mut child);
    let (s, _) = common::http_get(&addr, "/api/health");
    assert_eq!(s, 200);
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in the temporary directory: {left:?}");
    let _ = std::fs::remove_dir_all(&tmp);
}
