//! Raw row export from the store: the quotes or trades a [`Filter`] keeps, every column of
//! the dataset, as CSV (with a header) or JSON lines. `arb query --raw` writes through
//! here, as will the HTTP export.
//!
//! Cells: timestamps as RFC 3339 UTC with nanoseconds (`2026-12-02T03:00:00.123456789Z`),
//! numbers as Rust prints them (shortest text that reads back to the same value), booleans
//! `true` / `false`, nulls as an empty CSV cell or JSON `null`. CSV text cells are quoted
//! when they hold a comma, quote or line break. Rows come in store order: file by file
//! (hour, then file name), inside a file by symbol, venue and time.

use std::io::Write;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float64Type, Int64Type, TimestampNanosecondType, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

use super::read::{Filter, ReadError, ReadStats, StoreFile};
use crate::history::{format_time_ns, write_json_f64, write_json_str};

/// How exported rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line, keys as the column names.
    JsonLines,
}

/// Writes every row of `files` that `filter` keeps, all columns, to `out`; returns the rows
/// written. Reads only the row groups the filter's statistics allow.
pub fn export_rows(
    files: &[StoreFile],
    filter: &Filter,
    format: ExportFormat,
    out: &mut impl Write,
    stats: &ReadStats,
) -> Result<u64, ReadError> {
    let mut rows = 0u64;
    let mut header_done = false;
    let mut names: Vec<String> = Vec::new();
    for file in files {
        let all: Vec<String> = file
            .metadata()
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        let cols: Vec<&str> = all.iter().map(String::as_str).collect();
        let groups = file.row_groups_matching(filter);
        file.scan(filter, &cols, &groups, stats, |batch, keep| {
            if !header_done {
                names = batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                if format == ExportFormat::Csv {
                    writeln!(out, "{}", names.join(",")).map_err(ReadError::Output)?;
                }
                header_done = true;
            }
            write_batch(batch, &names, keep, format, out).map_err(ReadError::Output)?;
            rows += keep.len() as u64;
            Ok(())
        })?;
    }
    Ok(rows)
}

fn write_batch(
    batch: &RecordBatch,
    names: &[String],
    keep: &[u32],
    format: ExportFormat,
    out: &mut impl Write,
) -> std::io::Result<()> {
    // Columns in header order (files written by another schema version may order them
    // differently; a missing column is written as nulls).
    let cols: Vec<Option<&dyn Array>> = names
        .iter()
        .map(|n| batch.column_by_name(n).map(|c| c.as_ref()))
        .collect();
    for &r in keep {
        let r = r as usize;
        if format == ExportFormat::JsonLines {
            out.write_all(b"{")?;
        }
        for (k, col) in cols.iter().enumerate() {
            if k > 0 {
                out.write_all(b",")?;
            }
            if format == ExportFormat::JsonLines {
                write_json_str(out, &names[k])?;
                out.write_all(b":")?;
            }
            match col {
                Some(c) => write_cell(*c, r, format, out)?,
                None if format == ExportFormat::JsonLines => out.write_all(b"null")?,
                None => {}
            }
        }
        out.write_all(if format == ExportFormat::JsonLines {
            b"}\n"
        } else {
            b"\n"
        })?;
    }
    Ok(())
}

fn write_cell(
    col: &dyn Array,
    r: usize,
    format: ExportFormat,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let json = format == ExportFormat::JsonLines;
    if col.is_null(r) {
        return if json { out.write_all(b"null") } else { Ok(()) };
    }
    match col.data_type() {
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            let t = format_time_ns(col.as_primitive::<TimestampNanosecondType>().value(r));
            if json {
                write_json_str(out, &t)
            } else {
                out.write_all(t.as_bytes())
            }
        }
        DataType::Utf8 => {
            let s = col.as_string::<i32>().value(r);
            if json {
                write_json_str(out, s)
            } else {
                write_csv_str(out, s)
            }
        }
        DataType::Float64 => {
            let v = col.as_primitive::<Float64Type>().value(r);
            if json {
                write_json_f64(out, v)
            } else {
                write!(out, "{v}")
            }
        }
        DataType::Int64 => write!(out, "{}", col.as_primitive::<Int64Type>().value(r)),
        DataType::UInt64 => write!(out, "{}", col.as_primitive::<UInt64Type>().value(r)),
        DataType::UInt32 => write!(out, "{}", col.as_primitive::<UInt32Type>().value(r)),
        DataType::UInt16 => write!(out, "{}", col.as_primitive::<UInt16Type>().value(r)),
        DataType::Boolean => write!(out, "{}", col.as_boolean().value(r)),
        _ => {
            if json {
                out.write_all(b"null")
            } else {
                Ok(())
            }
        }
    }
}

fn write_csv_str(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    if s.contains([',', '"', '\n', '\r']) {
        write!(out, "\"{}\"", s.replace('"', "\"\""))
    } else {
        out.write_all(s.as_bytes())
    }
}
