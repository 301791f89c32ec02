//! `arb run --role collector`: discovery and live feeds for this host's venues, their
//! events forwarded to NATS (`arb_io::nats::collector`); no core, store or server.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arb_engine::clock::Stopwatch;
use arb_engine::link;
use arb_engine::metrics::{StageHistograms, stage_channel};
use arb_engine::ring::{Doorbell, FullPolicy, WaitMode};
use arb_feeds::feed::{FeedStats, FeedWorker};
use arb_io::nats::collector::{CollectorConfig, CollectorStats};

use crate::config::Config;
use crate::report;
use crate::run::RunArgs;
use crate::say;
use crate::shutdown::Shutdown;

/// How long the publisher waits, after a stop, for the forwarder's last batches.
const PUBLISH_GRACE: Duration = Duration::from_secs(2);

/// The NATS connection settings of `cfg` for a client called `client_name`.
pub(crate) fn nats_config(cfg: &Config, client_name: String) -> arb_io::nats::NatsConfig {
    arb_io::nats::NatsConfig {
        servers: cfg.nats.servers.clone(),
        client_name,
        client_capacity: cfg.nats.client_capacity,
        subscription_capacity: cfg.nats.subscription_capacity,
        reconnect_cap: Duration::from_millis(cfg.nats.reconnect_cap_ms),
        ..arb_io::nats::NatsConfig::default()
    }
}

pub(crate) fn run(args: &RunArgs, cfg: &Config) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.capture.is_none(),
        "--capture records a process's own feeds: use it with --role all"
    );
    let name = cfg.nats.name.clone();
    // The engine keeps symbols listed on enough venues across every collector; here
    // every symbol of this collector's venues in the quote assets is a candidate.
    let live = crate::run::start_feeds(args, cfg, 1)?;
    let venues: Vec<_> = live.venues.iter().map(|v| v.exchange).collect();
    let wait_mode = if cfg.run.busy_poll {
        WaitMode::BusyPoll
    } else {
        WaitMode::Wait
    };
    let bell = Doorbell::new();
    let mut workers = Vec::new();
    let mut inputs = Vec::new();
    let mut histograms = Vec::new();
    let mut ring_drops = Vec::new();
    let mut feed_stats: Vec<Arc<FeedStats>> = Vec::new();
    for _ in &live.feeds {
        let (tx, rx) = link::channel(
            cfg.run.ring_capacity,
            link::DEFAULT_LANE_CAPACITY,
            FullPolicy::DropNewest,
            Arc::clone(&bell),
        );
        ring_drops.push(tx.drops());
        let (rec, col) = stage_channel(1_000_000_000, 3);
        histograms.push(col);
        let fs = FeedStats::new();
        feed_stats.push(Arc::clone(&fs));
        workers.push(FeedWorker::new(Arc::clone(&live.registry), tx, rec, fs));
        inputs.push(rx);
    }
    let config = CollectorConfig {
        name: name.clone(),
        venues,
        linger_ns: (cfg.nats.batch_linger_us * 1000) as i64,
        max_events: cfg.nats.batch_max_events,
        heartbeat_ns: (cfg.nats.heartbeat_ms * 1_000_000) as i64,
        channel_batches: cfg.nats.channel_batches,
        wait_mode,
    };
    let (forwarder, publisher, stats) = arb_io::nats::collector::collector(
        &config,
        nats_config(cfg, format!("arb-collector-{name}")),
        &live.registry,
        inputs,
        bell,
    )?;
    say!(
        "arb run (collector): publishing as {name} to {} (subjects {}.<venue>, batches of up to {} events or {} µs)",
        cfg.nats.servers.join(","),
        arb_io::nats::subject_prefix(&name),
        cfg.nats.batch_max_events,
        cfg.nats.batch_linger_us
    );

    let shutdown = Shutdown::install()?;
    let stop = AtomicBool::new(false);
    let bound = cfg.run.shutdown_timeout_s;
    let watch = Stopwatch::start();
    let pins = &live.pins;
    let link_stats = &live.link_stats;
    let mut totals = StageHistograms::new();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let stop = &stop;
        let mut feed_handles = Vec::new();
        for (i, (feed, mut worker)) in live.feeds.into_iter().zip(workers).enumerate() {
            let pin = pins.get(i).copied().flatten();
            let mut feed = feed;
            feed_handles.push(
                std::thread::Builder::new()
                    .name(format!("feed-{i}"))
                    .spawn_scoped(scope, move || {
                        if let Some(id) = pin {
                            core_affinity::set_for_current(id);
                        }
                        feed.run(&mut worker, stop);
                        worker.finish();
                    })?,
            );
        }
        let fwd_pin = pins.get(feed_handles.len()).copied().flatten();
        let forward = std::thread::Builder::new()
            .name("nats-forward".into())
            .spawn_scoped(scope, move || {
                if let Some(id) = fwd_pin {
                    core_affinity::set_for_current(id);
                }
                forwarder.run();
            })?;
        let publish = std::thread::Builder::new()
            .name("nats-publish".into())
            .spawn_scoped(scope, move || publisher.run(stop, PUBLISH_GRACE))?;
        let mut last_status = 0.0;
        let mut last_events = 0u64;
        loop {
            std::thread::sleep(Duration::from_millis(100));
            for c in &mut histograms {
                c.drain(|h| totals.add(h));
            }
            let elapsed = watch.elapsed_s();
            if !args.quiet && elapsed - last_status >= 10.0 {
                let events = stats.events.load(Ordering::Relaxed);
                let rate = (events - last_events) as f64 / (elapsed - last_status);
                (last_status, last_events) = (elapsed, events);
                say!(
                    "arb run (collector): {elapsed:6.0}s  {rate:.0} events/s  {}  rss {}  {}",
                    status(&stats, &ring_drops),
                    report::mib(report::rss_bytes()),
                    crate::run::venue_summary(link_stats, &live.venues)
                );
            }
            let done = shutdown.requested() || args.duration.is_some_and(|d| elapsed >= d);
            if done && !stop.load(Ordering::Relaxed) {
                if shutdown.requested() {
                    say!(
                        "arb run (collector): stop requested: closing connections and flushing to NATS (at most {bound} s)"
                    );
                }
                crate::run::watchdog(bound);
                stop.store(true, Ordering::Relaxed);
            }
            if publish.is_finished() {
                break;
            }
        }
        for h in feed_handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a feed thread panicked"))?;
        }
        forward
            .join()
            .map_err(|_| anyhow::anyhow!("the forwarder panicked"))?;
        publish
            .join()
            .map_err(|_| anyhow::anyhow!("the NATS publisher panicked"))??;
        Ok(())
    })?;
    let events: u64 = feed_stats
        .iter()
        .map(|f| f.quotes.load(Ordering::Relaxed) + f.trades.load(Ordering::Relaxed))
        .sum();
    say!(
        "arb run (collector): stopped after {:.1} s: {events} events decoded; {}",
        watch.elapsed_s(),
        status(&stats, &ring_drops)
    );
    Ok(ExitCode::SUCCESS)
}

/// `batches 123 (0 dropped), nats up` for the status lines.
fn status(stats: &CollectorStats, ring_drops: &[Arc<std::sync::atomic::AtomicU64>]) -> String {
    let r = Ordering::Relaxed;
    format!(
        "batches {} published {} dropped {} ({} events)  ring drops {}  nats {}",
        stats.batches.load(r),
        stats.published.load(r),
        stats.dropped_batches.load(r),
        stats.dropped_events.load(r),
        ring_drops.iter().map(|d| d.load(r)).sum::<u64>(),
        if stats.nats.connected.load(r) {
            "up"
        } else {
            "DOWN"
        }
    )
}
