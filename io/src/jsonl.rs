//! The JSON-lines writer of spreads, signals and gaps: one object per line, always valid
//! JSON (non-finite numbers as `null`, names escaped).

use std::io::Write;
use std::sync::Arc;

use arb_engine::SymbolRegistry;
use arb_engine::spread::{CoreOut, SignalKind, SpreadUpdate};

/// Writes spreads, signals and gaps as JSON lines.
///
/// A deviation or spread that is not finite (a quote of `1e-320` makes a ratio overflow)
/// is written as `null`: JSON has no NaN or infinity, and a reader must not choke on a
/// line. Symbol names are written as escaped JSON strings.
#[derive(Debug)]
pub struct JsonlWriter<W: Write> {
    out: W,
    registry: Arc<SymbolRegistry>,
}

/// A JSON number, or `null` when not finite.
struct Num(f64);

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_finite() {
            // Rust prints finite floats without exponent or special spellings: valid JSON.
            write!(f, "{}", self.0)
        } else {
            f.write_str("null")
        }
    }
}

/// A JSON string literal with `"`, `\` and control characters escaped.
struct Str<'a>(&'a str);

impl std::fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if u32::from(c) < 0x20 => write!(f, "\\u{:04x}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

impl<W: Write> JsonlWriter<W> {
    /// Wraps a writer (give it a `BufWriter`).
    pub fn new(out: W, registry: Arc<SymbolRegistry>) -> Self {
        JsonlWriter { out, registry }
    }

    /// Writes one pair spread (derived by [`arb_engine::live_pairs::LivePairs`]).
    ///
    /// # Errors
    /// I/O errors of the underlying writer.
    pub fn write_spread(&mut self, s: &SpreadUpdate) -> std::io::Result<()> {
        writeln!(
            self.out,
            r#"{{"type":"spread","ts_ns":{},"symbol":{},"a":"{}","b":"{}","trigger":"{}","dev_pct":{},"exec_ab_pct":{},"exec_ba_pct":{},"other_age_ns":{}}}"#,
            s.ts_ns,
            Str(self.registry.name(s.symbol)),
            s.pair.first,
            s.pair.second,
            s.trigger,
            Num(s.dev_pct),
            Num(s.exec_ab_pct),
            Num(s.exec_ba_pct),
            s.other_age_ns
        )
    }

    /// Writes one output if it is a signal or gap (spreads: [`JsonlWriter::write_spread`]).
    ///
    /// # Errors
    /// I/O errors of the underlying writer.
    pub fn write(&mut self, o: &CoreOut) -> std::io::Result<()> {
        match o {
            CoreOut::Quote(_) | CoreOut::Venue(_) => Ok(()),
            CoreOut::Signal(s) => writeln!(
                self.out,
                r#"{{"type":"signal","ts_ns":{},"symbol":{},"a":"{}","b":"{}","kind":"{}","dev_pct":{}}}"#,
                s.ts_ns,
                Str(self.registry.name(s.symbol)),
                s.pair.first,
                s.pair.second,
                match s.kind {
                    SignalKind::Entry => "entry",
                    SignalKind::Exit => "exit",
                },
                Num(s.dev_pct)
            ),
            CoreOut::Gap(g) => writeln!(
                self.out,
                r#"{{"type":"gap","exchange":"{}","conn_id":{},"symbols_affected":{},"start_ns":{},"end_ns":{}}}"#,
                g.exchange, g.conn_id, g.symbols_affected, g.start_ns, g.end_ns
            ),
            CoreOut::Trade(_) => Ok(()),
        }
    }

    /// Flushes the writer.
    ///
    /// # Errors
    /// I/O errors of the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// Returns the underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_numbers_never_non_finite() {
        assert_eq!(Str("A\"B\\C\u{1}é").to_string(), r#""A\"B\\C\u0001é""#);
        assert_eq!(Num(f64::NAN).to_string(), "null");
        assert_eq!(Num(f64::NEG_INFINITY).to_string(), "null");
        assert_eq!(Num(1e300).to_string().parse::<f64>().ok(), Some(1e300));
        assert_eq!(Num(-0.25).to_string(), "-0.25");
    }
}
