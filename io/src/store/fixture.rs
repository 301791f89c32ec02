//! Test-only store writer: quote and trade rows into the partition layout of
//! [`super::schema`] with `ArrowWriter`, sorted and split into small row groups so the
//! readers' pruning is exercised. Not the production writer (no ring, no rolling, no
//! crash safety); compiled for this crate's tests and with the `fixtures` feature.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray,
    UInt16Array, UInt64Array,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::schema::{Kind, col, hour_of, partition_dir};

/// One quote row.
#[derive(Debug, Clone, PartialEq)]
pub struct QuoteRow {
    /// Receive time, ns.
    pub ts_ns: i64,
    /// Written venue name.
    pub exchange: String,
    /// Written symbol.
    pub symbol: String,
    /// Best bid.
    pub bid: f64,
    /// Best ask.
    pub ask: f64,
}

/// One trade row.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeRow {
    /// Receive time, ns.
    pub ts_ns: i64,
    /// Written venue name.
    pub exchange: String,
    /// Written symbol.
    pub symbol: String,
    /// Price.
    pub price: f64,
    /// Quantity.
    pub quantity: f64,
    /// `Buy` or `Sell`.
    pub side: &'static str,
    /// Trade id.
    pub trade_id: u64,
}

/// Writes one file of `kind` for partition `hour` as `<name>.parquet`, batch by batch, with
/// row groups of at most `row_group_rows` rows; published by rename on [`Self::finish`].
#[derive(Debug)]
pub struct FixtureFile {
    kind: Kind,
    tmp: PathBuf,
    path: PathBuf,
    writer: ArrowWriter<File>,
}

impl FixtureFile {
    /// Creates `<root>/<kind>/<partition>/<name>.parquet.tmp`.
    pub fn create(
        root: &Path,
        kind: Kind,
        hour: i64,
        name: &str,
        row_group_rows: usize,
    ) -> std::io::Result<Self> {
        let dir = root.join(kind.as_str()).join(partition_dir(hour));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.parquet"));
        let tmp = dir.join(format!("{name}.parquet.tmp"));
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(row_group_rows.max(1)))
            .set_statistics_enabled(EnabledStatistics::Page)
            // Dictionaries for the low-cardinality text columns only: a float or timestamp
            // column's dictionary page would be most of its chunk and defeat page skipping.
            .set_dictionary_enabled(false)
            .set_column_dictionary_enabled(col::EXCHANGE.into(), true)
            .set_column_dictionary_enabled(col::SYMBOL.into(), true)
            .set_column_dictionary_enabled(col::SIDE.into(), true)
            // Several pages per row group, so page-level selection is exercised too.
            .set_data_page_row_count_limit((row_group_rows / 8).max(1))
            .set_write_batch_size((row_group_rows / 8).clamp(1, 1024))
            .build();
        let writer = ArrowWriter::try_new(File::create(&tmp)?, kind.schema(), Some(props))
            .map_err(std::io::Error::other)?;
        Ok(Self {
            kind,
            tmp,
            path,
            writer,
        })
    }

    /// Appends quote rows (the caller keeps the file's sort order).
    pub fn write_quotes(&mut self, rows: &[QuoteRow]) -> std::io::Result<()> {
        let n = rows.len();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(
                TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.ts_ns))
                    .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.exchange),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.symbol),
            )),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.bid))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.ask))),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| (r.ask - r.bid) / r.ask * 100.0),
            )),
            Arc::new(Float64Array::from_iter_values(std::iter::repeat_n(1.0, n))),
            Arc::new(Float64Array::from_iter_values(std::iter::repeat_n(2.0, n))),
            Arc::new(TimestampNanosecondArray::new_null(n).with_timezone("UTC")),
            Arc::new(UInt16Array::from_iter_values(std::iter::repeat_n(0, n))),
        ];
        self.write(cols)
    }

    /// Appends trade rows (the caller keeps the file's sort order).
    pub fn write_trades(&mut self, rows: &[TradeRow]) -> std::io::Result<()> {
        let n = rows.len();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(
                TimestampNanosecondArray::from_iter_values(rows.iter().map(|r| r.ts_ns))
                    .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.exchange),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.symbol),
            )),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.price))),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.quantity),
            )),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.side))),
            Arc::new(UInt64Array::from_iter_values(
                rows.iter().map(|r| r.trade_id),
            )),
            Arc::new(BooleanArray::from(vec![false; n])),
            Arc::new(TimestampNanosecondArray::new_null(n).with_timezone("UTC")),
            Arc::new(UInt16Array::from_iter_values(std::iter::repeat_n(0, n))),
        ];
        self.write(cols)
    }

    fn write(&mut self, cols: Vec<ArrayRef>) -> std::io::Result<()> {
        let batch =
            RecordBatch::try_new(self.kind.schema(), cols).map_err(std::io::Error::other)?;
        self.writer.write(&batch).map_err(std::io::Error::other)
    }

    /// Closes the file and renames it to `*.parquet`; returns the published path.
    pub fn finish(self) -> std::io::Result<PathBuf> {
        self.writer.close().map_err(std::io::Error::other)?;
        std::fs::rename(&self.tmp, &self.path)?;
        Ok(self.path)
    }
}

/// Sorts `rows` by (symbol, venue, time) and writes each hour's rows into
/// `<root>/quotes/<partition>/<name>.parquet` with row groups of `row_group_rows` rows.
/// Returns the files written.
pub fn write_quotes(
    root: &Path,
    rows: &mut [QuoteRow],
    name: &str,
    row_group_rows: usize,
) -> std::io::Result<Vec<PathBuf>> {
    rows.sort_by(|a, b| {
        (hour_of(a.ts_ns), &a.symbol, &a.exchange, a.ts_ns).cmp(&(
            hour_of(b.ts_ns),
            &b.symbol,
            &b.exchange,
            b.ts_ns,
        ))
    });
    let mut out = Vec::new();
    for chunk in rows.chunk_by(|a, b| hour_of(a.ts_ns) == hour_of(b.ts_ns)) {
        let mut f = FixtureFile::create(
            root,
            Kind::Quotes,
            hour_of(chunk[0].ts_ns),
            name,
            row_group_rows,
        )?;
        f.write_quotes(chunk)?;
        out.push(f.finish()?);
    }
    Ok(out)
}

/// [`write_quotes`] for trades.
pub fn write_trades(
    root: &Path,
    rows: &mut [TradeRow],
    name: &str,
    row_group_rows: usize,
) -> std::io::Result<Vec<PathBuf>> {
    rows.sort_by(|a, b| {
        (hour_of(a.ts_ns), &a.symbol, &a.exchange, a.ts_ns).cmp(&(
            hour_of(b.ts_ns),
            &b.symbol,
            &b.exchange,
            b.ts_ns,
        ))
    });
    let mut out = Vec::new();
    for chunk in rows.chunk_by(|a, b| hour_of(a.ts_ns) == hour_of(b.ts_ns)) {
        let mut f = FixtureFile::create(
            root,
            Kind::Trades,
            hour_of(chunk[0].ts_ns),
            name,
            row_group_rows,
        )?;
        f.write_trades(chunk)?;
        out.push(f.finish()?);
    }
    Ok(out)
}
