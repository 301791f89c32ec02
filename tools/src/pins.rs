//! The pinning flags shared by `arb run`, `arb replay` and `arb doctor`.

use crate::config::RunSection;

/// `--feed-cores`, `--engine-core`, `--io-core`.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct PinArgs {
    /// Pin feed thread i to the i-th core of this list (e.g. `2,3`; one core per feed
    /// thread; for `arb run` it overrides `[run] feed_cores`). A core the machine does not
    /// have is a start-up error naming it.
    #[arg(long, value_delimiter = ',', value_name = "CORES")]
    pub(crate) feed_cores: Vec<usize>,
    /// Pin the spread-core thread to this core (for `arb run`: overrides `[run] engine_core`).
    #[arg(long, value_name = "CORE")]
    pub(crate) engine_core: Option<usize>,
    /// Pin the I/O (sink) thread to this core (for `arb run`: overrides `[run] io_core`).
    #[arg(long, value_name = "CORE")]
    pub(crate) io_core: Option<usize>,
}

impl PinArgs {
    /// Whether any pin was given.
    pub(crate) fn any(&self) -> bool {
        !self.feed_cores.is_empty() || self.engine_core.is_some() || self.io_core.is_some()
    }

    /// Applies the given flags over the config's `[run]` settings.
    pub(crate) fn apply(&self, run: &mut RunSection) {
        if !self.feed_cores.is_empty() {
            run.feed_cores.clone_from(&self.feed_cores);
        }
        if self.engine_core.is_some() {
            run.engine_core = self.engine_core;
        }
        if self.io_core.is_some() {
            run.io_core = self.io_core;
        }
    }
}
