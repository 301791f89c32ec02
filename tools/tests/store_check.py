#!/usr/bin/env python3
"""Reads an arb Parquet store with pyarrow AND DuckDB and checks it against the replay's
report and the decoder's own output (`arb decode --capture`), independently of arb's code.

usage: store_check.py STORE REPORT_JSON DECODED_JSONL
       store_check.py --valid-only STORE     (every visible file opens; print row counts)
       store_check.py --per-venue STORE      (rows per kind per venue, as JSON)
       store_check.py --several ROOT         (every store under ROOT/*/ in one DuckDB query
                                              per kind, the README's SQL: rows per store)
Exit 0 when every check passes; otherwise prints what failed and exits 1.
"""
import collections
import glob
import json
import math
import os
import sys

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq

KINDS = ["quotes", "trades", "spreads", "signals", "gaps"]
VENUES = {"binance": "Binance", "bybit": "Bybit", "mexc": "MEXC", "gateio": "GateIo",
          "kucoin": "Kucoin", "okx": "OKX", "bitget": "Bitget", "bingx": "BingX"}
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def files(store, kind):
    return sorted(glob.glob(os.path.join(store, kind, "date=*", "hour=*", "*.parquet")))


def valid_only(store):
    """Every visible file opens in DuckDB and pyarrow; prints rows per kind and max time."""
    con = duckdb.connect()
    out = {}
    for kind in KINDS:
        fs = files(store, kind)
        for f in fs:
            pq.ParquetFile(f).metadata  # raises on a broken footer
            con.execute("select count(*) from read_parquet(?)", [f]).fetchone()
        if fs:
            n, t = con.execute(
                "select count(*), epoch_ns(max(Timestamp)) from read_parquet(?)", [fs]
            ).fetchone()
        else:
            n, t = 0, None
        out[kind] = {"files": len(fs), "rows": n, "max_ts_ns": t}
    tmp = glob.glob(os.path.join(store, "*", "date=*", "hour=*", "*.tmp"))
    out["tmp_files"] = len(tmp)
    print(json.dumps(out))


def full(store, report_path, decoded_path):
    report = json.load(open(report_path))
    con = duckdb.connect()
    written = report["rows_written"]
    for kind in KINDS:
        fs = files(store, kind)
        n_arrow = ds.dataset(os.path.join(store, kind), format="parquet",
                             partitioning="hive").count_rows() if fs else 0
        n_duck = con.execute(
            f"select count(*) from read_parquet('{store}/{kind}/**/*.parquet', hive_partitioning=true)"
        ).fetchone()[0] if fs else 0
        check(n_arrow == written[kind], f"{kind}: pyarrow {n_arrow} rows, report {written[kind]}")
        check(n_duck == written[kind], f"{kind}: duckdb {n_duck} rows, report {written[kind]}")
    check(written["quotes"] == report["quotes"], "quotes written != quotes decoded")
    check(written["trades"] == report["trades"], "trades written != trades decoded")
    check(written["signals"] == report["signals"], "signals written != signals raised")
    check(written["gaps"] == report["gaps"], "gaps written != gaps recorded")

    # Partitions agree with the rows' own time (DuckDB reads the hive columns).
    bad = con.execute(f"""
        select count(*) from read_parquet('{store}/quotes/**/*.parquet', hive_partitioning=true)
        where strftime(Timestamp at time zone 'UTC', '%Y-%m-%d') != cast(date as varchar)
           or cast(hour as integer) != hour(Timestamp at time zone 'UTC')""").fetchone()[0]
    check(bad == 0, f"{bad} quote rows in the wrong date/hour partition")

    # Quotes and trades equal what the decoder produces from the same capture.
    want_q, want_t = collections.Counter(), collections.Counter()
    for line in open(decoded_path):
        e = json.loads(line)
        sym = e.get("symbol", "").replace("/", "_")
        if e["type"] == "quote":
            want_q[(VENUES[e["exchange"]], sym, e["recv_ts_ns"], e["bid"], e["ask"],
                    e["bid_qty"], e["ask_qty"])] += 1
        elif e["type"] == "trade":
            want_t[(VENUES[e["exchange"]], sym, e["recv_ts_ns"], e["price"], e["qty"],
                    e["side"].capitalize())] += 1
    q = ds.dataset(os.path.join(store, "quotes"), format="parquet", partitioning="hive").to_table()
    got_q = collections.Counter(zip(
        q["Exchange"].to_pylist(), q["Symbol"].to_pylist(),
        [t.value for t in q["Timestamp"]],
        q["BestBid"].to_pylist(), q["BestAsk"].to_pylist(),
        q["BidSize"].to_pylist(), q["AskSize"].to_pylist()))
    check(got_q == want_q, f"quotes differ from the decoder's: {len(got_q - want_q)} extra, "
          f"{len(want_q - got_q)} missing; e.g. {list((want_q - got_q).items())[:2]}")
    spread_ok = all(math.isclose(s, (a - b) / a * 100, rel_tol=1e-12, abs_tol=1e-15)
                    for s, a, b in zip(q["SpreadPercentage"].to_pylist(),
                                       q["BestAsk"].to_pylist(), q["BestBid"].to_pylist()))
    check(spread_ok, "SpreadPercentage != (ask - bid) / ask * 100")
    t = ds.dataset(os.path.join(store, "trades"), format="parquet", partitioning="hive").to_table()
    got_t = collections.Counter(zip(
        t["Exchange"].to_pylist(), t["Symbol"].to_pylist(), [x.value for x in t["Timestamp"]],
        t["Price"].to_pylist(), t["Quantity"].to_pylist(), t["Side"].to_pylist()))
    check(got_t == want_t, f"trades differ from the decoder's: {len(got_t - want_t)} extra, "
          f"{len(want_t - got_t)} missing")

    # Inside each file rows are sorted by Symbol, Exchange, Timestamp (pruning layout).
    for f in files(store, "quotes"):
        tb = pq.read_table(f, columns=["Symbol", "Exchange", "Timestamp"])
        keys = list(zip(tb["Symbol"].to_pylist(), tb["Exchange"].to_pylist(),
                        [x.value for x in tb["Timestamp"]]))
        check(keys == sorted(keys), f"{f}: rows not sorted by Symbol, Exchange, Timestamp")

    # Spreads: at most one row per pair per second (spread_sample_ms 1000), the deviation's
    # sign convention, and DuckDB and pyarrow agree on a sum.
    dup = con.execute(f"""
        select count(*) from (select Symbol, Exchange1, Exchange2,
               epoch_ns(Timestamp) // 1000000000 as s, count(*) as n
        from read_parquet('{store}/spreads/**/*.parquet') group by all having n > 1)""").fetchone()[0]
    check(dup == 0, f"{dup} (pair, second) buckets with more than one spread row")
    order = con.execute(f"""select count(*) from read_parquet('{store}/spreads/**/*.parquet')
        where Exchange1 >= Exchange2""").fetchone()[0]
    check(order == 0, "a spread row's Exchange1 is not alphabetically before Exchange2")
    s_duck = con.execute(
        f"select sum(BestBid) from read_parquet('{store}/quotes/**/*.parquet')").fetchone()[0]
    s_arrow = sum(q["BestBid"].to_pylist())
    check(math.isclose(s_duck, s_arrow, rel_tol=1e-9), f"sum(BestBid) duckdb {s_duck} pyarrow {s_arrow}")

    if failures:
        print("store_check: FAIL\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"store_check: ok ({written})")


def per_venue(store):
    """Rows of quotes and trades per venue (the Exchange column), read by DuckDB."""
    con = duckdb.connect()
    out = {}
    for kind in ["quotes", "trades"]:
        fs = files(store, kind)
        rows = con.execute(
            "select Exchange, count(*) from read_parquet(?) group by Exchange", [fs]
        ).fetchall() if fs else []
        out[kind] = {e: n for e, n in rows}
    print(json.dumps(out))


def several(root):
    """Rows per store and kind over ROOT/<store>/<kind>/date=*/hour=*/*.parquet, with the
    README's query: one glob over every store's directory, read in place, the store named
    by its directory (the `filename` column), the partitions by hive_partitioning."""
    con = duckdb.connect()
    out = {}
    for kind in KINDS:
        pattern = os.path.join(root, "*", kind, "date=*", "hour=*", "*.parquet")
        if not glob.glob(pattern):
            continue
        rows = con.execute(
            f"""select regexp_extract(filename, '/([^/]+)/{kind}/date=', 1) as store,
                       count(*) as rows, count(distinct hour) as hours
                from read_parquet('{pattern}', hive_partitioning = true, filename = true)
                group by store order by store"""
        ).fetchall()
        for store, n, _hours in rows:
            out.setdefault(store, {})[kind] = n
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "--valid-only":
        valid_only(sys.argv[2])
    elif sys.argv[1] == "--per-venue":
        per_venue(sys.argv[2])
    elif sys.argv[1] == "--several":
        several(sys.argv[2])
    else:
        full(*sys.argv[1:4])
