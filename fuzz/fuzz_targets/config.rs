//! Fuzz target: the `arb.toml` loader (`arb_tools::config::Config::parse`) takes any UTF-8
//! text without panicking, and a config it accepts is a usable one: eight venues in
//! `Exchange::ALL` order whose rules validate, and every setting the run turns into
//! nanoseconds, bytes or a `Duration` converts without overflow or panic (what `arb run`
//! and its collector / engine roles compute from it at start-up).
#![no_main]

use std::time::{Duration, Instant};

use arb_engine::Exchange;
use arb_tools::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = Config::parse(text) else {
        return;
    };
    let venues = c.venues();
    assert_eq!(venues.len(), Exchange::COUNT);
    for (v, ex) in venues.iter().zip(Exchange::ALL) {
        assert_eq!(v.exchange, ex);
        assert_eq!(v.rules.exchange, ex);
        if let Err(e) = v.rules.validate() {
            panic!("accepted config with invalid rules: {e}");
        }
        assert!(!v.rest_url.ends_with('/'));
        assert!(v.min_quote_volume.is_none_or(|x| x > 0.0));
        assert!(v.max_quote_volume.is_none_or(|x| x > 0.0));
    }
    assert!((1..=Exchange::COUNT).contains(&c.run.feed_threads));
    assert!(c.run.feed_cores.is_empty() || c.run.feed_cores.len() == c.run.feed_threads);
    assert!(c.run.ring_capacity.is_power_of_two());

    // What the roles derive from the settings at start-up.
    let now = Instant::now();
    let fits = |d: Duration| now.checked_add(d).is_some();
    let ns = |v: u64, per: u64| v.checked_mul(per).and_then(|n| i64::try_from(n).ok());
    let shutdown = Duration::try_from_secs_f64(c.run.shutdown_timeout_s);
    assert!(
        shutdown.is_ok_and(fits),
        "shutdown_timeout_s {}",
        c.run.shutdown_timeout_s
    );
    assert!(c.run.memory_budget_mb.checked_mul(1024 * 1024).is_some());
    assert!(c.engine.bucket_ms.checked_mul(1_000_000).is_some());
    assert!(
        c.discovery
            .refresh_minutes
            .checked_mul(60)
            .is_some_and(|s| fits(Duration::from_secs(s)))
    );
    assert!(fits(Duration::from_millis(c.discovery.timeout_ms)));
    let n = &c.nats;
    assert!(
        ns(n.batch_linger_us, 1_000).is_some(),
        "batch_linger_us {}",
        n.batch_linger_us
    );
    assert!(
        ns(n.heartbeat_ms, 1_000_000).is_some(),
        "heartbeat_ms {}",
        n.heartbeat_ms
    );
    assert!(
        ns(n.heartbeat_timeout_ms, 1_000_000).is_some(),
        "heartbeat_timeout_ms {}",
        n.heartbeat_timeout_ms
    );
    assert!(fits(Duration::from_secs(n.wait_for_collectors_s)));
    assert!(fits(Duration::from_millis(n.reconnect_cap_ms)));
});
