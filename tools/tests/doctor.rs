//! `arb doctor` through the binary on this machine: every item and the summary print, a
//! missing core and a too-small budget fail naming what is wrong, `--json` parses, and
//! each item's recommendation is the one `tuning.md` gives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Every item the doctor reports, in order.
const ITEMS: [&str; 16] = [
    "config",
    "cores",
    "pinning",
    "isolcpus",
    "nohz_full",
    "rcu_nocbs",
    "irq affinity",
    "governor",
    "c-states",
    "transparent huge pages",
    "clock source",
    "socket buffers",
    "busy polling",
    "numa",
    "nic rings",
    "memory budget",
];

fn doctor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arb"))
        .arg("doctor")
        .args(args)
        .output()
        .unwrap()
}

fn config(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("arb-doctor-{name}-{}.toml", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn the_default_run_prints_every_item_and_passes() {
    let o = doctor(&[]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    // Rows start at the first column; wrapped cells continue on lines that start blank.
    let rows: Vec<&str> = out
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with(' '))
        .collect();
    for (name, row) in ITEMS.iter().zip(&rows) {
        assert!(row.starts_with(name), "{name} missing: {out}");
        let status = row.rsplit(" | ").next().unwrap();
        assert!(
            ["ok", "advise", "unknown"].contains(&status),
            "{name}: {status}"
        );
    }
    assert_eq!(rows.len(), ITEMS.len() + 1, "{out}");
    let summary = out.lines().last().unwrap();
    assert!(summary.starts_with("doctor: "), "{out}");
    assert!(summary.ends_with(" 0 FAIL"), "{out}");
}

#[test]
fn a_missing_core_fails_naming_it() {
    let o = doctor(&["--engine-core", "99"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("engine core 99 is not available"), "{out}");
    assert!(out.lines().last().unwrap().ends_with(" 1 FAIL"), "{out}");
}

#[test]
fn a_budget_below_the_reservation_fails_naming_it() {
    let p = config("budget", "[run]\nmemory_budget_mb = 1\n");
    let o = doctor(&["--config", p.to_str().unwrap()]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("memory_budget_mb 1"), "{out}");
    std::fs::remove_file(p).unwrap();
}

#[test]
fn a_config_that_does_not_parse_fails_with_the_loaders_error() {
    let p = config("bad", "[run]\nfeed_thread = 2\n");
    let o = doctor(&["--config", p.to_str().unwrap()]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("feed_thread"), "{out}");
    std::fs::remove_file(p).unwrap();
}

#[test]
fn json_parses_and_matches_the_table() {
    let o = doctor(&["--json", "--engine-core", "99"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let items = v["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|i| i["item"].as_str().unwrap()).collect();
    assert_eq!(names, ITEMS);
    for i in items {
        for k in ["set", "recommended", "why", "status"] {
            assert!(i[k].is_string(), "{i}");
        }
    }
    assert_eq!(v["summary"]["fail"], 1);
    let total: u64 = ["ok", "advise", "unknown", "fail"]
        .iter()
        .map(|k| v["summary"][k].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, ITEMS.len());
}

/// Per item, the setting both the doctor's recommendation and `tuning.md` must name: if
/// either changes its advice, this fails until the other follows.
const AGREE: [(&str, &str); 14] = [
    ("isolcpus", "isolcpus="),
    ("nohz_full", "nohz_full="),
    ("rcu_nocbs", "rcu_nocbs="),
    ("irq affinity", "smp_affinity"),
    ("irq affinity", "irqbalance"),
    ("governor", "performance"),
    ("c-states", "intel_idle.max_cstate=1"),
    ("c-states", "cpu_dma_latency"),
    ("transparent huge pages", "madvise"),
    ("clock source", "tsc"),
    ("socket buffers", "16777216"),
    ("busy polling", "busy_poll"),
    ("numa", "numactl --cpunodebind=N --membind=N"),
    ("nic rings", "ethtool -G"),
];

#[test]
fn recommendations_agree_with_tuning_md() {
    let tuning =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tuning.md")).unwrap();
    let o = doctor(&["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let items = v["items"].as_array().unwrap();
    for (name, token) in AGREE {
        let item = items
            .iter()
            .find(|i| i["item"] == name)
            .unwrap_or_else(|| panic!("no doctor item {name}"));
        let rec = item["recommended"].as_str().unwrap();
        assert!(
            rec.contains(token),
            "doctor's {name} recommends {rec:?}, not {token:?}"
        );
        assert!(
            tuning.contains(token),
            "tuning.md does not name {token:?} ({name})"
        );
    }
    // Every host item the doctor checks has its section in tuning.md.
    for name in ITEMS.iter().skip(3) {
        assert!(
            AGREE.iter().any(|(n, _)| n == name) || *name == "memory budget",
            "{name} is not tied to tuning.md"
        );
    }
}
