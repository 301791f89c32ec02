#!/usr/bin/env python3
"""How much of a store a reader filtering one symbol can skip, from the files' own
statistics (what DuckDB, pyarrow and arb query prune by), and DuckDB's time for the filtered
query vs a full scan.

usage: benches/store_pruning.py STORE [SYMBOL]   (default: the first symbol of the first file)
"""
import glob
import os
import sys
import time

import duckdb
import pyarrow.parquet as pq

store = sys.argv[1]
files = sorted(glob.glob(os.path.join(store, "quotes", "date=*", "hour=*", "*.parquet")))
if not files:
    sys.exit(f"no quote files under {store}")
symbol = sys.argv[2] if len(sys.argv) > 2 else pq.read_table(files[0], columns=["Symbol"])["Symbol"][0].as_py()

groups = groups_hit = rows = rows_hit = 0
bytes_all = bytes_hit = 0
for f in files:
    md = pq.ParquetFile(f).metadata
    sym = md.schema.to_arrow_schema().get_field_index("Symbol")
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        st = rg.column(sym).statistics
        size = sum(rg.column(j).total_compressed_size for j in range(rg.num_columns))
        groups += 1
        rows += rg.num_rows
        bytes_all += size
        if st is None or not st.has_min_max or st.min <= symbol <= st.max:
            groups_hit += 1
            rows_hit += rg.num_rows
            bytes_hit += size

con = duckdb.connect()
glob_ = os.path.join(store, "quotes", "**", "*.parquet")
t = time.perf_counter()
n_all = con.execute(f"select count(*), sum(BestBid) from read_parquet('{glob_}')").fetchone()[0]
t_all = time.perf_counter() - t
t = time.perf_counter()
n_sym = con.execute(
    f"select count(*), sum(BestBid) from read_parquet('{glob_}') where Symbol = ?", [symbol]
).fetchone()[0]
t_sym = time.perf_counter() - t
print(f"quotes: {len(files)} files, {groups} row groups, {rows} rows, {bytes_all / 2**20:.1f} MiB")
print(f"filter Symbol = {symbol}: {n_sym} rows; row groups that may hold it {groups_hit}/{groups} "
      f"({100 * groups_hit / groups:.1f} %), their bytes {bytes_hit / 2**20:.1f} MiB "
      f"({100 * bytes_hit / bytes_all:.1f} %)")
print(f"duckdb: full scan sum(BestBid) {t_all * 1e3:.0f} ms, filtered {t_sym * 1e3:.0f} ms")
