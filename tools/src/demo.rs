//! `arb demo`: the whole pipeline on the built-in synthetic market, with the store and
//! the server, no network needed. Writes a generated capture of the eight venues' real
//! wire formats to a temporary file (stamped from now) and replays it at recorded pace,
//! looping, through `arb replay`'s pipeline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use arb_engine::{Exchange, clock};
use arb_feeds::r#gen::{GenConfig, generate};
use clap::Parser as _;

use crate::replay;

/// Arguments of `arb demo`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Open the printed URL in a browser. Stop with Ctrl-C: the store closes every file first.

Examples:
  arb demo                                   # http://127.0.0.1:8181/, data under ./data
  arb demo --listen 127.0.0.1:9000 --data /tmp/arb-data --symbols 200 --rate 20000")]
pub(crate) struct DemoArgs {
    /// Address of the dashboard and API.
    #[arg(long, default_value = "127.0.0.1:8181")]
    listen: std::net::SocketAddr,
    /// Parquet store root.
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Do not keep anything on disk.
    #[arg(long)]
    no_store: bool,
    /// Symbols of the synthetic market (each listed on the 8 venues).
    #[arg(long, default_value_t = 60)]
    symbols: usize,
    /// Messages per second over all venues.
    #[arg(long, default_value_t = 8000)]
    rate: u64,
    /// Length of the generated market before it loops, seconds.
    #[arg(long, default_value_t = 120.0)]
    loop_secs: f64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    /// Store files close after this many seconds, so the dashboard's history view has
    /// recent data (and a crash loses at most this much).
    #[arg(long, default_value_t = 10.0)]
    store_file_secs: f64,
}

/// `arb replay`'s arguments, parsed from the command line demo builds.
#[derive(Debug, clap::Parser)]
struct ReplayCli {
    #[command(flatten)]
    args: replay::ReplayArgs,
}

/// Removes the generated capture when the demo ends (its name is gone sooner on Linux:
/// see [`replay_path`]).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The name of the generated capture for `arb demo`'s process `pid`.
fn capture_name(pid: u32) -> String {
    format!("arb-demo-{pid}.arbcap")
}

/// The path the replay reads the generated capture from. On Linux the file is opened and
/// unlinked at once, and read through `/proc/self/fd`: nothing is left in the temporary
/// directory however the demo ends, kill -9 included (the browser test ends it so, and
/// each such run used to leave its capture behind: 208 MB with the defaults). Elsewhere the path itself, removed on exit.
#[cfg(target_os = "linux")]
fn replay_path(cap: &std::path::Path) -> anyhow::Result<(PathBuf, Option<std::fs::File>)> {
    use std::os::fd::AsRawFd as _;
    let held = std::fs::File::open(cap).with_context(|| format!("opening {}", cap.display()))?;
    std::fs::remove_file(cap).with_context(|| format!("removing {}", cap.display()))?;
    Ok((
        PathBuf::from(format!("/proc/self/fd/{}", held.as_raw_fd())),
        Some(held),
    ))
}

#[cfg(not(target_os = "linux"))]
fn replay_path(cap: &std::path::Path) -> anyhow::Result<(PathBuf, Option<std::fs::File>)> {
    Ok((cap.to_path_buf(), None))
}

/// Removes the captures of earlier demos that died before unlinking theirs (killed while
/// generating): `arb-demo-PID.arbcap` in `dir` whose process is gone.
fn sweep_stale_captures(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("arb-demo-"))
            .and_then(|n| n.strip_suffix(".arbcap"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.symbols > 0 && args.rate > 0 && args.loop_secs >= 5.0,
        "--symbols and --rate must be positive and --loop-secs at least 5"
    );
    let tmp = std::env::temp_dir();
    if cfg!(target_os = "linux") {
        sweep_stale_captures(&tmp);
    }
    let cap = TempFile(tmp.join(capture_name(std::process::id())));
    let cfg = GenConfig {
        symbols: args.symbols,
        venues: Exchange::ALL.to_vec(),
        rate_per_s: args.rate,
        duration_s: args.loop_secs,
        trade_fraction: 0.2,
        seed: 42,
        start_ns: clock::wall_ns(),
    };
    eprintln!(
        "arb demo: generating {} s of a {}-symbol, 8-venue market at {} messages/s ...",
        args.loop_secs, args.symbols, args.rate
    );
    let summary = generate(&cfg, &cap.0, |_| {})
        .with_context(|| format!("generating {}", cap.0.display()))?;
    eprintln!(
        "arb demo: {} messages ({:.0} MB); replaying at recorded pace, looping",
        summary.messages,
        summary.bytes as f64 / 1e6
    );
    let (path, _held) = replay_path(&cap.0)?;
    let mut argv: Vec<String> = vec![
        "replay".into(),
        path.display().to_string(),
        "--speed".into(),
        "1x".into(),
        "--loop".into(),
        "forever".into(),
        "--quiet".into(),
        "--listen".into(),
        args.listen.to_string(),
        "--command-name".into(),
        "demo".into(),
    ];
    if !args.no_store {
        argv.extend([
            "--store".into(),
            args.data.display().to_string(),
            "--store-file-secs".into(),
            args.store_file_secs.to_string(),
        ]);
    }
    if let Some(d) = args.duration {
        argv.extend(["--duration".into(), d.to_string()]);
    }
    let cli = ReplayCli::try_parse_from(&argv).map_err(|e| anyhow::anyhow!("{e}"))?;
    replay::run(&cli.args)
}
