//! What the binary's end-to-end tests share: the `arb` command, a running
//! `arb mock-exchange` and its config fragment, finding the address a spawned `arb` serves
//! on, and a plain HTTP GET.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Reads the child's stderr (it must be piped) until the `serving http://ADDR/` line,
/// keeps draining it on a thread so the child never blocks on a full pipe, and returns
/// `ADDR` (`host:port`).
pub(crate) fn serving_addr(child: &mut Child) -> String {
    let mut lines = BufReader::new(child.stderr.take().expect("stderr piped")).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("arb ended before serving")
            .expect("stderr readable");
        if let Some(rest) = line.split(": serving http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    addr
}

/// `GET path` on a fresh connection (`Connection: close`); returns (status, body).
pub(crate) fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    (status, out.split_once("\r\n\r\n").unwrap().1.to_string())
}

pub(crate) const VENUES: [&str; 8] = [
    "binance", "bybit", "mexc", "gateio", "kucoin", "okx", "bitget", "bingx",
];

pub(crate) fn arb() -> Command {
    Command::new(env!("CARGO_BIN_EXE_arb"))
}

/// A running `arb mock-exchange`, killed on drop.
pub(crate) struct Mock {
    pub(crate) child: Child,
    pub(crate) addr: String,
    /// Its `--print-config` fragment.
    pub(crate) config: String,
}

impl Mock {
    pub(crate) fn start(args: &[&str]) -> Mock {
        let mut child = arb()
            .args([
                "mock-exchange",
                "--print-config",
                "--symbols",
                "12",
                "--rate",
                "4000",
            ])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let addr = first
            .split("listening on ")
            .nth(1)
            .unwrap()
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_string();
        let mut config = String::new();
        let mut ws_urls = 0;
        while ws_urls < VENUES.len() {
            let line = lines.next().unwrap().unwrap();
            ws_urls += usize::from(line.starts_with("ws_url"));
            config.push_str(&line);
            config.push('\n');
        }
        std::thread::spawn(move || for _ in lines {});
        Mock {
            child,
            addr,
            config,
        }
    }

    pub(crate) fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&http_get(&self.addr, "/mock/stats").1).unwrap()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The mock's fragment with `extra` keys added to every venue section, and `top` sections
/// prepended (e.g. `[discovery]`).
pub(crate) fn config(mock: &Mock, dir: &Path, top: &str, extra: &str) -> PathBuf {
    let mut out = String::from(top);
    out.push('\n');
    for line in mock.config.lines() {
        out.push_str(line);
        out.push('\n');
        if line.starts_with("[venues.") {
            out.push_str(extra);
            out.push('\n');
        }
    }
    let path = dir.join("arb.toml");
    std::fs::write(&path, out).unwrap();
    path
}

/// Sends SIGTERM to `child` with the `kill` command (no libc dependency in the tests).
pub(crate) fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
