//! Helpers shared by the engine's integration tests.

pub(crate) mod pair_window;
