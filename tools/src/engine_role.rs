//! `arb run --role engine`: the core, store and server fed by collectors over NATS
//! (`arb_io::nats::remote`) instead of local connections.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arb_engine::CoreConfig;
use arb_feeds::feed::FeedWorker;
use arb_feeds::live::LinkStats;
use arb_io::nats::remote::{Receiver, RemoteConfig, RemoteConnect, RemoteSet};
use arb_io::nats::table;

use crate::config::Config;
use crate::pipeline::Source;
use crate::run::{Engine, RunArgs};
use crate::say;

/// The NATS receiver as the pipeline's one source.
struct RemoteSource {
    receiver: Option<Receiver>,
}

impl Source for RemoteSource {
    fn run(
        &mut self,
        worker: &mut FeedWorker,
        stop: &AtomicBool,
        _tick_every: u64,
        _tick: &mut dyn FnMut(),
    ) {
        if let Some(r) = self.receiver.take()
            && let Err(e) = r.run(worker, stop)
        {
            say!("arb run (engine): NATS receiver stopped: {e}");
        }
    }
}

pub(crate) fn run(args: &RunArgs, cfg: &Config) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !cfg.nats.collectors.is_empty(),
        "the engine role needs its collectors: --collectors tokyo,sg (or [nats] collectors)"
    );
    anyhow::ensure!(
        args.capture.is_none() && args.venues.is_empty(),
        "--capture and --venues belong to the collectors, not the engine role"
    );
    let remote_config = RemoteConfig {
        collectors: cfg.nats.collectors.clone(),
        heartbeat_timeout_ns: (cfg.nats.heartbeat_timeout_ms * 1_000_000) as i64,
        stale_after_ns: CoreConfig::default().stale_after_ns,
        ping_interval: Duration::from_secs(1),
    };
    say!(
        "arb run (engine): asking {} for their symbol tables on {} (waiting up to {} s) ...",
        cfg.nats.collectors.join(", "),
        cfg.nats.servers.join(","),
        cfg.nats.wait_for_collectors_s
    );
    let connect = RemoteConnect::connect(
        remote_config,
        &crate::collector::nats_config(cfg, "arb-engine".into()),
        Duration::from_secs(cfg.nats.wait_for_collectors_s),
        |line| say!("arb run (engine): {line}"),
    )?;
    let tables = connect.tables();
    anyhow::ensure!(
        !tables.is_empty(),
        "no collector answered within {} s: are they running, named {} and connected to {}?",
        cfg.nats.wait_for_collectors_s,
        cfg.nats.collectors.join(", "),
        cfg.nats.servers.join(",")
    );
    let (registry, report) = table::union_registry(&tables, cfg.discovery.min_venues)?;
    say!("arb run (engine): {report}");
    anyhow::ensure!(
        !registry.is_empty(),
        "no symbol is listed on at least {} venues across the collectors that answered",
        cfg.discovery.min_venues
    );
    let registry = Arc::new(registry);
    let link_stats = LinkStats::new();
    let receiver = connect.into_receiver(Arc::clone(&registry), Arc::clone(&link_stats));
    let remote = receiver.stats();
    let pins = crate::pipeline::explicit_pins(
        1,
        &cfg.run
            .feed_cores
            .iter()
            .copied()
            .take(1)
            .collect::<Vec<_>>(),
        cfg.run.engine_core,
        cfg.run.io_core,
    )?;
    let summary_remote = Arc::clone(&remote);
    crate::run::run_engine(
        args,
        cfg,
        Engine {
            registry,
            sources: vec![Box::new(RemoteSource {
                receiver: Some(receiver),
            })],
            pins,
            link_stats,
            remote: Some(remote),
        },
        &mut || collectors_summary(&summary_remote),
    )
}

/// `tokyo up offset +0.1 ms delay 0.2 ms, sg DOWN ...` for the status line.
pub(crate) fn collectors_summary(set: &RemoteSet) -> String {
    let r = Ordering::Relaxed;
    let nats = if set.nats.connected.load(r) {
        "nats up"
    } else {
        "nats DOWN"
    };
    let each = set
        .collectors
        .iter()
        .map(|c| {
            format!(
                "{} {} offset {:+.2} ms delay {:.2} ms age p99 {:.2} ms lost {} stale {}",
                c.name,
                if c.up.load(r) { "up" } else { "DOWN" },
                c.clock_offset_ns.load(r) as f64 / 1e6,
                c.one_way_delay_ns.load(r) as f64 / 1e6,
                c.age_p99_ns.load(r) as f64 / 1e6,
                c.lost_batches.load(r),
                c.stale_quotes.load(r)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!("{nats}; {each}")
}
