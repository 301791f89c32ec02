//! `arb doctor`: inspects the host and the config and says, per tuning item of `tuning.md`,
//! what is set, what is recommended and why, and whether the configuration can work.
//!
//! The checks are pure functions of the texts they read ([`Host`] holds what the thin
//! reading layer found, or why it could not read it), so the unit tests feed them fixed
//! strings. Only a configuration that cannot work is `FAIL` (a pin to a missing core, two
//! roles on one core while busy-polling, a feed-core list of the wrong length, a reservation
//! above the budget, a config that does not parse); what cannot be read here is `unknown`
//! with the reason, never a guess.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use arb_engine::history::HistoryConfig;
use arb_engine::{CoreConfig, Exchange, SymbolRegistry};

use crate::config::Config;
use crate::pipeline::Reservation;
use crate::report::mib;

/// Arguments of `arb doctor`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Checks the host's tuning (isolated cores, IRQs, governor, C-states, huge pages, clock source, \
socket buffers, busy polling, NUMA, NIC rings, core count) and the config (pinning, memory \
budget) the way `arb run` would use them. Status per item: ok, advise (works, could be \
better), unknown (cannot be read here; the reason is given) or FAIL (cannot work). Exits 1 \
when some item is FAIL.

Examples:
  arb doctor
  arb doctor --config arb.toml --feed-cores 2,3 --engine-core 4 --io-core 5
  arb doctor --json | jq '.items[] | select(.status != \"ok\")'")]
pub(crate) struct DoctorArgs {
    /// Settings file (TOML) as `arb run` reads it; without it the defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    pins: crate::pins::PinArgs,
    /// Print the items and the summary as JSON for scripts.
    #[arg(long)]
    json: bool,
}

/// One item's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    /// As recommended.
    Ok,
    /// Works; the recommendation would help on a dedicated host.
    Advise,
    /// Could not be read on this host (the row says why).
    Unknown,
    /// Cannot work: `arb run` would refuse or misbehave.
    Fail,
}

impl Status {
    /// The word printed in the table and the JSON.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Advise => "advise",
            Status::Unknown => "unknown",
            Status::Fail => "FAIL",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// The tuning item (`isolcpus`, `governor`, ...).
    pub(crate) item: &'static str,
    /// What is set on this host or in the config.
    pub(crate) set: String,
    /// What `tuning.md` recommends.
    pub(crate) recommended: String,
    /// Why (or why it could not be checked).
    pub(crate) why: String,
    pub(crate) status: Status,
}

fn item(
    item: &'static str,
    status: Status,
    set: impl Into<String>,
    recommended: impl Into<String>,
    why: impl Into<String>,
) -> Item {
    Item {
        item,
        set: set.into(),
        recommended: recommended.into(),
        why: why.into(),
        status,
    }
}

/// A file's text, or why it could not be read.
pub(crate) type FileText = Result<String, String>;

/// Everything the checks look at on the host, as read (or not).
#[derive(Debug, Clone)]
pub(crate) struct Host {
    /// `/proc/cmdline`.
    pub(crate) cmdline: FileText,
    /// `/sys/devices/system/cpu/isolated`.
    pub(crate) isolated: FileText,
    /// `/sys/devices/system/cpu/nohz_full`.
    pub(crate) nohz_full: FileText,
    /// Core ids this process may run on (what pinning can use).
    pub(crate) cores: Vec<usize>,
    /// Whether an `irqbalance` process runs.
    pub(crate) irqbalance: Option<bool>,
    /// `/proc/irq/default_smp_affinity` (hex mask).
    pub(crate) default_irq_affinity: FileText,
    /// `(irq, smp_affinity_list)` of every IRQ that has one.
    pub(crate) irq_affinity: Vec<(String, String)>,
    /// `scaling_governor` per core that has cpufreq.
    pub(crate) governors: Vec<String>,
    /// `/sys/module/intel_idle/parameters/max_cstate`.
    pub(crate) max_cstate: FileText,
    /// `/sys/devices/system/cpu/cpuidle/current_driver`.
    pub(crate) cpuidle_driver: FileText,
    /// `/sys/kernel/mm/transparent_hugepage/enabled`.
    pub(crate) thp: FileText,
    /// `clocksource0/current_clocksource`.
    pub(crate) clocksource: FileText,
    /// `clocksource0/available_clocksource`.
    pub(crate) clocksources: FileText,
    /// `/proc/sys/net/core/rmem_max`.
    pub(crate) rmem_max: FileText,
    /// `/proc/sys/net/core/wmem_max`.
    pub(crate) wmem_max: FileText,
    /// `/proc/sys/net/ipv4/tcp_rmem` (`min default max`).
    pub(crate) tcp_rmem: FileText,
    /// `/proc/sys/net/core/busy_poll`.
    pub(crate) busy_poll: FileText,
    /// `/proc/sys/net/core/busy_read`.
    pub(crate) busy_read: FileText,
    /// `(node, cpulist)` per NUMA node, or why they could not be listed.
    pub(crate) numa: Result<Vec<(String, String)>, String>,
    /// `(interface, ethtool -g output)` per interface, or why ethtool could not run.
    pub(crate) nic_rings: Result<Vec<(String, FileText)>, String>,
    /// `MemTotal` from `/proc/meminfo`, bytes.
    pub(crate) mem_total: Option<u64>,
}

/// What the config asks of the host, after the flags' overrides.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) feed_threads: usize,
    pub(crate) feed_cores: Vec<usize>,
    pub(crate) engine_core: Option<usize>,
    pub(crate) io_core: Option<usize>,
    pub(crate) busy_poll: bool,
    /// Whether the store (and its thread) runs.
    pub(crate) store: bool,
    /// Enabled venues.
    pub(crate) venues: Vec<Exchange>,
    pub(crate) max_symbols: usize,
    pub(crate) history: HistoryConfig,
    pub(crate) ring_capacity: usize,
    pub(crate) memory_budget_mb: u64,
}

impl Plan {
    /// The plan of `cfg` with the command line's pins applied.
    pub(crate) fn new(
        cfg: &Config,
        feed_cores: &[usize],
        engine_core: Option<usize>,
        io_core: Option<usize>,
    ) -> Self {
        Plan {
            feed_threads: cfg.run.feed_threads,
            feed_cores: if feed_cores.is_empty() {
                cfg.run.feed_cores.clone()
            } else {
                feed_cores.to_vec()
            },
            engine_core: engine_core.or(cfg.run.engine_core),
            io_core: io_core.or(cfg.run.io_core),
            busy_poll: cfg.run.busy_poll,
            store: !cfg.run.data.as_os_str().is_empty(),
            venues: cfg
                .venues()
                .iter()
                .filter(|v| v.enabled)
                .map(|v| v.exchange)
                .collect(),
            max_symbols: cfg.discovery.max_symbols,
            history: HistoryConfig {
                buckets: cfg.engine.buckets,
                bucket_ns: cfg.engine.bucket_ms * 1_000_000,
                raw_points: cfg.engine.raw_points,
            },
            ring_capacity: cfg.run.ring_capacity,
            memory_budget_mb: cfg.run.memory_budget_mb,
        }
    }

    /// Feed threads `arb run` would start (no more than the enabled venues).
    fn feeds(&self) -> usize {
        self.feed_threads.min(self.venues.len()).max(1)
    }

    /// `(role, core)` of every pinned role.
    fn pins(&self) -> Vec<(String, usize)> {
        let mut p: Vec<(String, usize)> = self
            .feed_cores
            .iter()
            .enumerate()
            .map(|(i, &c)| (format!("feed {i}"), c))
            .collect();
        p.extend(self.engine_core.map(|c| ("engine".to_owned(), c)));
        p.extend(self.io_core.map(|c| ("io".to_owned(), c)));
        p
    }

    /// The pinned cores, sorted, without repeats.
    fn pinned_cores(&self) -> BTreeSet<usize> {
        self.pins().into_iter().map(|(_, c)| c).collect()
    }
}

/// Parses a kernel cpulist (`0-3,8,10-11`; empty is the empty set).
///
/// # Errors
/// A part that is not a number or a `lo-hi` range with `lo <= hi` (named).
pub(crate) fn parse_cpulist(text: &str) -> Result<BTreeSet<usize>, String> {
    let mut set = BTreeSet::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let num = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("bad cpulist part {part:?}"))
        };
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (num(lo)?, num(hi)?);
                if lo > hi || hi - lo > 1 << 16 {
                    return Err(format!("bad cpulist range {part:?}"));
                }
                set.extend(lo..=hi);
            }
            None => {
                set.insert(num(part)?);
            }
        }
    }
    Ok(set)
}

/// Formats a set of cores as a cpulist (`0-3,8`), or `none`.
pub(crate) fn format_cpulist(set: &BTreeSet<usize>) -> String {
    let mut parts = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(lo) = it.next() {
        let mut hi = lo;
        while it.peek() == Some(&(hi + 1)) {
            hi += 1;
            it.next();
        }
        parts.push(if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        });
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(",")
    }
}

/// The value of `key=` on a kernel command line (the last one wins, as in the kernel).
pub(crate) fn cmdline_param<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline
        .split_whitespace()
        .take_while(|w| *w != "--")
        .filter_map(|w| w.split_once('='))
        .filter(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .last()
}

/// The cores of an `isolcpus=` value: flags such as `domain,managed_irq,` come first.
fn isolcpus_cores(value: &str) -> Result<BTreeSet<usize>, String> {
    let list: Vec<&str> = value
        .split(',')
        .filter(|p| p.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    parse_cpulist(&list.join(","))
}

/// Parses a hex CPU mask (`ff`, `00000000,00000003`) into its cores.
pub(crate) fn parse_cpumask(text: &str) -> Result<BTreeSet<usize>, String> {
    let hex: String = text.trim().chars().filter(|&c| c != ',').collect();
    let mut set = BTreeSet::new();
    for (i, c) in hex.chars().rev().enumerate() {
        let d = c
            .to_digit(16)
            .ok_or_else(|| format!("bad cpu mask {:?}", text.trim()))?;
        for b in 0..4 {
            if d & (1 << b) != 0 {
                set.insert(i * 4 + b);
            }
        }
    }
    Ok(set)
}

/// The hot threads' cores to recommend isolating: the pinned ones, or an example.
fn hot_cores_text(plan: &Plan) -> String {
    let pinned = plan.pinned_cores();
    if pinned.is_empty() {
        "2-5 (e.g.: the hot threads' cores, then pin to them)".to_owned()
    } else {
        format_cpulist(&pinned)
    }
}

/// Pinning: every pinned core exists; feed-core list length; no shared core while
/// busy-polling; pinned cores isolated.
pub(crate) fn check_pinning(plan: &Plan, available: &[usize], isolated: &FileText) -> Item {
    let pins = plan.pins();
    let set = if pins.is_empty() {
        "unpinned".to_owned()
    } else {
        pins.iter()
            .map(|(r, c)| format!("{r}→{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let rec = "one existing, isolated core per hot thread (feeds, engine, io)";
    for (role, core) in &pins {
        if !available.contains(core) {
            let role = role.split(' ').next().unwrap_or(role);
            return item(
                "pinning",
                Status::Fail,
                set,
                rec,
                format!(
                    "{role} core {core} is not available on this machine (available: {available:?})"
                ),
            );
        }
    }
    // `arb run` starts min(feed_threads, enabled venues) feed threads and pins them to the
    // first entries of the list: fewer entries cannot work, more leave cores unused.
    let extra = if !plan.feed_cores.is_empty() && plan.feed_cores.len() < plan.feeds() {
        return item(
            "pinning",
            Status::Fail,
            set,
            rec,
            format!(
                "feed cores list {} cores for {} feed threads ([run] feed_threads, at most one per enabled venue): give one core per feed thread",
                plan.feed_cores.len(),
                plan.feeds()
            ),
        );
    } else if plan.feed_cores.len() > plan.feeds() {
        Some(format!(
            "feed cores list {} cores for {} feed threads: the extra ones stay unused",
            plan.feed_cores.len(),
            plan.feeds()
        ))
    } else {
        None
    };
    if plan.busy_poll {
        let mut seen: Vec<&(String, usize)> = Vec::new();
        for p in &pins {
            if let Some(other) = seen.iter().find(|o| o.1 == p.1) {
                return item(
                    "pinning",
                    Status::Fail,
                    set,
                    rec,
                    format!(
                        "{} and {} are both pinned to core {} with busy_poll on: two spinning threads on one core starve each other",
                        other.0, p.0, p.1
                    ),
                );
            }
            seen.push(p);
        }
    }
    if pins.is_empty() {
        return item(
            "pinning",
            Status::Advise,
            set,
            rec,
            "the scheduler may move hot threads between cores (cold caches, run-queue waits); pinning helps on isolated cores: --feed-cores/--engine-core/--io-core or [run]",
        );
    }
    let pinned = plan.pinned_cores();
    match isolated.clone().and_then(|t| parse_cpulist(&t)) {
        Ok(iso) => {
            let missing: BTreeSet<usize> = pinned.difference(&iso).copied().collect();
            if let Some(extra) = extra {
                item("pinning", Status::Advise, set, rec, extra)
            } else if missing.is_empty() {
                item(
                    "pinning",
                    Status::Ok,
                    set,
                    rec,
                    "every pinned core exists and is isolated",
                )
            } else {
                let l = format_cpulist(&pinned);
                item(
                    "pinning",
                    Status::Advise,
                    set,
                    rec,
                    format!(
                        "cores {} are not isolated: other tasks share them; kernel command line isolcpus={l} nohz_full={l} rcu_nocbs={l}",
                        format_cpulist(&missing)
                    ),
                )
            }
        }
        Err(e) => item(
            "pinning",
            Status::Unknown,
            set,
            rec,
            format!("the pinned cores exist; isolation unknown: {e}"),
        ),
    }
}

/// An isolation parameter (`isolcpus`, `nohz_full`, `rcu_nocbs`): from sysfs when the
/// kernel exports it, else from the command line.
pub(crate) fn check_isolation(
    name: &'static str,
    why: &str,
    cmdline: &FileText,
    sysfs: Option<&FileText>,
    plan: &Plan,
) -> Item {
    let rec = format!("{name}={}", hot_cores_text(plan));
    let from_cmdline = match cmdline {
        Ok(c) => match cmdline_param(c, name) {
            Some(v) if name == "isolcpus" => isolcpus_cores(v).map(Some),
            Some(v) => parse_cpulist(v).map(Some),
            None => Ok(None),
        },
        Err(e) => Err(e.clone()),
    };
    let from_sysfs = sysfs.map(|r| r.as_deref().map_err(Clone::clone).and_then(parse_cpulist));
    let cores = match (from_sysfs, from_cmdline) {
        (Some(Ok(s)), _) => s,
        (_, Ok(Some(s))) => s,
        (_, Ok(None)) => BTreeSet::new(),
        (Some(Err(_)), Err(e)) | (None, Err(e)) => {
            return item(name, Status::Unknown, "?", rec, format!("cannot read: {e}"));
        }
    };
    let set = format_cpulist(&cores);
    let pinned = plan.pinned_cores();
    if cores.is_empty() {
        return item(name, Status::Advise, set, rec, format!("not set: {why}"));
    }
    if pinned.is_empty() {
        return item(
            name,
            Status::Advise,
            set,
            rec,
            "cores are isolated but arb is not pinned to them: pin the hot threads there",
        );
    }
    let missing: BTreeSet<usize> = pinned.difference(&cores).copied().collect();
    if missing.is_empty() {
        item(name, Status::Ok, set, rec, why.to_owned())
    } else {
        item(
            name,
            Status::Advise,
            set,
            rec,
            format!(
                "pinned cores {} are not in it: {why}",
                format_cpulist(&missing)
            ),
        )
    }
}

/// IRQ affinity and irqbalance against the pinned cores.
pub(crate) fn check_irqs(
    irqbalance: Option<bool>,
    default_mask: &FileText,
    irqs: &[(String, String)],
    plan: &Plan,
) -> Item {
    let pinned = plan.pinned_cores();
    let mut set = match irqbalance {
        Some(true) => "irqbalance running".to_owned(),
        Some(false) => "irqbalance not running".to_owned(),
        None => "irqbalance unknown".to_owned(),
    };
    let default = default_mask.as_deref().map(parse_cpumask);
    if let Ok(Ok(d)) = &default {
        set.push_str(&format!("; default affinity {}", format_cpulist(d)));
    }
    let on_hot: Vec<&str> = irqs
        .iter()
        .filter(|(_, list)| {
            parse_cpulist(list).is_ok_and(|l| !l.is_empty() && l.is_subset(&pinned))
        })
        .map(|(n, _)| n.as_str())
        .collect();
    let rec = "device IRQs off the hot cores (/proc/irq/*/smp_affinity), or the NIC's on the feed core; irqbalance stopped or banned from them";
    if pinned.is_empty() {
        return item(
            "irq affinity",
            Status::Ok,
            set,
            rec,
            "no pinned cores to keep interrupts off",
        );
    }
    let mut issues = Vec::new();
    if irqbalance == Some(true) {
        issues.push("irqbalance may move interrupts onto the hot cores (IRQBALANCE_BANNED_CPULIST, or stop it)".to_owned());
    }
    if let Ok(Ok(d)) = &default
        && !d.is_disjoint(&pinned)
    {
        issues.push(format!(
            "new IRQs may land on the pinned cores {}",
            format_cpulist(&d.intersection(&pinned).copied().collect())
        ));
    }
    if !on_hot.is_empty() {
        issues.push(format!(
            "{} IRQs target only pinned cores ({})",
            on_hot.len(),
            on_hot
                .iter()
                .take(8)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if issues.is_empty() {
        if irqbalance.is_none() && default.is_err() {
            return item(
                "irq affinity",
                Status::Unknown,
                set,
                rec,
                "neither irqbalance nor /proc/irq could be read",
            );
        }
        item(
            "irq affinity",
            Status::Ok,
            set,
            rec,
            "interrupts stay off the pinned cores",
        )
    } else {
        item("irq affinity", Status::Advise, set, rec, issues.join("; "))
    }
}

/// CPU frequency governor of every core that has cpufreq.
pub(crate) fn check_governor(governors: &[String]) -> Item {
    let rec = "performance (cpupower frequency-set -g performance)";
    if governors.is_empty() {
        return item(
            "governor",
            Status::Unknown,
            "no cpufreq",
            rec,
            "no /sys/devices/system/cpu/cpu*/cpufreq: a VM (the hypervisor sets the frequency) or no cpufreq driver",
        );
    }
    let distinct: BTreeSet<&str> = governors.iter().map(|g| g.trim()).collect();
    let set = distinct.iter().copied().collect::<Vec<_>>().join(", ");
    if distinct.iter().all(|g| *g == "performance") {
        item(
            "governor",
            Status::Ok,
            set,
            rec,
            "no frequency ramp-up after idle",
        )
    } else {
        item(
            "governor",
            Status::Advise,
            set,
            rec,
            "other governors lower the clock when idle: the first events after a quiet spell run slow",
        )
    }
}

/// C-states: `intel_idle.max_cstate` and the cpuidle driver.
pub(crate) fn check_cstates(max_cstate: &FileText, driver: &FileText) -> Item {
    let rec =
        "max C1 on the hot cores (intel_idle.max_cstate=1, or /dev/cpu_dma_latency held at 0)";
    let why = "waking from deep C-states takes tens to hundreds of µs";
    let set = format!(
        "intel_idle.max_cstate={}; cpuidle driver {}",
        max_cstate.as_deref().map(str::trim).unwrap_or("n/a"),
        driver.as_deref().map(str::trim).unwrap_or("n/a")
    );
    let drv = driver.as_deref().map(str::trim).ok();
    if matches!(drv, Some("haltpoll")) {
        return item(
            "c-states",
            Status::Unknown,
            set,
            rec,
            "a VM guest (haltpoll): the host's C-states apply and cannot be seen from here",
        );
    }
    match (max_cstate.as_deref().map(|s| s.trim().parse::<u32>()), drv) {
        (Ok(Ok(n)), Some("intel_idle")) if n <= 1 => item("c-states", Status::Ok, set, rec, why),
        (Ok(Ok(_)), Some("intel_idle")) => item("c-states", Status::Advise, set, rec, why),
        (_, Some("none")) => item(
            "c-states",
            Status::Ok,
            set,
            rec,
            "no cpuidle driver: idle is a plain halt",
        ),
        (_, Some(_)) => item(
            "c-states",
            Status::Advise,
            set,
            rec,
            format!("{why}; check the driver's states in /sys/devices/system/cpu/cpu*/cpuidle"),
        ),
        (_, None) => item(
            "c-states",
            Status::Unknown,
            set,
            rec,
            "no cpuidle information in sysfs",
        ),
    }
}

/// Transparent huge pages.
pub(crate) fn check_thp(enabled: &FileText) -> Item {
    let rec = "madvise or always";
    let why = "the history series are large flat arrays: fewer TLB misses";
    let text = match enabled {
        Ok(t) => t,
        Err(e) => {
            return item(
                "transparent huge pages",
                Status::Unknown,
                "?",
                rec,
                format!("cannot read: {e}"),
            );
        }
    };
    let mode = text
        .split_whitespace()
        .find(|w| w.starts_with('['))
        .map(|w| w.trim_matches(['[', ']']))
        .unwrap_or_else(|| text.trim());
    let status = if matches!(mode, "always" | "madvise") {
        Status::Ok
    } else {
        Status::Advise
    };
    item("transparent huge pages", status, mode, rec, why)
}

/// The clock source.
pub(crate) fn check_clocksource(current: &FileText, available: &FileText) -> Item {
    let rec = "tsc";
    let why = "every event is timestamped: tsc is read in user space (vDSO), other sources may cost a syscall";
    match current {
        Err(e) => item(
            "clock source",
            Status::Unknown,
            "?",
            rec,
            format!("cannot read: {e}"),
        ),
        Ok(c) if c.trim() == "tsc" => item("clock source", Status::Ok, "tsc", rec, why),
        Ok(c) => {
            let hint = match available {
                Ok(a) if a.split_whitespace().any(|s| s == "tsc") => {
                    "; tsc is available: echo tsc > /sys/devices/system/clocksource/clocksource0/current_clocksource"
                }
                _ => "; tsc is not offered (unstable or a VM without invariant tsc)",
            };
            item(
                "clock source",
                Status::Advise,
                c.trim(),
                rec,
                format!("{why}{hint}"),
            )
        }
    }
}

/// Socket buffer limits: `net.core.rmem_max` and the TCP autotuning maximum (`wmem_max` is
/// shown, not judged: arb sends little, and sets its WebSocket clients' send buffers small
/// on purpose).
pub(crate) fn check_socket_buffers(rmem: &FileText, wmem: &FileText, tcp_rmem: &FileText) -> Item {
    const MIN: u64 = 16 << 20;
    let rec = "net.core.rmem_max and the net.ipv4.tcp_rmem maximum >= 16777216 (16 MiB); wmem left at its defaults";
    let why = "arb leaves its sockets to TCP autotuning, which grows a receive buffer up to the tcp_rmem maximum (rmem_max caps explicit SO_RCVBUF): a venue's burst must fit while a feed thread is busy. arb sends little, and the server keeps each WebSocket client's send buffer at 64 KiB so a slow client's backlog stays in its conflating queue";
    let num = |r: &FileText| r.as_deref().ok().and_then(|s| s.trim().parse::<u64>().ok());
    // `min default max`.
    let tcp_max = tcp_rmem
        .as_deref()
        .ok()
        .and_then(|s| s.split_whitespace().nth(2))
        .and_then(|s| s.parse::<u64>().ok());
    match (num(rmem), num(wmem)) {
        (Some(r), Some(w)) => {
            let status = if r >= MIN && tcp_max.is_none_or(|t| t >= MIN) {
                Status::Ok
            } else {
                Status::Advise
            };
            let tcp = tcp_max.map_or("tcp_rmem max unknown".to_owned(), |t| {
                format!("tcp_rmem max={t}")
            });
            item(
                "socket buffers",
                status,
                format!("rmem_max={r} wmem_max={w} {tcp}"),
                rec,
                why,
            )
        }
        _ => item(
            "socket buffers",
            Status::Unknown,
            "?",
            rec,
            "cannot read /proc/sys/net/core/{rmem_max,wmem_max}",
        ),
    }
}

/// Kernel socket busy polling against `[run] busy_poll`.
pub(crate) fn check_busy_poll(poll: &FileText, read: &FileText, plan: &Plan) -> Item {
    let (p, r) = match (
        poll.as_deref().map(|s| s.trim().parse::<u64>()),
        read.as_deref().map(|s| s.trim().parse::<u64>()),
    ) {
        (Ok(Ok(p)), Ok(Ok(r))) => (p, r),
        _ => {
            return item(
                "busy polling",
                Status::Unknown,
                "?",
                "net.core.busy_poll=50 busy_read=50 with [run] busy_poll on isolated cores",
                "cannot read /proc/sys/net/core/{busy_poll,busy_read}",
            );
        }
    };
    let set = format!(
        "net.core.busy_poll={p} busy_read={r}; [run] busy_poll={}",
        plan.busy_poll
    );
    if plan.busy_poll {
        let status = if p > 0 && r > 0 {
            Status::Ok
        } else {
            Status::Advise
        };
        item(
            "busy polling",
            status,
            set,
            "net.core.busy_poll=50 busy_read=50",
            "arb spins on its rings; the kernel can spin on the NIC queue too, skipping the interrupt path",
        )
    } else {
        item(
            "busy polling",
            Status::Ok,
            set,
            "0 while arb waits; 50 with [run] busy_poll on isolated cores",
            "arb waits (busy_poll off): kernel spinning would only burn cores",
        )
    }
}

/// NUMA nodes and whether the pinned cores share one.
pub(crate) fn check_numa(nodes: &Result<Vec<(String, String)>, String>, plan: &Plan) -> Item {
    let rec =
        "hot threads, their memory and the NIC on one node (numactl --cpunodebind=N --membind=N)";
    let nodes = match nodes {
        Ok(n) if !n.is_empty() => n,
        Ok(_) => {
            return item(
                "numa",
                Status::Unknown,
                "no nodes listed",
                rec,
                "/sys/devices/system/node lists no node",
            );
        }
        Err(e) => {
            return item(
                "numa",
                Status::Unknown,
                "?",
                rec,
                format!("cannot read: {e}"),
            );
        }
    };
    let set = format!("{} node(s)", nodes.len());
    if nodes.len() == 1 {
        return item(
            "numa",
            Status::Ok,
            set,
            rec,
            "one node: no cross-node memory traffic",
        );
    }
    let pinned = plan.pinned_cores();
    let touched: Vec<&str> = nodes
        .iter()
        .filter(|(_, list)| parse_cpulist(list).is_ok_and(|l| !l.is_disjoint(&pinned)))
        .map(|(n, _)| n.as_str())
        .collect();
    match touched.len() {
        0 => item(
            "numa",
            Status::Advise,
            set,
            rec,
            "unpinned threads may run on any node, far from their memory and the NIC",
        ),
        1 => item(
            "numa",
            Status::Ok,
            format!("{set}; pinned cores on {}", touched[0]),
            rec,
            "the pinned cores share a node",
        ),
        _ => item(
            "numa",
            Status::Advise,
            format!("{set}; pinned cores on {}", touched.join(", ")),
            rec,
            "the pinned cores span nodes: ring hand-offs cross the interconnect",
        ),
    }
}

/// `(current, maximum)` RX ring size from `ethtool -g` output.
pub(crate) fn parse_ethtool_rx(text: &str) -> Option<(u64, u64)> {
    let mut max = None;
    let mut cur = None;
    let mut in_current = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with("Pre-set maximums") {
            in_current = false;
        } else if l.starts_with("Current hardware settings") {
            in_current = true;
        } else if let Some(v) = l.strip_prefix("RX:") {
            let v = v.trim().parse::<u64>().ok();
            if in_current {
                cur = cur.or(v);
            } else {
                max = max.or(v);
            }
        }
    }
    Some((cur?, max?))
}

/// NIC RX ring sizes (with ethtool only).
pub(crate) fn check_nic_rings(rings: &Result<Vec<(String, FileText)>, String>) -> Item {
    let rec = "RX ring at its maximum (ethtool -G IFACE rx MAX)";
    let why = "a larger ring absorbs bursts while the feed thread is busy";
    let rings = match rings {
        Err(e) => {
            return item(
                "nic rings",
                Status::Unknown,
                "not checked",
                rec,
                format!("could not be checked: {e}"),
            );
        }
        Ok(r) => r,
    };
    let mut set = Vec::new();
    let mut small = false;
    let mut known = false;
    for (iface, out) in rings {
        match out.as_deref().ok().and_then(parse_ethtool_rx) {
            Some((cur, max)) => {
                known = true;
                small |= cur < max;
                set.push(format!("{iface} rx {cur}/{max}"));
            }
            None => set.push(format!("{iface} n/a")),
        }
    }
    let set = if set.is_empty() {
        "no interface".to_owned()
    } else {
        set.join(", ")
    };
    if !known {
        item(
            "nic rings",
            Status::Unknown,
            set,
            rec,
            "ethtool reports no ring sizes here (virtual interfaces)",
        )
    } else if small {
        item("nic rings", Status::Advise, set, rec, why)
    } else {
        item("nic rings", Status::Ok, set, rec, why)
    }
}

/// Core count against the threads arb runs.
pub(crate) fn check_cores(cores: usize, plan: &Plan) -> Item {
    let feeds = plan.feeds();
    let hot = feeds + 2;
    let all = hot + 1 + usize::from(plan.store);
    let set = format!(
        "{cores} cores; arb runs {all} threads ({feeds} feed + core + sink + server{})",
        if plan.store { " + store" } else { "" }
    );
    let rec = format!(
        "{} cores: one per hot thread ({hot}) plus one for the rest",
        hot + 1
    );
    if cores > hot {
        item(
            "cores",
            Status::Ok,
            set,
            rec,
            "every hot thread can have a core of its own",
        )
    } else if plan.busy_poll {
        item(
            "cores",
            Status::Advise,
            set,
            rec,
            "busy_poll spins every hot thread: with fewer cores they stall each other for milliseconds",
        )
    } else {
        item(
            "cores",
            Status::Advise,
            set,
            rec,
            "the hot threads share cores: fine in wait mode, but latency suffers under load",
        )
    }
}

/// A registry of `n` synthetic symbols listed on every venue of `venues`.
pub(crate) fn synthetic_registry(n: usize, venues: &[Exchange]) -> anyhow::Result<SymbolRegistry> {
    let mut reg = SymbolRegistry::new();
    for i in 0..n {
        let base = format!("S{i}");
        for &ex in venues {
            reg.insert(ex, &format!("{base}USDT"), &base, "USDT")?;
        }
    }
    Ok(reg)
}

/// The reservation for `max_symbols` symbols on every enabled venue against the budget.
pub(crate) fn check_memory(plan: &Plan, mem_total: Option<u64>) -> anyhow::Result<Item> {
    let budget = plan.memory_budget_mb * 1024 * 1024;
    let rec = "reservation <= [run] memory_budget_mb <= the host's memory";
    if plan.max_symbols == 0 {
        return Ok(item(
            "memory budget",
            Status::Unknown,
            format!("budget {}; max_symbols = 0 (no cap)", mib(budget)),
            rec,
            "without [discovery] max_symbols the reservation depends on what discovery finds",
        ));
    }
    let registry = synthetic_registry(plan.max_symbols, &plan.venues)?;
    let core_config = CoreConfig {
        history: plan.history,
        ..CoreConfig::default()
    };
    let res = Reservation::compute(
        &registry,
        &core_config,
        plan.feeds(),
        plan.ring_capacity,
        plan.store,
    );
    let total = res.total() as u64;
    let set = format!(
        "reserves {} for {} symbols x {} venues; budget {}{}",
        mib(total),
        plan.max_symbols,
        plan.venues.len(),
        mib(budget),
        mem_total.map_or(String::new(), |m| format!("; host {}", mib(m)))
    );
    Ok(if total > budget {
        item(
            "memory budget",
            Status::Fail,
            set,
            rec,
            format!(
                "reserved memory {} exceeds [run] memory_budget_mb {}: arb run refuses to start; lower [engine] buckets / raw_points or [discovery] max_symbols, or raise the budget",
                mib(total),
                plan.memory_budget_mb
            ),
        )
    } else if mem_total.is_some_and(|m| total > m) {
        item(
            "memory budget",
            Status::Fail,
            set,
            rec,
            "the reservation is larger than the host's memory",
        )
    } else if mem_total.is_some_and(|m| budget > m) {
        item(
            "memory budget",
            Status::Advise,
            set,
            rec,
            "the budget is above the host's memory: it would not stop an oversized run; set it to what the host can give",
        )
    } else {
        item(
            "memory budget",
            Status::Ok,
            set,
            rec,
            "the windows fit the budget (worst case: every symbol on every enabled venue)",
        )
    })
}

/// The config file: it parses (else the loader's error) and enables a venue.
pub(crate) fn check_config(name: String, loaded: Result<&Plan, &str>) -> Item {
    let rec = "a file arb run accepts, with at least one venue enabled";
    match loaded {
        Err(e) => item("config", Status::Fail, name, rec, e),
        Ok(plan) if plan.venues.is_empty() => item(
            "config",
            Status::Fail,
            name,
            rec,
            "no venue is enabled: arb run refuses to start",
        ),
        Ok(plan) => item(
            "config",
            Status::Ok,
            name,
            rec,
            format!(
                "parses and passes the loader's checks; {} venues enabled",
                plan.venues.len()
            ),
        ),
    }
}

/// Every check for `plan` on `host`.
pub(crate) fn checks(host: &Host, plan: &Plan) -> anyhow::Result<Vec<Item>> {
    Ok(vec![
        check_cores(host.cores.len(), plan),
        check_pinning(plan, &host.cores, &host.isolated),
        check_isolation(
            "isolcpus",
            "keeps the scheduler's other tasks off the hot cores",
            &host.cmdline,
            Some(&host.isolated),
            plan,
        ),
        check_isolation(
            "nohz_full",
            "stops the scheduler tick on a core running one thread",
            &host.cmdline,
            Some(&host.nohz_full),
            plan,
        ),
        check_isolation(
            "rcu_nocbs",
            "moves RCU callbacks off the hot cores",
            &host.cmdline,
            None,
            plan,
        ),
        check_irqs(
            host.irqbalance,
            &host.default_irq_affinity,
            &host.irq_affinity,
            plan,
        ),
        check_governor(&host.governors),
        check_cstates(&host.max_cstate, &host.cpuidle_driver),
        check_thp(&host.thp),
        check_clocksource(&host.clocksource, &host.clocksources),
        check_socket_buffers(&host.rmem_max, &host.wmem_max, &host.tcp_rmem),
        check_busy_poll(&host.busy_poll, &host.busy_read, plan),
        check_numa(&host.numa, plan),
        check_nic_rings(&host.nic_rings),
        check_memory(plan, host.mem_total)?,
    ])
}

fn read(path: &str) -> FileText {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// A program on `PATH`, if any.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

fn dir_names(dir: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

impl Host {
    /// Reads this host's files.
    pub(crate) fn read() -> Self {
        let cpu = "/sys/devices/system/cpu";
        let governors = dir_names(cpu)
            .unwrap_or_default()
            .into_iter()
            .filter(|n| {
                n.strip_prefix("cpu")
                    .is_some_and(|d| d.parse::<u32>().is_ok())
            })
            .filter_map(|n| read(&format!("{cpu}/{n}/cpufreq/scaling_governor")).ok())
            .collect();
        let irqbalance = dir_names("/proc").ok().map(|pids| {
            pids.iter()
                .filter(|p| p.parse::<u32>().is_ok())
                .any(|p| read(&format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "irqbalance"))
        });
        let irq_affinity = dir_names("/proc/irq")
            .unwrap_or_default()
            .into_iter()
            .filter(|n| n.parse::<u32>().is_ok())
            .filter_map(|n| {
                read(&format!("/proc/irq/{n}/smp_affinity_list"))
                    .ok()
                    .map(|l| (n, l.trim().to_owned()))
            })
            .collect();
        let numa = dir_names("/sys/devices/system/node").map(|names| {
            names
                .into_iter()
                .filter(|n| {
                    n.strip_prefix("node")
                        .is_some_and(|d| d.parse::<u32>().is_ok())
                })
                .map(|n| {
                    let list =
                        read(&format!("/sys/devices/system/node/{n}/cpulist")).unwrap_or_default();
                    (n, list.trim().to_owned())
                })
                .collect()
        });
        let nic_rings = match which("ethtool") {
            None => Err("ethtool is not installed".to_owned()),
            Some(ethtool) => dir_names("/sys/class/net").map(|ifaces| {
                ifaces
                    .into_iter()
                    .filter(|i| Path::new(&format!("/sys/class/net/{i}/device")).exists())
                    .map(|i| {
                        let out = std::process::Command::new(&ethtool)
                            .args(["-g", &i])
                            .output()
                            .map_err(|e| format!("ethtool -g {i}: {e}"))
                            .and_then(|o| {
                                if o.status.success() {
                                    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
                                } else {
                                    Err(String::from_utf8_lossy(&o.stderr).trim().to_owned())
                                }
                            });
                        (i, out)
                    })
                    .collect()
            }),
        };
        let mem_total = read("/proc/meminfo").ok().and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kb| kb * 1024)
        });
        let mut cores: Vec<usize> = core_affinity::get_core_ids()
            .unwrap_or_default()
            .iter()
            .map(|c| c.id)
            .collect();
        cores.sort_unstable();
        let cs = "/sys/devices/system/clocksource/clocksource0";
        Host {
            cmdline: read("/proc/cmdline"),
            isolated: read(&format!("{cpu}/isolated")),
            nohz_full: read(&format!("{cpu}/nohz_full")),
            cores,
            irqbalance,
            default_irq_affinity: read("/proc/irq/default_smp_affinity"),
            irq_affinity,
            governors,
            max_cstate: read("/sys/module/intel_idle/parameters/max_cstate"),
            cpuidle_driver: read(&format!("{cpu}/cpuidle/current_driver")),
            thp: read("/sys/kernel/mm/transparent_hugepage/enabled"),
            clocksource: read(&format!("{cs}/current_clocksource")),
            clocksources: read(&format!("{cs}/available_clocksource")),
            rmem_max: read("/proc/sys/net/core/rmem_max"),
            wmem_max: read("/proc/sys/net/core/wmem_max"),
            tcp_rmem: read("/proc/sys/net/ipv4/tcp_rmem"),
            busy_poll: read("/proc/sys/net/core/busy_poll"),
            busy_read: read("/proc/sys/net/core/busy_read"),
            numa,
            nic_rings,
            mem_total,
        }
    }
}

/// `(ok, advise, unknown, fail)` counts.
fn counts(items: &[Item]) -> [usize; 4] {
    let n = |s: Status| items.iter().filter(|i| i.status == s).count();
    [
        n(Status::Ok),
        n(Status::Advise),
        n(Status::Unknown),
        n(Status::Fail),
    ]
}

/// Widest a column of the table gets before its cells wrap (item and status never wrap).
const COLUMN_WRAP: [usize; 5] = [usize::MAX, 34, 38, 52, usize::MAX];

/// Splits `text` into lines of at most `width` characters at spaces (a longer word keeps
/// its own line).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    lines.push(cur);
    lines
}

/// The table, one row per item (long cells wrap onto continuation lines whose item and
/// status cells are blank), then the summary line.
pub(crate) fn render_table(items: &[Item]) -> String {
    let header = ["item", "set", "recommended", "why", "status"].map(|h| vec![h.to_owned()]);
    let rows: Vec<[Vec<String>; 5]> = items
        .iter()
        .map(|i| {
            let cells = [
                i.item,
                i.set.as_str(),
                i.recommended.as_str(),
                i.why.as_str(),
                i.status.as_str(),
            ];
            let mut k = 0;
            cells.map(|c| {
                k += 1;
                wrap(c, COLUMN_WRAP[k - 1])
            })
        })
        .collect();
    let mut width = [0usize; 5];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, c) in width.iter_mut().zip(r) {
            *w = c.iter().map(|l| l.chars().count()).fold(*w, usize::max);
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        let height = r.iter().map(Vec::len).max().unwrap_or(1);
        for n in 0..height {
            let line = r
                .iter()
                .zip(width)
                .map(|(c, w)| format!("{:<w$}", c.get(n).map_or("", String::as_str)))
                .collect::<Vec<_>>()
                .join(" | ");
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    let [ok, advise, unknown, fail] = counts(items);
    out.push_str(&format!(
        "doctor: {ok} ok, {advise} advise, {unknown} unknown, {fail} FAIL\n"
    ));
    out
}

/// The same as JSON: `{"items": [...], "summary": {...}}`.
pub(crate) fn render_json(items: &[Item]) -> serde_json::Value {
    let [ok, advise, unknown, fail] = counts(items);
    serde_json::json!({
        "items": items.iter().map(|i| serde_json::json!({
            "item": i.item,
            "set": i.set,
            "recommended": i.recommended,
            "why": i.why,
            "status": i.status.as_str(),
        })).collect::<Vec<_>>(),
        "summary": { "ok": ok, "advise": advise, "unknown": unknown, "fail": fail },
    })
}

pub(crate) fn run(args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let host = Host::read();
    let mut items = Vec::new();
    let config_name = args
        .config
        .as_ref()
        .map_or("defaults (no --config)".to_owned(), |p| {
            p.display().to_string()
        });
    match Config::load(args.config.as_deref()) {
        Ok(cfg) => {
            let plan = Plan::new(
                &cfg,
                &args.pins.feed_cores,
                args.pins.engine_core,
                args.pins.io_core,
            );
            items.push(check_config(config_name, Ok(&plan)));
            items.extend(checks(&host, &plan)?);
        }
        Err(e) => {
            items.push(check_config(config_name, Err(&format!("{e:#}"))));
            // The host items still say something; the config-bound ones cannot.
            let plan = Plan::new(
                &Config::default(),
                &args.pins.feed_cores,
                args.pins.engine_core,
                args.pins.io_core,
            );
            items.extend(
                checks(&host, &plan)?
                    .into_iter()
                    .filter(|i| !matches!(i.item, "pinning" | "memory budget" | "cores")),
            );
        }
    }
    if args.json {
        println!("{:#}", render_json(&items));
    } else {
        print!("{}", render_table(&items));
    }
    Ok(if items.iter().any(|i| i.status == Status::Fail) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn plan() -> Plan {
        Plan::new(&Config::default(), &[], None, None)
    }

    fn pinned(feed: &[usize], engine: usize, io: usize) -> Plan {
        Plan::new(&Config::default(), feed, Some(engine), Some(io))
    }

    fn ok(s: &str) -> FileText {
        Ok(s.to_owned())
    }

    fn missing() -> FileText {
        Err("gone: No such file or directory".to_owned())
    }

    const CORES: [usize; 8] = [0, 1, 2, 3, 4, 5, 6, 7];

    #[test]
    fn cpulists_parse_and_format() {
        let s = parse_cpulist("0-3,8,10-11\n").unwrap();
        assert_eq!(
            s.iter().copied().collect::<Vec<_>>(),
            [0, 1, 2, 3, 8, 10, 11]
        );
        assert_eq!(format_cpulist(&s), "0-3,8,10-11");
        assert!(parse_cpulist("\n").unwrap().is_empty());
        assert_eq!(format_cpulist(&BTreeSet::new()), "none");
        assert!(parse_cpulist("3-1").is_err());
        assert!(parse_cpulist("a").is_err());
        assert_eq!(
            parse_cpumask("00000000,0000000f\n").unwrap(),
            parse_cpulist("0-3").unwrap()
        );
        assert_eq!(parse_cpumask("30").unwrap(), parse_cpulist("4-5").unwrap());
        assert!(parse_cpumask("xz").is_err());
    }

    #[test]
    fn cmdline_params_are_found() {
        let c = "BOOT_IMAGE=/vmlinuz quiet isolcpus=managed_irq,domain,2-5 nohz_full=2-5 -- init=x nohz_full=9";
        assert_eq!(cmdline_param(c, "nohz_full"), Some("2-5"));
        assert_eq!(cmdline_param(c, "rcu_nocbs"), None);
        assert_eq!(
            isolcpus_cores(cmdline_param(c, "isolcpus").unwrap()).unwrap(),
            parse_cpulist("2-5").unwrap()
        );
    }

    #[test]
    fn pinning_statuses() {
        let iso = ok("2-5\n");
        let p = pinned(&[2, 3], 4, 5);
        assert_eq!(check_pinning(&p, &CORES, &iso).status, Status::Ok);
        assert_eq!(check_pinning(&plan(), &CORES, &iso).status, Status::Advise);
        // Exists but not isolated: advise with the kernel parameters.
        let i = check_pinning(&pinned(&[0, 1], 4, 5), &CORES, &iso);
        assert_eq!(i.status, Status::Advise);
        assert!(
            i.why.contains("isolcpus=0-1,4-5 nohz_full=0-1,4-5"),
            "{}",
            i.why
        );
        // A missing core: FAIL naming the role and the available cores.
        let i = check_pinning(&pinned(&[2, 3], 99, 5), &CORES, &iso);
        assert_eq!(i.status, Status::Fail);
        assert!(i.why.contains("engine core 99"), "{}", i.why);
        assert!(i.why.contains("[0, 1, 2, 3, 4, 5, 6, 7]"), "{}", i.why);
        // Too few feed cores: FAIL; too many: the extra ones go unused.
        let i = check_pinning(&pinned(&[2], 4, 5), &CORES, &iso);
        assert_eq!(i.status, Status::Fail);
        assert!(i.why.contains("1 cores for 2 feed threads"), "{}", i.why);
        let i = check_pinning(&pinned(&[2, 3, 6], 4, 5), &CORES, &iso);
        assert_eq!(i.status, Status::Advise);
        assert!(i.why.contains("unused"), "{}", i.why);
        // With one venue enabled, arb run starts one feed thread.
        let mut one = pinned(&[2], 4, 5);
        one.venues.truncate(1);
        assert_eq!(check_pinning(&one, &CORES, &iso).status, Status::Ok);
        // One core for two roles: fine waiting, FAIL busy-polling.
        let mut p = pinned(&[2, 3], 4, 4);
        assert_eq!(check_pinning(&p, &CORES, &iso).status, Status::Ok);
        p.busy_poll = true;
        let i = check_pinning(&p, &CORES, &iso);
        assert_eq!(i.status, Status::Fail);
        assert!(i.why.contains("engine and io"), "{}", i.why);
        // Isolation unreadable.
        let i = check_pinning(&pinned(&[2, 3], 4, 5), &CORES, &missing());
        assert_eq!(i.status, Status::Unknown);
    }

    #[test]
    fn isolation_statuses() {
        let cmd = ok("quiet isolcpus=2-5 nohz_full=2-5\n");
        let p = pinned(&[2, 3], 4, 5);
        let i = check_isolation("isolcpus", "w", &cmd, Some(&ok("2-5\n")), &p);
        assert_eq!((i.status, i.set.as_str()), (Status::Ok, "2-5"));
        // From the command line when sysfs lacks the file.
        let i = check_isolation("nohz_full", "w", &cmd, Some(&missing()), &p);
        assert_eq!((i.status, i.set.as_str()), (Status::Ok, "2-5"));
        let i = check_isolation("rcu_nocbs", "w", &cmd, None, &p);
        assert_eq!((i.status, i.set.as_str()), (Status::Advise, "none"));
        assert_eq!(i.recommended, "rcu_nocbs=2-5");
        let i = check_isolation("isolcpus", "w", &cmd, None, &pinned(&[0, 1], 4, 5));
        assert_eq!(i.status, Status::Advise);
        assert!(i.why.contains("0-1"), "{}", i.why);
        let i = check_isolation("isolcpus", "w", &cmd, None, &plan());
        assert_eq!(i.status, Status::Advise);
        let i = check_isolation("isolcpus", "w", &missing(), Some(&missing()), &p);
        assert_eq!(i.status, Status::Unknown);
    }

    #[test]
    fn irq_statuses() {
        let p = pinned(&[2, 3], 4, 5);
        let irqs = vec![("24".to_owned(), "0-1".to_owned())];
        let i = check_irqs(Some(false), &ok("3\n"), &irqs, &p);
        assert_eq!(i.status, Status::Ok);
        assert_eq!(
            check_irqs(Some(false), &ok("ff"), &irqs, &plan()).status,
            Status::Ok
        );
        let i = check_irqs(Some(true), &ok("3"), &irqs, &p);
        assert_eq!(i.status, Status::Advise);
        assert!(i.why.contains("irqbalance"));
        let hot = vec![("31".to_owned(), "4".to_owned())];
        let i = check_irqs(Some(false), &ok("ff"), &hot, &p);
        assert_eq!(i.status, Status::Advise);
        assert!(i.why.contains("2-5") && i.why.contains("31"), "{}", i.why);
        assert_eq!(
            check_irqs(None, &missing(), &[], &p).status,
            Status::Unknown
        );
    }

    #[test]
    fn host_item_statuses() {
        assert_eq!(check_governor(&[]).status, Status::Unknown);
        assert_eq!(
            check_governor(&["performance\n".into(), "performance".into()]).status,
            Status::Ok
        );
        assert_eq!(
            check_governor(&["performance".into(), "powersave".into()]).status,
            Status::Advise
        );

        assert_eq!(
            check_cstates(&ok("9\n"), &ok("haltpoll\n")).status,
            Status::Unknown
        );
        assert_eq!(
            check_cstates(&ok("1"), &ok("intel_idle")).status,
            Status::Ok
        );
        assert_eq!(
            check_cstates(&ok("9"), &ok("intel_idle")).status,
            Status::Advise
        );
        assert_eq!(
            check_cstates(&missing(), &missing()).status,
            Status::Unknown
        );

        let thp = check_thp(&ok("always [madvise] never\n"));
        assert_eq!((thp.status, thp.set.as_str()), (Status::Ok, "madvise"));
        assert_eq!(
            check_thp(&ok("always madvise [never]")).status,
            Status::Advise
        );
        assert_eq!(check_thp(&missing()).status, Status::Unknown);

        assert_eq!(
            check_clocksource(&ok("tsc\n"), &ok("tsc kvm-clock")).status,
            Status::Ok
        );
        let i = check_clocksource(&ok("kvm-clock\n"), &ok("tsc kvm-clock \n"));
        assert_eq!(i.status, Status::Advise);
        assert!(i.why.contains("echo tsc"));
        assert_eq!(
            check_clocksource(&missing(), &missing()).status,
            Status::Unknown
        );

        let tcp = ok("4096 131072 33554432\n");
        // wmem_max is not judged.
        assert_eq!(
            check_socket_buffers(&ok("16777216\n"), &ok("212992\n"), &tcp).status,
            Status::Ok
        );
        assert_eq!(
            check_socket_buffers(&ok("4194304"), &ok("16777216"), &tcp).status,
            Status::Advise
        );
        assert_eq!(
            check_socket_buffers(&ok("16777216"), &ok("212992"), &ok("4096 131072 6291456")).status,
            Status::Advise
        );
        assert_eq!(
            check_socket_buffers(&missing(), &ok("1"), &tcp).status,
            Status::Unknown
        );
    }

    #[test]
    fn busy_poll_follows_the_config() {
        let mut p = plan();
        assert_eq!(
            check_busy_poll(&ok("0\n"), &ok("0\n"), &p).status,
            Status::Ok
        );
        p.busy_poll = true;
        assert_eq!(
            check_busy_poll(&ok("0"), &ok("0"), &p).status,
            Status::Advise
        );
        assert_eq!(check_busy_poll(&ok("50"), &ok("50"), &p).status, Status::Ok);
        assert_eq!(
            check_busy_poll(&missing(), &ok("0"), &p).status,
            Status::Unknown
        );
    }

    #[test]
    fn numa_statuses() {
        let one = Ok(vec![("node0".to_owned(), "0-7".to_owned())]);
        assert_eq!(check_numa(&one, &plan()).status, Status::Ok);
        let two = Ok(vec![
            ("node0".to_owned(), "0-3".to_owned()),
            ("node1".to_owned(), "4-7".to_owned()),
        ]);
        assert_eq!(check_numa(&two, &pinned(&[0, 1], 2, 3)).status, Status::Ok);
        assert_eq!(
            check_numa(&two, &pinned(&[2, 3], 4, 5)).status,
            Status::Advise
        );
        assert_eq!(check_numa(&two, &plan()).status, Status::Advise);
        assert_eq!(
            check_numa(&Err("no sysfs".into()), &plan()).status,
            Status::Unknown
        );
    }

    const ETHTOOL: &str = "Ring parameters for eth0:\nPre-set maximums:\nRX:\t\t4096\nRX Mini:\tn/a\nTX:\t\t4096\nCurrent hardware settings:\nRX:\t\t512\nRX Mini:\tn/a\nTX:\t\t512\n";

    #[test]
    fn nic_rings_statuses() {
        assert_eq!(parse_ethtool_rx(ETHTOOL), Some((512, 4096)));
        let i = check_nic_rings(&Ok(vec![("eth0".into(), ok(ETHTOOL))]));
        assert_eq!(
            (i.status, i.set.as_str()),
            (Status::Advise, "eth0 rx 512/4096")
        );
        let full = ETHTOOL.replace("RX:\t\t512", "RX:\t\t4096");
        assert_eq!(
            check_nic_rings(&Ok(vec![("eth0".into(), Ok(full))])).status,
            Status::Ok
        );
        let i = check_nic_rings(&Err("ethtool is not installed".into()));
        assert_eq!(i.status, Status::Unknown);
        assert!(i.why.contains("could not be checked"));
        assert_eq!(
            check_nic_rings(&Ok(vec![("eth0".into(), missing())])).status,
            Status::Unknown
        );
    }

    #[test]
    fn config_statuses() {
        let mut p = plan();
        assert_eq!(check_config("x".into(), Ok(&p)).status, Status::Ok);
        assert_eq!(
            check_config("x".into(), Err("unknown field `feed_thread`")).status,
            Status::Fail
        );
        p.venues.clear();
        let i = check_config("x".into(), Ok(&p));
        assert_eq!(i.status, Status::Fail);
        assert!(i.why.contains("no venue"), "{}", i.why);
    }

    #[test]
    fn core_count_statuses() {
        let mut p = plan();
        assert_eq!(check_cores(8, &p).status, Status::Ok);
        assert_eq!(check_cores(2, &p).status, Status::Advise);
        p.busy_poll = true;
        let i = check_cores(2, &p);
        assert_eq!(i.status, Status::Advise);
        assert!(i.why.contains("busy_poll"));
        assert!(i.set.contains("6 threads"), "{}", i.set);
    }

    #[test]
    fn memory_statuses() {
        let mut p = plan();
        let gib = 1 << 30;
        assert_eq!(check_memory(&p, Some(16 * gib)).unwrap().status, Status::Ok);
        // The default 8 GiB budget on a 4 GiB host.
        assert_eq!(
            check_memory(&p, Some(4 * gib)).unwrap().status,
            Status::Advise
        );
        p.memory_budget_mb = 1;
        let i = check_memory(&p, None).unwrap();
        assert_eq!(i.status, Status::Fail);
        assert!(i.why.contains("memory_budget_mb 1"), "{}", i.why);
        p.max_symbols = 0;
        assert_eq!(check_memory(&p, None).unwrap().status, Status::Unknown);
    }

    #[test]
    fn the_synthetic_registry_lists_every_symbol_on_every_venue() {
        let reg = synthetic_registry(3, &[Exchange::Binance, Exchange::Okx]).unwrap();
        assert_eq!(reg.len(), 3);
        assert_eq!(reg.listings().count(), 6);
    }

    #[test]
    fn table_and_json_carry_every_item() {
        let items = vec![
            item("a", Status::Ok, "s", "r", "w"),
            item("b", Status::Fail, "s", "r", "w"),
            item("c", Status::Unknown, "s", "r", "w"),
        ];
        let t = render_table(&items);
        assert!(t.starts_with("item | set"), "{t}");
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 5), ["abcdefgh"]);
        assert_eq!(wrap("", 5), [""]);
        assert!(
            t.ends_with("doctor: 1 ok, 0 advise, 1 unknown, 1 FAIL\n"),
            "{t}"
        );
        let j = render_json(&items);
        assert_eq!(j["items"].as_array().unwrap().len(), 3);
        assert_eq!(j["items"][1]["status"], "FAIL");
        assert_eq!(j["summary"]["fail"], 1);
    }
}
