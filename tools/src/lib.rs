//! The library side of the `arb-tools` package: the parts of the `arb` command that other
//! crates need to reach.
//!
//! Today that is only [`config`], the `arb.toml` loader, so that the fuzz crate
//! (`fuzz/fuzz_targets/config.rs`) and tests can drive `Config::parse` directly; the `arb`
//! binary (`src/main.rs`) uses it from here. Every other subcommand module stays private to
//! the binary.

pub mod config;
