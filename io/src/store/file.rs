//! Files of the store: the root and its lock, writing one sorted buffer as a Parquet file
//! under a temporary name and publishing it by rename, and the start-up scan that removes
//! what a killed process left half-written.
//!
//! A visible `*.parquet` is always complete: it gets its name only after its footer is
//! written and (by default) synced to disk, and the directory entry is synced after the
//! rename. Anything still called `*.parquet.tmp` was being written when the process died;
//! its rows were only in memory, so it is removed at the next start.

use std::fs::{self, File};
use std::io::{BufWriter, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::rows::{Names, Rows, Sorter, record_batch};
use super::schema::{Kind, col, partition_dir};

/// Name of the lock file that keeps two processes from writing one store.
pub const LOCK_FILE: &str = ".arb-store.lock";
/// Suffix of a file being written.
pub const TMP_SUFFIX: &str = ".parquet.tmp";

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The root cannot be created or written.
    #[error("store root {path}: {source} (is the path right, and writable by this user?)")]
    Root {
        /// The root.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another process holds the store's lock.
    #[error(
        "store root {path} is in use by another arb process (lock file {LOCK_FILE}); give each process its own --store directory"
    )]
    Locked {
        /// The root.
        path: PathBuf,
    },
    /// Writing a file failed (disk full, permissions, ...).
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The Parquet encoder failed.
    #[error("encoding {path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: parquet::errors::ParquetError,
    },
}

/// What the start-up scan found.
#[derive(Debug, Default, Clone)]
pub struct Recovery {
    /// Complete files already in the store.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Half-written files removed.
    pub temps_removed: u64,
    /// Their bytes.
    pub temp_bytes: u64,
    /// Visible files without a Parquet footer (not written by arb's rename protocol); left
    /// in place and listed so the operator can look.
    pub invalid: Vec<PathBuf>,
}

impl std::fmt::Display for Recovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} complete files ({:.1} MiB)",
            self.files,
            self.bytes as f64 / (1 << 20) as f64
        )?;
        if self.temps_removed > 0 {
            write!(
                f,
                "; removed {} half-written files ({:.1} MiB) left by a process that did not exit cleanly",
                self.temps_removed,
                self.temp_bytes as f64 / (1 << 20) as f64
            )?;
        }
        if !self.invalid.is_empty() {
            write!(
                f,
                "; {} files without a Parquet footer:",
                self.invalid.len()
            )?;
            for p in self.invalid.iter().take(5) {
                write!(f, " {}", p.display())?;
            }
        }
        Ok(())
    }
}

/// File layout knobs.
#[derive(Debug, Clone)]
pub struct FileConfig {
    /// Rows per row group (the unit a reader skips by statistics).
    pub row_group_rows: usize,
    /// zstd level (1 = fastest).
    pub zstd_level: i32,
    /// `fsync` each file and its directory before and after the rename.
    pub sync: bool,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            row_group_rows: 64 * 1024,
            zstd_level: 1,
            sync: true,
        }
    }
}

/// A file the store published.
#[derive(Debug, Clone)]
pub struct Written {
    /// Its path.
    pub path: PathBuf,
    /// Rows in it.
    pub rows: u64,
    /// Bytes on disk.
    pub bytes: u64,
}

/// An open store root: holds the lock, names files, writes them.
#[derive(Debug)]
pub struct StoreFiles {
    root: PathBuf,
    config: FileConfig,
    /// Identifies this process's files: its start time, UTC.
    run: String,
    seq: u64,
    sorter: Sorter,
    props: [WriterProperties; 5],
    _lock: File,
}

impl StoreFiles {
    /// Opens (creating) the root, takes its lock, removes half-written files and checks
    /// the rest; `started_ns` names this run's files.
    ///
    /// # Errors
    /// [`StoreError::Root`] if the root cannot be created or written,
    /// [`StoreError::Locked`] if another process writes it.
    pub fn open(
        root: &Path,
        config: FileConfig,
        started_ns: i64,
    ) -> Result<(Self, Recovery), StoreError> {
        let root_err = |source| StoreError::Root {
            path: root.to_path_buf(),
            source,
        };
        fs::create_dir_all(root).map_err(root_err)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join(LOCK_FILE))
            .map_err(root_err)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: root.to_path_buf(),
                });
            }
            Err(fs::TryLockError::Error(e)) => return Err(root_err(e)),
        }
        // Writable? (The lock file may have existed and opened read-write on a read-only
        // mount that refuses new files.)
        let probe = root.join(".arb-store.probe");
        fs::write(&probe, b"").map_err(root_err)?;
        let _ = fs::remove_file(&probe);
        let recovery = scan(root).map_err(root_err)?;
        let props = Kind::ALL.map(|k| properties(k, &config));
        Ok((
            StoreFiles {
                root: root.to_path_buf(),
                config,
                run: run_name(started_ns),
                seq: 0,
                sorter: Sorter::default(),
                props,
                _lock: lock,
            },
            recovery,
        ))
    }

    /// The root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Sorts `rows` (all stamped within `hour`) and writes them as one file of their
    /// kind's dataset, published by rename once complete.
    ///
    /// # Errors
    /// [`StoreError::Io`] / [`StoreError::Parquet`]; the temporary file is removed.
    pub fn write<R: Rows>(
        &mut self,
        rows: &R,
        hour: i64,
        names: &Names,
    ) -> Result<Written, StoreError> {
        let dir = self.root.join(R::KIND.as_str()).join(partition_dir(hour));
        self.seq += 1;
        let name = format!("part-{}-{:06}.parquet", self.run, self.seq);
        let path = dir.join(&name);
        let tmp = dir.join(format!("{name}.tmp"));
        let result = self.write_tmp(rows, names, &dir, &tmp);
        let bytes = match result {
            Ok(bytes) => bytes,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let io = |source| StoreError::Io {
            path: path.clone(),
            source,
        };
        fs::rename(&tmp, &path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io(e)
        })?;
        if self.config.sync {
            File::open(&dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        Ok(Written {
            path,
            rows: rows.len() as u64,
            bytes,
        })
    }

    fn write_tmp<R: Rows>(
        &mut self,
        rows: &R,
        names: &Names,
        dir: &Path,
        tmp: &Path,
    ) -> Result<u64, StoreError> {
        let io = |source| StoreError::Io {
            path: tmp.to_path_buf(),
            source,
        };
        let pq = |source| StoreError::Parquet {
            path: tmp.to_path_buf(),
            source,
        };
        fs::create_dir_all(dir).map_err(io)?;
        let file = File::create(tmp).map_err(io)?;
        let mut writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, file),
            R::KIND.schema(),
            Some(self.props[R::KIND.index()].clone()),
        )
        .map_err(pq)?;
        rows.sort(names, &mut self.sorter);
        for chunk in self.sorter.perm.chunks(self.config.row_group_rows.max(1)) {
            let batch = record_batch(rows, names, chunk)
                .map_err(|e| pq(parquet::errors::ParquetError::ArrowError(e.to_string())))?;
            writer.write(&batch).map_err(pq)?;
            writer.flush().map_err(pq)?;
        }
        let buf = writer.into_inner().map_err(pq)?;
        let file = buf.into_inner().map_err(|e| io(e.into_error()))?;
        if self.config.sync {
            file.sync_all().map_err(io)?;
        }
        Ok(file.metadata().map_err(io)?.len())
    }
}

/// `YYYYMMDDTHHMMSSZ` of `ns`, so a store's files sort by the run that wrote them.
fn run_name(ns: i64) -> String {
    let s = ns.div_euclid(1_000_000_000);
    let (y, m, d) = super::schema::civil_from_days(s.div_euclid(86_400));
    let t = s.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// Float columns that repeat enough for a dictionary.
const DICTIONARY_FLOATS: [&str; 4] = [
    col::BEST_BID,
    col::BEST_ASK,
    col::SPREAD_PERCENTAGE,
    col::PRICE,
];

/// Writer settings per dataset: zstd; dictionaries for the names and prices; delta encoding for
/// timestamps, byte-stream-split for prices (both compress far better under zstd than
/// plain); page statistics and the page index, so readers skip pages as well as row
/// groups; the sort order recorded in the footer.
fn properties(kind: Kind, config: &FileConfig) -> WriterProperties {
    let schema = kind.schema();
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(config.zstd_level).unwrap_or_default(),
        ))
        .set_max_row_group_row_count(Some(config.row_group_rows.max(1)))
        .set_data_page_row_count_limit(8 * 1024)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(false)
        .set_created_by(format!("arb {}", env!("CARGO_PKG_VERSION")));
    for f in schema.fields() {
        let path = ColumnPath::from(f.name().as_str());
        b = match f.data_type() {
            arrow_schema::DataType::Utf8 => b.set_column_dictionary_enabled(path, true),
            arrow_schema::DataType::Timestamp(..) | arrow_schema::DataType::Int64 => {
                b.set_column_encoding(path, Encoding::DELTA_BINARY_PACKED)
            }
            // Prices repeat (they move in ticks): a dictionary per column chunk codes them
            // in a few bits (BestBid 4.2 -> 1.4 B/row on generated data). Sizes and
            // derived spreads rarely repeat: byte-stream-split, then zstd.
            arrow_schema::DataType::Float64 if DICTIONARY_FLOATS.contains(&f.name().as_str()) => {
                b.set_column_dictionary_enabled(path, true)
            }
            arrow_schema::DataType::Float64 => {
                b.set_column_encoding(path, Encoding::BYTE_STREAM_SPLIT)
            }
            _ => b,
        };
    }
    let sorting = kind
        .sort_columns()
        .iter()
        .filter_map(|c| schema.index_of(c).ok())
        .map(|i| SortingColumn {
            column_idx: i as i32,
            descending: false,
            nulls_first: false,
        })
        .collect();
    b.set_sorting_columns(Some(sorting)).build()
}

/// Walks `<root>/<kind>/date=*/hour=*/`: removes `*.parquet.tmp`, counts the complete
/// files and checks each ends in a Parquet footer.
fn scan(root: &Path) -> std::io::Result<Recovery> {
    let mut r = Recovery::default();
    for kind in Kind::ALL {
        let base = root.join(kind.as_str());
        for date in read_dirs(&base)? {
            for hour in read_dirs(&date)? {
                for entry in fs::read_dir(&hour)? {
                    let entry = entry?;
                    let path = entry.path();
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    let len = entry.metadata()?.len();
                    if name.ends_with(TMP_SUFFIX) {
                        fs::remove_file(&path)?;
                        r.temps_removed += 1;
                        r.temp_bytes += len;
                    } else if name.ends_with(".parquet") {
                        r.files += 1;
                        r.bytes += len;
                        if !has_footer(&path)? {
                            r.invalid.push(path);
                        }
                    }
                }
            }
        }
    }
    Ok(r)
}

fn read_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e?;
        if e.file_type()?.is_dir() {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

/// `true` if the file starts and ends with the Parquet magic `PAR1`.
fn has_footer(path: &Path) -> std::io::Result<bool> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    if len < 12 {
        return Ok(false);
    }
    let mut head = [0u8; 4];
    f.read_exact(&mut head)?;
    let mut tail = [0u8; 4];
    f.seek(SeekFrom::End(-4))?;
    f.read_exact(&mut tail)?;
    Ok(&head == b"PAR1" && &tail == b"PAR1")
}
