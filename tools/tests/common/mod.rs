//! What the binary's end-to-end tests share: finding the address a spawned `arb` serves
//! on, and a plain HTTP GET.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Child;
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
