//! Shared helpers of the arb benchmarks (fixture loading).
