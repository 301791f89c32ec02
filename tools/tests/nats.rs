//! Scale-out over a real `nats-server` on loopback (issue 11, item 4): two collectors
//! (each against its own `arb mock-exchange`, different venues) feed one engine; spreads
//! between a venue of each appear; a collector killed with SIGKILL takes its venues down at
//! once (heartbeat timeout: state, ranking, gap records) and a restarted one recovers
//! without restarting the engine. A cluster of three servers survives the loss of the
//! collector's server. Every step is bounded in time; `nats-server` must be installed
//! (`ci/setup.sh` installs Debian's).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use arb_engine::clock::Stopwatch;
use serde_json::Value;

use common::{Mock, arb, config, http_get, serving_addr, sigterm};

/// Heartbeats every 100 ms; the engine declares a collector down after 500 ms of silence.
const FAST_NATS: &str = "[nats]\nheartbeat_ms = 100\nheartbeat_timeout_ms = 500\nwait_for_collectors_s = 30\nreconnect_cap_ms = 500";

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("arb-nats-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A child process killed on drop (a failed test leaves nothing behind).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nats_server_bin() -> PathBuf {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/usr/local/bin"])
    {
        let p = Path::new(dir).join("nats-server");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "nats-server not found: install it (Debian: apt-get install nats-server; ci/setup.sh does)"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `nats-server` on `port` (with `extra` flags) and waits until it accepts.
fn nats_server(port: u16, extra: &[String]) -> Proc {
    let child = Command::new(nats_server_bin())
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let sw = Stopwatch::start();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(sw.elapsed_s() < 10.0, "nats-server on {port} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Proc(child)
}

/// `arb run --role collector` against `mock` for `venues`.
fn collector(mock: &Mock, dir: &Path, name: &str, venues: &str, nats: &str) -> Proc {
    let cfg = config(mock, dir, FAST_NATS, "");
    let child = arb()
        .args(["run", "--config"])
        .arg(&cfg)
        .args(["--role", "collector", "--name", name, "--venues", venues])
        .args(["--nats", nats, "--quiet"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proc(child)
}

/// `arb run --role engine` for `collectors`; returns it and its API address.
fn engine(dir: &Path, collectors: &str, nats: &str) -> (Proc, String) {
    let cfg = dir.join("engine.toml");
    std::fs::write(&cfg, format!("{FAST_NATS}\n[discovery]\nmin_venues = 2\n")).unwrap();
    let mut child = arb()
        .args(["run", "--config"])
        .arg(&cfg)
        .args([
            "--role",
            "engine",
            "--collectors",
            collectors,
            "--nats",
            nats,
        ])
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(dir.join("data"))
        .args(["--store-file-secs", "2"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = serving_addr(&mut child);
    (Proc(child), addr)
}

fn get(addr: &str, path: &str) -> Value {
    let (status, body) = http_get(addr, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Venue (API spelling) → state.
fn states(addr: &str) -> Vec<(String, String)> {
    let v = get(addr, "/api/exchanges");
    let list = v.get("exchanges").unwrap_or(&v).as_array().unwrap().clone();
    list.iter()
        .map(|e| {
            (
                e["exchange"].as_str().unwrap().to_string(),
                e["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn state_of(addr: &str, venue: &str) -> String {
    states(addr)
        .into_iter()
        .find(|(v, _)| v == venue)
        .map(|(_, s)| s)
        .unwrap_or_default()
}

/// Venue pairs of the live ranking.
fn pairs(addr: &str) -> Vec<(String, String)> {
    get(addr, "/api/opportunities?limit=500")["opportunities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["exchange1"].as_str().unwrap().to_string(),
                o["exchange2"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Polls until `ok` or `secs`; returns the seconds it took.
fn wait_until(secs: f64, what: &str, mut ok: impl FnMut() -> bool) -> f64 {
    let sw = Stopwatch::start();
    loop {
        if ok() {
            return sw.elapsed_s();
        }
        assert!(sw.elapsed_s() < secs, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn crosses(p: &[(String, String)], a: &[&str], b: &[&str]) -> bool {
    p.iter().any(|(x, y)| {
        (a.contains(&x.as_str()) && b.contains(&y.as_str()))
            || (b.contains(&x.as_str()) && a.contains(&y.as_str()))
    })
}

fn events(addr: &str) -> u64 {
    get(addr, "/api/health")["events"].as_u64().unwrap()
}

#[test]
fn two_collectors_feed_one_engine_and_a_killed_one_recovers() {
    let dir = tmpdir("two");
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let _server = nats_server(port, &[]);
    let (mock_a, mock_b) = (Mock::start(&[]), Mock::start(&[]));
    let (dir_a, dir_b) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&dir_a).unwrap();
    std::fs::create_dir_all(&dir_b).unwrap();
    let tokyo = ["Binance", "OKX"];
    let sg = ["Bybit", "GateIo"];
    let mut c_tokyo = collector(&mock_a, &dir_a, "tokyo", "binance,okx", &url);
    let _c_sg = collector(&mock_b, &dir_b, "sg", "bybit,gateio", &url);
    let (mut eng, addr) = engine(&dir, "tokyo,sg", &url);

    // Spreads between a venue of each collector.
    let t = wait_until(60.0, "cross-collector spreads", || {
        crosses(&pairs(&addr), &tokyo, &sg)
    });
    eprintln!("cross-collector spreads after {t:.1} s");
    for v in tokyo.iter().chain(&sg) {
        assert_eq!(state_of(&addr, v), "connected", "{v}");
    }

    // Kill one collector: its venues go down within the heartbeat timeout (+ slack), its
    // quotes leave the ranking, the other collector's stay.
    c_tokyo.0.kill().unwrap();
    c_tokyo.0.wait().unwrap();
    let t = wait_until(5.0, "tokyo's venues down", || {
        tokyo.iter().all(|v| state_of(&addr, v) == "down")
    });
    eprintln!("tokyo's venues down {t:.2} s after the kill");
    let p = pairs(&addr);
    assert!(
        !p.iter()
            .any(|(x, y)| tokyo.contains(&x.as_str()) || tokyo.contains(&y.as_str())),
        "a dead collector's venue is still ranked: {p:?}"
    );
    assert!(
        crosses(&p, &sg, &sg),
        "the live collector's pairs left too: {p:?}"
    );
    for v in &sg {
        assert_eq!(state_of(&addr, v), "connected", "{v}");
    }
    std::thread::sleep(Duration::from_millis(1000));

    // Restart it: the engine picks it up again without a restart.
    let _c_tokyo2 = collector(&mock_a, &dir_a, "tokyo", "binance,okx", &url);
    let t = wait_until(60.0, "tokyo back", || {
        tokyo.iter().all(|v| state_of(&addr, v) == "connected")
            && crosses(&pairs(&addr), &tokyo, &sg)
    });
    eprintln!("tokyo recovered {t:.1} s after its restart");

    // Stop the engine; the gap records of the outage are in the store.
    sigterm(&eng.0);
    let sw = Stopwatch::start();
    while eng.0.try_wait().unwrap().is_none() {
        assert!(sw.elapsed_s() < 20.0, "engine did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            "import duckdb,sys\n\
             rows=duckdb.sql(\"select Exchange, CAST((epoch(EndTimestamp)-epoch(Timestamp))*1000 AS BIGINT) from read_parquet('\"+sys.argv[1]+\"/gaps/**/*.parquet')\").fetchall()\n\
             [print(e, d) for e, d in rows]",
        )
        .arg(dir.join("data"))
        .output()
        .expect("python3 with duckdb (ci/setup.sh installs them)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let gaps: Vec<(String, i64)> = text
        .lines()
        .map(|l| {
            let (e, d) = l.split_once(' ').unwrap();
            (e.to_string(), d.parse().unwrap())
        })
        .collect();
    eprintln!("gaps: {gaps:?}");
    for v in &tokyo {
        assert!(
            gaps.iter()
                .any(|(e, d)| e == v && *d >= 1000 && *d < 120_000),
            "no gap record of the outage for {v}: {gaps:?}"
        );
    }
    for v in &sg {
        assert!(
            !gaps.iter().any(|(e, d)| e == v && *d >= 500),
            "the live collector's {v} has an outage gap: {gaps:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_three_server_cluster_survives_losing_the_collectors_server() {
    let dir = tmpdir("cluster");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let cluster: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut servers: Vec<Option<Proc>> = (0..3)
        .map(|i| {
            let routes: Vec<String> = (0..3)
                .filter(|&j| j != i)
                .map(|j| format!("nats://127.0.0.1:{}", cluster[j]))
                .collect();
            Some(nats_server(
                ports[i],
                &[
                    "--cluster_name".into(),
                    "arb-test".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{}", cluster[i]),
                    "--routes".into(),
                    routes.join(","),
                ],
            ))
        })
        .collect();
    let mock = Mock::start(&[]);
    // The collector knows only server 0 (it learns the others from the cluster); the
    // engine talks to server 2.
    let _c = collector(
        &mock,
        &dir,
        "tokyo",
        "binance,okx",
        &format!("nats://127.0.0.1:{}", ports[0]),
    );
    let (_eng, addr) = engine(&dir, "tokyo", &format!("nats://127.0.0.1:{}", ports[2]));
    wait_until(60.0, "data through the cluster", || {
        state_of(&addr, "Binance") == "connected" && events(&addr) > 1000
    });
    // Give the collector time to learn the cluster's other servers.
    std::thread::sleep(Duration::from_secs(2));

    drop(servers[0].take());
    let before = events(&addr);
    let t = wait_until(15.0, "data flowing again after losing a server", || {
        events(&addr) > before + 2000 && state_of(&addr, "Binance") == "connected"
    });
    eprintln!("data flowing again {t:.2} s after server 0 died");
    assert!(t < 10.0, "recovery took {t:.1} s, the stated bound is 10 s");
    let _ = std::fs::remove_dir_all(&dir);
}
