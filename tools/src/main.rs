//! The `arb` command.
fn main() {}
