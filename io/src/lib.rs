//! Output sinks of arb: storage and serving threads fed by the spread core.
