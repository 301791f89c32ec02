//! Reading the store: partition listing, row-group pruning by `Symbol` / `Exchange` /
//! `Timestamp` statistics, and projected, byte-counted column reads. `arb query`,
//! `arb analyze` and the HTTP history endpoint read through here.
//!
//! A read goes: [`Store::open_files`] lists the `date=…/hour=…` partitions a
//! [`TimeRange`] touches, keeps the visible `*.parquet` files (in-progress `*.parquet.tmp`
//! files are never read) and reads each footer; [`StoreFile::row_groups_matching`] keeps the
//! row groups whose statistics can hold a row the [`Filter`] wants; [`StoreFile::scan`]
//! decodes only the projected columns of those row groups and hands each batch over with
//! the indices of its matching rows. When the filter names its symbols
//! ([`Symbols::Only`], a query), the scan also reads the page index of those row groups and
//! fetches only the pages whose `Symbol` / `Exchange` statistics can hold them. [`ReadStats`] counts partitions, files, row groups
//! read and skipped, bytes read from disk and rows, with atomics, so a progress thread can
//! print it while the work runs.
//!
//! [`read_quotes`] builds on it: every (symbol, venue) quote series a filter selects, as
//! columns.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::{Array, Float64Array, RecordBatch, StringArray, TimestampNanosecondArray};
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::file::metadata::page_index::PageIndexProvider;
use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::page_index::index_reader::{decode_column_index, decode_offset_index};
use parquet::file::page_index::offset_index::OffsetIndexMetaData;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::statistics::Statistics;

use super::schema::{HOUR_NS, Kind, col, hour_of, parse_partition};

/// Rows per decoded batch.
const BATCH_ROWS: usize = 64 * 1024;

/// Read buffer for page headers and footers read through [`ChunkReader::get_read`].
const HEADER_READ_BUF: usize = 512;

/// An error reading the store, naming the path it happened on.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Listing a directory or opening / reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The Parquet or Arrow decoder refused the file.
    #[error("{path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: parquet::errors::ParquetError,
    },
    /// A column is missing or has another type than [`Kind::schema`] says.
    #[error("{path}: column {column}: {problem}")]
    Column {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Writing the rows read (an export's output) failed.
    #[error("writing the output: {0}")]
    Output(#[source] std::io::Error),
}

/// A half-open time range `[start_ns, end_ns)` in nanoseconds since the epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// First nanosecond included.
    pub start_ns: i64,
    /// First nanosecond excluded.
    pub end_ns: i64,
}

impl TimeRange {
    /// Everything.
    pub const ALL: TimeRange = TimeRange {
        start_ns: i64::MIN,
        end_ns: i64::MAX,
    };

    /// `[start_ns, end_ns)`.
    pub const fn new(start_ns: i64, end_ns: i64) -> Self {
        Self { start_ns, end_ns }
    }

    /// The hour partition `hour` (an hour number since the epoch, [`hour_of`]).
    pub const fn hour(hour: i64) -> Self {
        Self {
            start_ns: hour.saturating_mul(HOUR_NS),
            end_ns: hour.saturating_add(1).saturating_mul(HOUR_NS),
        }
    }

    /// Whether `ts_ns` is inside.
    pub const fn contains(&self, ts_ns: i64) -> bool {
        ts_ns >= self.start_ns && ts_ns < self.end_ns
    }

    /// Whether the range holds no nanosecond.
    pub const fn is_empty(&self) -> bool {
        self.end_ns <= self.start_ns
    }

    /// Whether `[min_ns, max_ns]` (both included) meets the range.
    pub const fn overlaps(&self, min_ns: i64, max_ns: i64) -> bool {
        max_ns >= self.start_ns && min_ns < self.end_ns
    }

    /// The hour partitions the range touches, first and last included; `None` if empty.
    pub const fn hours(&self) -> Option<(i64, i64)> {
        if self.is_empty() {
            return None;
        }
        Some((hour_of(self.start_ns), hour_of(self.end_ns - 1)))
    }
}

/// Which symbols a read keeps (written form, `BTC_USDT`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Symbols {
    /// Every symbol.
    #[default]
    All,
    /// Exactly these.
    Only(Vec<String>),
    /// Those in `[from, until)` in byte order; `None` is unbounded. `arb analyze` splits the
    /// symbol space into such spans to bound memory.
    Span {
        /// First symbol included.
        from: Option<String>,
        /// First symbol excluded.
        until: Option<String>,
    },
}

impl Symbols {
    /// Whether rows of `symbol` are kept.
    pub fn keeps(&self, symbol: &str) -> bool {
        match self {
            Symbols::All => true,
            Symbols::Only(list) => list.iter().any(|s| s == symbol),
            Symbols::Span { from, until } => {
                from.as_deref().is_none_or(|f| symbol >= f)
                    && until.as_deref().is_none_or(|u| symbol < u)
            }
        }
    }

    /// Whether a row group whose symbols lie in `[min, max]` (bytes, both included) may
    /// hold a kept symbol.
    pub fn may_keep(&self, min: &[u8], max: &[u8]) -> bool {
        match self {
            Symbols::All => true,
            Symbols::Only(list) => list
                .iter()
                .any(|s| s.as_bytes() >= min && s.as_bytes() <= max),
            Symbols::Span { from, until } => {
                from.as_deref().is_none_or(|f| max >= f.as_bytes())
                    && until.as_deref().is_none_or(|u| min < u.as_bytes())
            }
        }
    }
}

/// What rows a read keeps: a time range, symbols and venues. Quotes and trades only (the
/// datasets with `Symbol` and `Exchange` columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Rows whose `Timestamp` is inside.
    pub time: TimeRange,
    /// Rows of these symbols.
    pub symbols: Symbols,
    /// Rows of these venues (written form, `GateIo`); `None` keeps every venue.
    pub exchanges: Option<Vec<String>>,
}

impl Filter {
    /// Keeps every row in `time`.
    pub fn new(time: TimeRange) -> Self {
        Self {
            time,
            symbols: Symbols::All,
            exchanges: None,
        }
    }

    /// Keeps only `symbols`.
    pub fn with_symbols(mut self, symbols: Symbols) -> Self {
        self.symbols = symbols;
        self
    }

    /// Keeps only `exchanges` (written form).
    pub fn with_exchanges(mut self, exchanges: Vec<String>) -> Self {
        self.exchanges = Some(exchanges);
        self
    }

    fn keeps_exchange(&self, exchange: &str) -> bool {
        self.exchanges
            .as_ref()
            .is_none_or(|list| list.iter().any(|e| e == exchange))
    }

    fn may_keep_exchange(&self, min: &[u8], max: &[u8]) -> bool {
        self.exchanges.as_ref().is_none_or(|list| {
            list.iter()
                .any(|e| e.as_bytes() >= min && e.as_bytes() <= max)
        })
    }
}

/// One hour partition of a dataset: its directory and visible files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Hour number since the epoch ([`hour_of`]).
    pub hour: i64,
    /// `<root>/<kind>/date=YYYY-MM-DD/hour=HH`.
    pub dir: PathBuf,
    /// The `*.parquet` files in it, by name (`*.parquet.tmp` and other files are left out).
    pub files: Vec<PathBuf>,
}

/// Counters of a read, shared between the threads doing it and a progress printer.
#[derive(Debug, Default)]
pub struct ReadStats {
    /// Partitions listed in the range.
    pub partitions: AtomicU64,
    /// Files opened (footer read).
    pub files: AtomicU64,
    /// Files whose scan has finished (progress).
    pub files_done: AtomicU64,
    /// Row groups decoded.
    pub row_groups_read: AtomicU64,
    /// Row groups whose statistics ruled them out.
    pub row_groups_skipped: AtomicU64,
    /// Bytes read from disk: footers and column chunks.
    pub bytes_read: AtomicU64,
    /// Rows decoded.
    pub rows_read: AtomicU64,
    /// Rows the filter kept.
    pub rows_matched: AtomicU64,
}

impl ReadStats {
    /// The counters now.
    pub fn snapshot(&self) -> ReadCounts {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ReadCounts {
            partitions: g(&self.partitions),
            files: g(&self.files),
            files_done: g(&self.files_done),
            row_groups_read: g(&self.row_groups_read),
            row_groups_skipped: g(&self.row_groups_skipped),
            bytes_read: g(&self.bytes_read),
            rows_read: g(&self.rows_read),
            rows_matched: g(&self.rows_matched),
        }
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A copy of [`ReadStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadCounts {
    /// Partitions listed in the range.
    pub partitions: u64,
    /// Files opened.
    pub files: u64,
    /// Files whose scan has finished.
    pub files_done: u64,
    /// Row groups decoded.
    pub row_groups_read: u64,
    /// Row groups skipped by their statistics.
    pub row_groups_skipped: u64,
    /// Bytes read from disk.
    pub bytes_read: u64,
    /// Rows decoded.
    pub rows_read: u64,
    /// Rows kept.
    pub rows_matched: u64,
}

impl fmt::Display for ReadCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} partitions, {} files, {} row groups read, {} skipped, {} bytes read \
             ({:.1} MiB), {} rows decoded, {} kept",
            self.partitions,
            self.files,
            self.row_groups_read,
            self.row_groups_skipped,
            self.bytes_read,
            self.bytes_read as f64 / (1024.0 * 1024.0),
            self.rows_read,
            self.rows_matched,
        )
    }
}

/// The store under one root directory (`<root>/<kind>/date=…/hour=…/*.parquet`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// The store under `root` (nothing is read yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The partitions of `kind` whose hour `range` touches, by hour. A missing dataset
    /// directory is an empty list; directories not named `date=YYYY-MM-DD` / `hour=HH`
    /// are ignored.
    pub fn partitions(&self, kind: Kind, range: TimeRange) -> Result<Vec<Partition>, ReadError> {
        let Some((first, last)) = range.hours() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let base = self.root.join(kind.as_str());
        for (date_name, date_dir) in subdirs(&base)? {
            // Skip whole days outside the range without listing them.
            if let Some(day_start) = parse_partition(&date_name, "hour=00")
                && (day_start + 23 < first || day_start > last)
            {
                continue;
            }
            for (hour_name, hour_dir) in subdirs(&date_dir)? {
                let Some(hour) = parse_partition(&date_name, &hour_name) else {
                    continue;
                };
                if hour < first || hour > last {
                    continue;
                }
                let files = visible_files(&hour_dir)?;
                out.push(Partition {
                    hour,
                    dir: hour_dir,
                    files,
                });
            }
        }
        out.sort_by_key(|p| p.hour);
        Ok(out)
    }

    /// The latest hour of `kind` with at least one visible file, if any.
    pub fn last_hour(&self, kind: Kind) -> Result<Option<i64>, ReadError> {
        let parts = self.partitions(kind, TimeRange::ALL)?;
        Ok(parts
            .iter()
            .rev()
            .find(|p| !p.files.is_empty())
            .map(|p| p.hour))
    }

    /// The earliest and latest hour of `kind` with a visible file, if any.
    pub fn hour_span(&self, kind: Kind) -> Result<Option<(i64, i64)>, ReadError> {
        let parts = self.partitions(kind, TimeRange::ALL)?;
        let mut it = parts.iter().filter(|p| !p.files.is_empty());
        let Some(first) = it.next() else {
            return Ok(None);
        };
        Ok(Some((
            first.hour,
            it.next_back().map_or(first.hour, |p| p.hour),
        )))
    }

    /// Lists the partitions of `kind` that `range` touches and reads the footer of each
    /// visible file, counting partitions, files and footer bytes into `stats`. Files come
    /// by hour, then by name.
    pub fn open_files(
        &self,
        kind: Kind,
        range: TimeRange,
        stats: &ReadStats,
    ) -> Result<Vec<StoreFile>, ReadError> {
        let parts = self.partitions(kind, range)?;
        ReadStats::add(&stats.partitions, parts.len() as u64);
        let mut out = Vec::new();
        for p in parts {
            for path in p.files {
                out.push(StoreFile::open(&path, p.hour, stats)?);
            }
        }
        Ok(out)
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ReadError + '_ {
    move |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Subdirectories of `dir` as (name, path), by name; a missing `dir` has none.
fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, ReadError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        if !entry.file_type().map_err(io_err(dir))?.is_dir() {
            continue;
        }
        if let Ok(name) = entry.file_name().into_string() {
            out.push((name, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The `*.parquet` files of `dir` (not `*.parquet.tmp`), by name.
fn visible_files(dir: &Path) -> Result<Vec<PathBuf>, ReadError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let path = entry.path();
        let visible = path.extension().is_some_and(|e| e == "parquet")
            && entry.file_type().map_err(io_err(dir))?.is_file();
        if visible {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// A [`File`] that adds every byte read from it to a shared counter. Reads are positional
/// (`pread`), so threads scanning the same file do not share a file offset.
#[derive(Debug, Clone)]
struct CountingFile {
    file: Arc<File>,
    len: u64,
    bytes: Arc<AtomicU64>,
}

/// Reads `buf.len()` bytes or fewer at `pos` without moving any file offset.
fn read_at(file: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::read_at(file, buf, pos);
    #[cfg(windows)]
    return std::os::windows::fs::FileExt::seek_read(file, buf, pos);
}

/// A reader handed out by [`CountingFile::get_read`]: its own position, counted reads.
#[derive(Debug)]
struct CountingRead {
    file: Arc<File>,
    pos: u64,
    bytes: Arc<AtomicU64>,
}

impl Read for CountingRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = read_at(&self.file, buf, self.pos)?;
        self.pos += n as u64;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Length for CountingFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for CountingFile {
    type T = BufReader<CountingRead>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        // The page reader asks for a reader only to parse a page header (then takes the
        // page with `get_bytes`): a small buffer keeps the over-read per page small.
        Ok(BufReader::with_capacity(
            HEADER_READ_BUF,
            CountingRead {
                file: Arc::clone(&self.file),
                pos: start,
                bytes: Arc::clone(&self.bytes),
            },
        ))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buf = vec![0; length];
        let mut done = 0;
        while done < length {
            let n = read_at(&self.file, &mut buf[done..], start + done as u64)?;
            if n == 0 {
                return Err(parquet::errors::ParquetError::EOF(format!(
                    "{length} bytes at {start}: file ends after {done}"
                )));
            }
            done += n;
        }
        self.bytes.fetch_add(length as u64, Ordering::Relaxed);
        Ok(Bytes::from(buf))
    }
}

/// The page index entries a query needs, by (row group, leaf column).
#[derive(Debug, Default)]
struct SelectedPageIndex {
    column: HashMap<(usize, usize), ColumnIndexMetaData>,
    offset: HashMap<(usize, usize), OffsetIndexMetaData>,
}

impl PageIndexProvider for SelectedPageIndex {
    fn has_offset_indexes(&self) -> bool {
        !self.offset.is_empty()
    }

    fn has_column_indexes(&self) -> bool {
        !self.column.is_empty()
    }

    fn column_index(
        &self,
        row_group_idx: usize,
        column_idx: usize,
    ) -> Option<&ColumnIndexMetaData> {
        self.column.get(&(row_group_idx, column_idx))
    }

    fn offset_index(
        &self,
        row_group_idx: usize,
        column_idx: usize,
    ) -> Option<&OffsetIndexMetaData> {
        self.offset.get(&(row_group_idx, column_idx))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Leaf column indices of the filter columns, where the file has them.
#[derive(Debug, Clone, Copy)]
struct FilterColumns {
    timestamp: Option<usize>,
    symbol: Option<usize>,
    exchange: Option<usize>,
}

/// One visible Parquet file of the store with its footer read.
#[derive(Debug, Clone)]
pub struct StoreFile {
    path: PathBuf,
    hour: i64,
    reader: CountingFile,
    meta: ArrowReaderMetadata,
    cols: FilterColumns,
}

impl StoreFile {
    /// Opens `path` (of partition `hour`) and reads its footer, counting one file and the
    /// footer's bytes into `stats`.
    pub fn open(path: &Path, hour: i64, stats: &ReadStats) -> Result<Self, ReadError> {
        let file = File::open(path).map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        let reader = CountingFile {
            file: Arc::new(file),
            len,
            bytes: Arc::new(AtomicU64::new(0)),
        };
        let meta =
            ArrowReaderMetadata::load(&reader, ArrowReaderOptions::new()).map_err(|source| {
                ReadError::Parquet {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        let footer = reader.bytes.swap(0, Ordering::Relaxed);
        ReadStats::add(&stats.bytes_read, footer);
        ReadStats::add(&stats.files, 1);
        let leaf = |name: &str| {
            meta.parquet_schema()
                .columns()
                .iter()
                .position(|c| c.name() == name)
        };
        let cols = FilterColumns {
            timestamp: leaf(col::TIMESTAMP),
            symbol: leaf(col::SYMBOL),
            exchange: leaf(col::EXCHANGE),
        };
        Ok(Self {
            path: path.to_path_buf(),
            hour,
            reader,
            meta,
            cols,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hour partition the file is in.
    pub fn hour(&self) -> i64 {
        self.hour
    }

    /// The Parquet footer.
    pub fn metadata(&self) -> &ParquetMetaData {
        self.meta.metadata()
    }

    /// Row groups in the file.
    pub fn num_row_groups(&self) -> usize {
        self.metadata().num_row_groups()
    }

    /// The `Symbol` statistics of row group `rg`: `[min, max]` bytes, when written.
    pub fn symbol_bounds(&self, rg: usize) -> Option<(&[u8], &[u8])> {
        let stats = self
            .metadata()
            .row_group(rg)
            .column(self.cols.symbol?)
            .statistics()?;
        Some((stats.min_bytes_opt()?, stats.max_bytes_opt()?))
    }

    /// The row groups whose statistics say they may hold a row `filter` keeps (all of them
    /// where statistics are missing).
    pub fn row_groups_matching(&self, filter: &Filter) -> Vec<usize> {
        self.metadata()
            .row_groups()
            .iter()
            .enumerate()
            .filter(|(_, rg)| self.may_match(rg, filter))
            .map(|(i, _)| i)
            .collect()
    }

    fn may_match(&self, rg: &RowGroupMetaData, filter: &Filter) -> bool {
        if let Some(i) = self.cols.timestamp
            && let Some(Statistics::Int64(s)) = rg.column(i).statistics()
            && let (Some(min), Some(max)) = (s.min_opt(), s.max_opt())
            && !filter.time.overlaps(*min, *max)
        {
            return false;
        }
        let bytes = |i: Option<usize>| {
            let s = rg.column(i?).statistics()?;
            Some((s.min_bytes_opt()?, s.max_bytes_opt()?))
        };
        if let Some((min, max)) = bytes(self.cols.symbol)
            && !filter.symbols.may_keep(min, max)
        {
            return false;
        }
        if let Some((min, max)) = bytes(self.cols.exchange)
            && !filter.may_keep_exchange(min, max)
        {
            return false;
        }
        true
    }

    /// Decodes `columns` (plus `Timestamp`, `Symbol` and `Exchange`, which the filter
    /// needs) of `row_groups` and calls `f` with each batch and the indices of the rows
    /// `filter` keeps (in file order; batches with no kept row are not passed). Counts row
    /// groups (read, and skipped = the file's others), bytes and rows into `stats`, and the
    /// file as done at the end.
    pub fn scan(
        &self,
        filter: &Filter,
        columns: &[&str],
        row_groups: &[usize],
        stats: &ReadStats,
        mut f: impl FnMut(&RecordBatch, &[u32]) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        let parquet_err = |source| ReadError::Parquet {
            path: self.path.clone(),
            source,
        };
        let skipped = self.num_row_groups().saturating_sub(row_groups.len());
        ReadStats::add(&stats.row_groups_skipped, skipped as u64);
        if !row_groups.is_empty() {
            for c in [col::TIMESTAMP, col::SYMBOL, col::EXCHANGE] {
                if self.meta.schema().field_with_name(c).is_err() {
                    return Err(self.column_err(c, "missing"));
                }
            }
            let names = columns
                .iter()
                .copied()
                .chain([col::TIMESTAMP, col::SYMBOL, col::EXCHANGE]);
            let mask = ProjectionMask::columns(self.meta.parquet_schema(), names);
            // A few symbols: narrow the row groups to the pages that can hold them.
            let paged = match filter.symbols {
                Symbols::Only(_) => self.page_selection(filter, row_groups, &mask)?,
                _ => None,
            };
            let (meta, selection) = match paged {
                Some((meta, selection)) => (meta, Some(selection)),
                None => (self.meta.clone(), None),
            };
            let mut builder =
                ParquetRecordBatchReaderBuilder::new_with_metadata(self.reader.clone(), meta)
                    .with_projection(mask)
                    .with_row_groups(row_groups.to_vec())
                    .with_batch_size(BATCH_ROWS);
            if let Some(selection) = selection {
                builder = builder.with_row_selection(selection);
            }
            let reader = builder.build().map_err(parquet_err)?;
            ReadStats::add(&stats.row_groups_read, row_groups.len() as u64);
            let mut keep = Vec::with_capacity(BATCH_ROWS);
            for batch in reader {
                let batch = batch.map_err(|e| parquet_err(e.into()))?;
                ReadStats::add(
                    &stats.bytes_read,
                    self.reader.bytes.swap(0, Ordering::Relaxed),
                );
                ReadStats::add(&stats.rows_read, batch.num_rows() as u64);
                self.matching_rows(&batch, filter, &mut keep)?;
                if keep.is_empty() {
                    continue;
                }
                ReadStats::add(&stats.rows_matched, keep.len() as u64);
                f(&batch, &keep)?;
            }
            ReadStats::add(
                &stats.bytes_read,
                self.reader.bytes.swap(0, Ordering::Relaxed),
            );
        }
        ReadStats::add(&stats.files_done, 1);
        Ok(())
    }

    /// Reads the page index of `row_groups` (column index of `Symbol` and `Exchange`,
    /// offset index of the projected columns) and selects the rows of the pages whose
    /// statistics may hold a row `filter` keeps; the reader then fetches only the pages
    /// those rows are in. `None` when the file has no page index for these columns.
    fn page_selection(
        &self,
        filter: &Filter,
        row_groups: &[usize],
        projection: &ProjectionMask,
    ) -> Result<Option<(ArrowReaderMetadata, RowSelection)>, ReadError> {
        let parquet_err = |source| ReadError::Parquet {
            path: self.path.clone(),
            source,
        };
        let (Some(sym), Some(exch)) = (self.cols.symbol, self.cols.exchange) else {
            return Ok(None);
        };
        let leaves: Vec<usize> = (0..self.meta.parquet_schema().num_columns())
            .filter(|&i| projection.leaf_included(i))
            .collect();
        // Exactly the index entries needed, one small read each: the file's page index is
        // laid out column index for every chunk, then offset index for every chunk, so one
        // covering range (what `ParquetMetaDataReader` fetches) is most of it.
        let mut index = SelectedPageIndex::default();
        for &rg in row_groups {
            let meta = self.metadata().row_group(rg);
            for c in [sym, exch] {
                let chunk = meta.column(c);
                if let Some(range) = chunk.column_index_range() {
                    let bytes = self.index_bytes(range)?;
                    let ci =
                        decode_column_index(&bytes, chunk.column_type()).map_err(parquet_err)?;
                    index.column.insert((rg, c), ci);
                }
            }
            for &c in &leaves {
                if let Some(range) = meta.column(c).offset_index_range() {
                    let bytes = self.index_bytes(range)?;
                    let oi = decode_offset_index(&bytes).map_err(parquet_err)?;
                    index.offset.insert((rg, c), oi);
                }
            }
        }
        if index.column.is_empty() || index.offset.len() != row_groups.len() * leaves.len() {
            return Ok(None);
        }
        let md = self
            .metadata()
            .clone()
            .into_builder()
            .set_page_index(Some(Arc::new(index)))
            .build();
        let mut selectors: Vec<RowSelector> = Vec::new();
        for &rg in row_groups {
            let rows = usize::try_from(md.row_group(rg).num_rows()).unwrap_or(0);
            let pages = |c: usize, keep: &dyn Fn(&[u8], &[u8]) -> bool| {
                let index = md.page_index_for_row_group(rg);
                let (Some(ColumnIndexMetaData::BYTE_ARRAY(ci)), Some(oi)) =
                    (index.column_index(c), index.offset_index(c))
                else {
                    return vec![(0, true)];
                };
                let locs = oi.page_locations();
                if ci.num_pages() as usize != locs.len() {
                    return vec![(0, true)];
                }
                locs.iter()
                    .enumerate()
                    .map(|(p, loc)| {
                        let may = match (ci.min_value(p), ci.max_value(p)) {
                            (Some(min), Some(max)) => keep(min, max),
                            _ => true,
                        };
                        (usize::try_from(loc.first_row_index).unwrap_or(0), may)
                    })
                    .collect::<Vec<_>>()
            };
            let by_symbol = pages(sym, &|min, max| filter.symbols.may_keep(min, max));
            let by_exchange = pages(exch, &|min, max| filter.may_keep_exchange(min, max));
            let mut cuts: Vec<usize> = by_symbol
                .iter()
                .chain(&by_exchange)
                .map(|p| p.0)
                .filter(|&r| r < rows)
                .chain([0])
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            let may = |pages: &[(usize, bool)], row: usize| {
                let k = pages.partition_point(|p| p.0 <= row);
                k == 0 || pages[k - 1].1
            };
            for (k, &start) in cuts.iter().enumerate() {
                let end = cuts.get(k + 1).copied().unwrap_or(rows);
                let keep = may(&by_symbol, start) && may(&by_exchange, start);
                match selectors.last_mut() {
                    Some(last) if last.skip != keep => last.row_count += end - start,
                    _ if keep => selectors.push(RowSelector::select(end - start)),
                    _ => selectors.push(RowSelector::skip(end - start)),
                }
            }
        }
        let meta = ArrowReaderMetadata::try_new(Arc::new(md), ArrowReaderOptions::new())
            .map_err(parquet_err)?;
        Ok(Some((meta, RowSelection::from(selectors))))
    }

    fn index_bytes(&self, range: std::ops::Range<u64>) -> Result<Bytes, ReadError> {
        let len = usize::try_from(range.end.saturating_sub(range.start)).unwrap_or(0);
        self.reader
            .get_bytes(range.start, len)
            .map_err(|source| ReadError::Parquet {
                path: self.path.clone(),
                source,
            })
    }

    fn matching_rows(
        &self,
        batch: &RecordBatch,
        filter: &Filter,
        keep: &mut Vec<u32>,
    ) -> Result<(), ReadError> {
        keep.clear();
        let ts = self.ts_column(batch, col::TIMESTAMP)?.values();
        let sym = self.str_column(batch, col::SYMBOL)?;
        let exch = self.str_column(batch, col::EXCHANGE)?;
        // Rows are sorted by symbol then venue: decide once per run of equal names.
        let (mut last_sym, mut sym_ok) = ("", false);
        let (mut last_exch, mut exch_ok) = ("", false);
        let mut first = true;
        for (i, &t) in ts.iter().enumerate() {
            let s = sym.value(i);
            let e = exch.value(i);
            if first || s != last_sym {
                last_sym = s;
                sym_ok = filter.symbols.keeps(s);
            }
            if first || e != last_exch {
                last_exch = e;
                exch_ok = filter.keeps_exchange(e);
            }
            first = false;
            if sym_ok && exch_ok && filter.time.contains(t) {
                keep.push(i as u32);
            }
        }
        Ok(())
    }

    fn column_err(&self, column: &str, problem: &'static str) -> ReadError {
        ReadError::Column {
            path: self.path.clone(),
            column: column.to_owned(),
            problem,
        }
    }

    /// Column `name` of `batch` as `timestamp[ns]`.
    pub fn ts_column<'b>(
        &self,
        batch: &'b RecordBatch,
        name: &str,
    ) -> Result<&'b TimestampNanosecondArray, ReadError> {
        self.column(batch, name, "not timestamp[ns]")
    }

    /// Column `name` of `batch` as UTF-8 strings.
    pub fn str_column<'b>(
        &self,
        batch: &'b RecordBatch,
        name: &str,
    ) -> Result<&'b StringArray, ReadError> {
        self.column(batch, name, "not utf8")
    }

    /// Column `name` of `batch` as `float64`.
    pub fn f64_column<'b>(
        &self,
        batch: &'b RecordBatch,
        name: &str,
    ) -> Result<&'b Float64Array, ReadError> {
        self.column(batch, name, "not float64")
    }

    fn column<'b, A: Array + 'static>(
        &self,
        batch: &'b RecordBatch,
        name: &str,
        problem: &'static str,
    ) -> Result<&'b A, ReadError> {
        batch
            .column_by_name(name)
            .ok_or_else(|| self.column_err(name, "missing"))?
            .as_any()
            .downcast_ref::<A>()
            .ok_or_else(|| self.column_err(name, problem))
    }
}

/// The quotes of one (symbol, venue), as columns sorted by `Timestamp`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuoteSeries {
    /// `BTC_USDT`.
    pub symbol: String,
    /// `GateIo`.
    pub exchange: String,
    /// Receive times, ns since the epoch, ascending.
    pub ts_ns: Vec<i64>,
    /// Best bids.
    pub bid: Vec<f64>,
    /// Best asks (empty unless asked for).
    pub ask: Vec<f64>,
}

impl QuoteSeries {
    /// Sorts by timestamp (stable: equal times keep file order), if not sorted yet. Files
    /// are sorted inside; a series spanning several files of one hour may not be.
    fn sort_by_time(&mut self) {
        if self.ts_ns.is_sorted() {
            return;
        }
        let mut order: Vec<usize> = (0..self.ts_ns.len()).collect();
        order.sort_by_key(|&i| self.ts_ns[i]);
        self.ts_ns = order.iter().map(|&i| self.ts_ns[i]).collect();
        self.bid = order.iter().map(|&i| self.bid[i]).collect();
        if !self.ask.is_empty() {
            self.ask = order.iter().map(|&i| self.ask[i]).collect();
        }
    }
}

/// Reads every (symbol, venue) quote series of `files` that `filter` keeps: `Timestamp`,
/// `BestBid` and, with `with_ask`, `BestAsk` (no other column is decoded). Series come
/// sorted by (symbol, venue), each sorted by time.
pub fn read_quotes(
    files: &[StoreFile],
    filter: &Filter,
    with_ask: bool,
    stats: &ReadStats,
) -> Result<Vec<QuoteSeries>, ReadError> {
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut series: Vec<QuoteSeries> = Vec::new();
    let columns: &[&str] = if with_ask {
        &[col::BEST_BID, col::BEST_ASK]
    } else {
        &[col::BEST_BID]
    };
    for file in files {
        let groups = file.row_groups_matching(filter);
        file.scan(filter, columns, &groups, stats, |batch, rows| {
            let ts = file.ts_column(batch, col::TIMESTAMP)?.values();
            let sym = file.str_column(batch, col::SYMBOL)?;
            let exch = file.str_column(batch, col::EXCHANGE)?;
            let bid = file.f64_column(batch, col::BEST_BID)?.values();
            let ask = if with_ask {
                Some(file.f64_column(batch, col::BEST_ASK)?.values())
            } else {
                None
            };
            let mut cur: Option<usize> = None;
            for &r in rows {
                let r = r as usize;
                let (s, e) = (sym.value(r), exch.value(r));
                let slot = match cur {
                    Some(k) if series[k].symbol == s && series[k].exchange == e => k,
                    _ => {
                        let key = (s.to_owned(), e.to_owned());
                        let k = *index.entry(key).or_insert_with(|| {
                            series.push(QuoteSeries {
                                symbol: s.to_owned(),
                                exchange: e.to_owned(),
                                ..QuoteSeries::default()
                            });
                            series.len() - 1
                        });
                        cur = Some(k);
                        k
                    }
                };
                let out = &mut series[slot];
                out.ts_ns.push(ts[r]);
                out.bid.push(bid[r]);
                if let Some(ask) = ask {
                    out.ask.push(ask[r]);
                }
            }
            Ok(())
        })?;
    }
    for s in &mut series {
        s.sort_by_time();
    }
    series.sort_by(|a, b| (&a.symbol, &a.exchange).cmp(&(&b.symbol, &b.exchange)));
    Ok(series)
}
