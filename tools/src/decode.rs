//! `arb decode`: raw exchange frames in, normalised events out as JSON lines.

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use arb_engine::Exchange;
use arb_engine::symbol::split_native;
use arb_feeds::capture::{CaptureFile, TailStatus};
use arb_feeds::{AnyDecoder, Decoded, FrameDecoder, FrameKind, ParseError};
use base64::Engine as _;
use serde_json::{Value, json};

/// Arguments of `arb decode`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "\
Input lines are raw frames as the venue sends them: JSON text for most venues; for MEXC \
either the base64 of a protobuf frame or a line {\"wire_b64\": \"...\"}; for BingX the \
decompressed JSON (or the base64 of the gzip frame). Blank lines and lines starting with \
'#' are skipped. Each decoded item prints one JSON line: type quote, trade, control or \
error. A summary goes to stderr; the exit code is 0 even when some lines are bad.

--capture memory-maps the file: do not truncate or rewrite it while it is being read (the \
process would be killed with SIGBUS). Captures written by arb are published by rename, \
so reading one that arb is still recording is safe.

Examples:
  arb decode --exchange binance < feeds/tests/data/binance/book_ticker.jsonl
  arb decode --capture market.arbcap --exchange okx | head
  arb decode --exchange mexc < feeds/tests/data/mexc/trades.constructed.jsonl")]
pub(crate) struct DecodeArgs {
    /// Venue whose wire format the input lines are in: binance, bybit, mexc, gateio,
    /// kucoin, okx, bitget, bingx.
    #[arg(long, short = 'e', value_parser = parse_exchange, required_unless_present = "capture")]
    exchange: Option<Exchange>,
    /// Decode every frame of a capture file instead of stdin lines (each record's venue
    /// picks the decoder; --exchange then keeps only that venue). The file is
    /// memory-mapped: do not truncate or rewrite it while it is read.
    #[arg(long, value_name = "FILE")]
    capture: Option<PathBuf>,
}

fn parse_exchange(s: &str) -> Result<Exchange, String> {
    s.parse::<Exchange>().map_err(|e| e.to_string())
}

/// Counts of what was decoded, printed to stderr at the end.
#[derive(Debug, Default)]
struct Tally {
    lines: u64,
    quotes: u64,
    trades: u64,
    controls: u64,
    errors: [u64; ParseError::KINDS],
}

impl Tally {
    fn error_total(&self) -> u64 {
        self.errors.iter().sum()
    }

    fn report(&self) -> String {
        let mut s = format!(
            "arb decode: {} lines, {} quotes, {} trades, {} control, {} errors",
            self.lines,
            self.quotes,
            self.trades,
            self.controls,
            self.error_total()
        );
        let kinds: Vec<String> = self
            .errors
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| format!("{}={n}", ParseError::kind_label(i)))
            .collect();
        if !kinds.is_empty() {
            s.push_str(&format!(" ({})", kinds.join(", ")));
        }
        s
    }
}

pub(crate) fn run(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.capture {
        return run_capture(path, args.exchange);
    }
    let Some(exchange) = args.exchange else {
        anyhow::bail!("--exchange is required when reading stdin");
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut decoder = AnyDecoder::new(exchange);
    let mut tally = Tally::default();
    let mut frame = Vec::new();
    for (n, line) in stdin.lock().split(b'\n').enumerate() {
        let line = line.context("reading stdin")?;
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if line.iter().all(u8::is_ascii_whitespace) || line.first() == Some(&b'#') {
            continue;
        }
        tally.lines += 1;
        let kind = match input_frame(exchange, line, &mut frame) {
            Ok(kind) => kind,
            Err(reason) => {
                tally.errors[ParseError::Json.kind_index()] += 1;
                writeln!(
                    out,
                    "{}",
                    json!({"type": "error", "line": n + 1, "reason": reason})
                )?;
                continue;
            }
        };
        let mut rows: Vec<Value> = Vec::new();
        let result = decoder.decode(kind, &frame, &mut |d| {
            rows.push(event_json(exchange, &d, &mut tally))
        });
        for row in rows {
            writeln!(out, "{row}")?;
        }
        if let Err(e) = result {
            tally.errors[e.kind_index()] += 1;
            writeln!(
                out,
                "{}",
                json!({"type": "error", "line": n + 1, "reason": e.to_string()})
            )?;
        }
    }
    out.flush()?;
    eprintln!("{}", tally.report());
    Ok(ExitCode::SUCCESS)
}

/// `arb decode --capture FILE`: every frame record, through a decoder per (venue,
/// connection) as the live feed would; connection records print as `connection` lines.
fn run_capture(path: &Path, only: Option<Exchange>) -> anyhow::Result<ExitCode> {
    #[expect(
        unsafe_code,
        reason = "memory-mapping the capture; the contract is documented to the user"
    )]
    // SAFETY: arb never writes a capture in place (the writer publishes by rename); the
    // --capture help and the command's after-help tell the user not to truncate or rewrite
    // a file while it is being read.
    let capture = unsafe { CaptureFile::open(path) }
        .with_context(|| format!("opening {}", path.display()))?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut decoders: HashMap<(Exchange, u16), AnyDecoder> = HashMap::new();
    let mut tally = Tally::default();
    let mut records = capture.records();
    for (n, rec) in records.by_ref().enumerate() {
        if only.is_some_and(|ex| ex != rec.exchange) {
            continue;
        }
        let Some(kind) = rec.kind.frame_kind() else {
            writeln!(
                out,
                "{}",
                json!({"type": "connection", "exchange": rec.exchange.as_str(), "conn_id": rec.conn_id,
                       "state": rec.kind.as_str(), "recv_ts_ns": rec.recv_ts_ns})
            )?;
            continue;
        };
        tally.lines += 1;
        let decoder = decoders
            .entry((rec.exchange, rec.conn_id))
            .or_insert_with(|| AnyDecoder::new(rec.exchange));
        let mut rows: Vec<Value> = Vec::new();
        let result = decoder.decode(kind, rec.payload, &mut |d| {
            rows.push(event_json(rec.exchange, &d, &mut tally))
        });
        for mut row in rows {
            row["recv_ts_ns"] = json!(rec.recv_ts_ns);
            writeln!(out, "{row}")?;
        }
        if let Err(e) = result {
            tally.errors[e.kind_index()] += 1;
            writeln!(
                out,
                "{}",
                json!({"type": "error", "record": n, "exchange": rec.exchange.as_str(), "reason": e.to_string()})
            )?;
        }
    }
    out.flush()?;
    if let Some(tail) = records.tail()
        && tail != TailStatus::Clean
    {
        tracing::warn!(file = %path.display(), ?tail, "Bad tail after the valid prefix");
    }
    eprintln!("{}", tally.report());
    Ok(ExitCode::SUCCESS)
}

/// Turns one input line into the frame the venue would have sent.
fn input_frame(exchange: Exchange, line: &[u8], frame: &mut Vec<u8>) -> Result<FrameKind, String> {
    frame.clear();
    let trimmed = line.trim_ascii();
    let b64 = base64::engine::general_purpose::STANDARD;
    if trimmed.starts_with(b"{\"wire_b64\"") {
        let v: Value =
            serde_json::from_slice(trimmed).map_err(|e| format!("bad wire_b64 line: {e}"))?;
        let text = v
            .get("wire_b64")
            .and_then(Value::as_str)
            .ok_or("wire_b64 is not a string")?;
        *frame = b64.decode(text).map_err(|e| format!("bad base64: {e}"))?;
        return Ok(FrameKind::Binary);
    }
    let binary_venue = matches!(exchange, Exchange::Mexc | Exchange::Bingx);
    let looks_text =
        matches!(trimmed.first(), Some(b'{' | b'[')) || trimmed.iter().all(u8::is_ascii_alphabetic);
    if binary_venue && !looks_text {
        *frame = b64
            .decode(trimmed)
            .map_err(|e| format!("not JSON and not base64: {e}"))?;
        return Ok(FrameKind::Binary);
    }
    frame.extend_from_slice(trimmed);
    Ok(FrameKind::Text)
}

fn opt_ts(ts: i64) -> Value {
    if ts == 0 { Value::Null } else { json!(ts) }
}

fn symbol_json(native: &str) -> Value {
    match split_native(native) {
        Some((base, quote)) => json!(format!(
            "{}/{}",
            base.to_ascii_uppercase(),
            quote.to_ascii_uppercase()
        )),
        None => Value::Null,
    }
}

fn event_json(exchange: Exchange, d: &Decoded<'_>, tally: &mut Tally) -> Value {
    match d {
        Decoded::Quote(q) => {
            tally.quotes += 1;
            json!({
                "type": "quote",
                "exchange": exchange.as_str(),
                "symbol": symbol_json(q.native),
                "native_symbol": q.native,
                "bid": q.bid_px,
                "bid_qty": q.bid_qty,
                "ask": q.ask_px,
                "ask_qty": q.ask_qty,
                "exch_ts_ns": opt_ts(q.exch_ts_ns),
            })
        }
        Decoded::Trade(t) => {
            tally.trades += 1;
            json!({
                "type": "trade",
                "exchange": exchange.as_str(),
                "symbol": symbol_json(t.native),
                "native_symbol": t.native,
                "price": t.px,
                "qty": t.qty,
                "side": t.side.as_str(),
                "trade_id": t.trade_id.to_string(),
                "exch_ts_ns": opt_ts(t.exch_ts_ns),
            })
        }
        Decoded::Control(c) => {
            tally.controls += 1;
            let mut v = json!({
                "type": "control",
                "exchange": exchange.as_str(),
                "kind": c.kind.as_str(),
                "what": c.what,
            });
            if let Some(id) = c.id {
                v["id"] = json!(id);
            }
            if let Some(code) = c.code {
                v["code"] = json!(code);
            }
            if let Some(text) = c.text {
                v["text"] = json!(text);
            }
            v
        }
    }
}
