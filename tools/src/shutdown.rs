//! SIGTERM / SIGINT handling for long-running commands: the first signal asks for an
//! orderly stop (sources stop, rings drain, the store writes and closes every file); a
//! second one exits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};

/// Set when SIGTERM or SIGINT arrived.
#[derive(Debug, Clone)]
pub(crate) struct Shutdown {
    flag: Arc<AtomicBool>,
}

impl Shutdown {
    /// Installs the handlers.
    ///
    /// # Errors
    /// The handlers cannot be registered.
    pub(crate) fn install() -> anyhow::Result<Self> {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [SIGTERM, SIGINT] {
            // Order matters: the conditional exit is checked before the flag is set, so
            // the second signal (flag already set) exits with status 1.
            signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&flag))?;
            signal_hook::flag::register(sig, Arc::clone(&flag))?;
        }
        Ok(Shutdown { flag })
    }

    /// Returns `true` once a stop was asked for.
    pub(crate) fn requested(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}
