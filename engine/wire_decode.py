#!/usr/bin/env python3
"""Decodes arb wire-format v1 batches (engine/WIRE.md) without arb: standard library only.

Reads one or more batches back to back from FILE (or stdin) and prints one JSON object per
line: a header object ({"type": "header", ...}) and then one object per record
("quote", "trade", "venue_state", "snapshot"). Finite floats are JSON numbers (shortest
text that reads back to the same double); NaN and infinities are the strings "NaN",
"Infinity" and "-Infinity". With --ping, FILE is one ping message instead (8 bytes: a
request; 24 bytes: a reply).

Every rule of WIRE.md's "Validity" section is checked; the first violation is printed to
stderr with its byte offset and the exit status is 1. Records of a batch are printed
only once the whole batch is valid (a NATS message is one batch; in a file of several,
bytes after a batch are read as the next batch, so garbage there fails after the valid
batches before it were printed).

Usage:
    python3 engine/wire_decode.py [--ping] [FILE]
"""
import json
import math
import struct
import sys

MAGIC = b"ARBW"
VERSION = 1
HEADER = struct.Struct("<4sBBHQqIB3x")  # 32 bytes
QUOTE = struct.Struct("<BHIddddqq")  # 55
TRADE = struct.Struct("<BHIBddBQqq")  # 49
VENUE_STATE = struct.Struct("<BHBq")  # 12
SNAPSHOT = struct.Struct("<BBH32s")  # 36
RECORDS = {1: QUOTE, 2: TRADE, 3: VENUE_STATE, 4: SNAPSHOT}
VENUES = ["binance", "bybit", "mexc", "gateio", "kucoin", "okx", "bitget", "bingx"]
NO_VENUE = 255
MAX_CONNS = 256
SIDES = ["buy", "sell"]
TRADE_ID_KINDS = ["numeric", "hashed"]
STATES = ["connected", "disconnected", "resubscribed"]


class WireError(Exception):
    pass


def num(x):
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def conn(conn_id, at):
    if conn_id >= MAX_CONNS:
        raise WireError(f"connection id {conn_id} past the limit of {MAX_CONNS} at offset {at}")
    return conn_id


def pick(table, value, what, at):
    if value >= len(table):
        raise WireError(f"bad {what} {value} in the record at offset {at}")
    return table[value]


def decode_record(buf, at, batch_kind, venue):
    kind = buf[at]
    if kind not in RECORDS:
        raise WireError(f"unknown record kind {kind} at offset {at}")
    if (kind == 4) != (batch_kind == "heartbeat"):
        raise WireError(f"record kind {kind} at offset {at} not allowed in a {batch_kind} batch")
    rec = RECORDS[kind]
    if at + rec.size > len(buf):
        raise WireError(f"record at offset {at} needs {rec.size} bytes, {len(buf) - at} remain")
    f = rec.unpack_from(buf, at)
    if kind == 1:
        _, conn_id, symbol, bid_px, bid_qty, ask_px, ask_qty, exch_ts, recv_ts = f
        out = {"type": "quote", "offset": at, "venue": venue, "conn_id": conn(conn_id, at),
               "symbol": symbol, "bid_px": num(bid_px), "bid_qty": num(bid_qty),
               "ask_px": num(ask_px), "ask_qty": num(ask_qty),
               "exch_ts_ns": exch_ts, "recv_ts_ns": recv_ts}
    elif kind == 2:
        _, conn_id, symbol, side, px, qty, id_kind, trade_id, exch_ts, recv_ts = f
        out = {"type": "trade", "offset": at, "venue": venue, "conn_id": conn(conn_id, at),
               "symbol": symbol, "side": pick(SIDES, side, "side", at),
               "px": num(px), "qty": num(qty),
               "trade_id_kind": pick(TRADE_ID_KINDS, id_kind, "trade id kind", at),
               "trade_id": trade_id, "exch_ts_ns": exch_ts, "recv_ts_ns": recv_ts}
    elif kind == 3:
        _, conn_id, state, ts = f
        out = {"type": "venue_state", "offset": at, "venue": venue,
               "conn_id": conn(conn_id, at), "state": pick(STATES, state, "state", at),
               "ts_ns": ts}
    else:
        _, snap_venue, conns_up, bitmap = f
        up = [i for i in range(MAX_CONNS) if bitmap[i // 8] >> (i % 8) & 1]
        if len(up) != conns_up:
            raise WireError(f"snapshot at offset {at}: conns_up {conns_up} but {len(up)} bits set")
        out = {"type": "snapshot", "offset": at,
               "venue": pick(VENUES, snap_venue, "venue", at),
               "conns_up": conns_up, "up": up}
    return out, rec.size


def decode_batch(buf, start):
    """Returns (header, records, end offset) of the batch at `start`."""
    if buf[start:start + 4] != MAGIC and len(buf) - start >= 4:
        raise WireError(f"bad magic {buf[start:start + 4]!r} at offset {start}")
    if len(buf) - start > 4 and buf[start + 4] != VERSION:
        raise WireError(f"unsupported wire version {buf[start + 4]} at offset {start}")
    if len(buf) - start < HEADER.size:
        raise WireError(f"batch at offset {start} shorter than the {HEADER.size}-byte header")
    _, version, kind, count, seq, sent_ns, epoch, venue = HEADER.unpack_from(buf, start)
    if kind not in (0, 1):
        raise WireError(f"unknown batch kind {kind} at offset {start}")
    batch_kind = "data" if kind == 0 else "heartbeat"
    if kind == 0:
        venue_name = pick(VENUES, venue, "header venue", start)
    elif venue == NO_VENUE:
        venue_name = None
    else:
        raise WireError(f"heartbeat header venue {venue} (expected 255) at offset {start}")
    header = {"type": "header", "offset": start, "version": version, "kind": batch_kind,
              "count": count, "seq": seq, "sent_ns": sent_ns, "table_epoch": epoch,
              "venue": venue_name}
    at = start + HEADER.size
    records = []
    for _ in range(count):
        if at >= len(buf):
            raise WireError(f"batch at offset {start} ends before its {count} records")
        rec, size = decode_record(buf, at, batch_kind, venue_name)
        records.append(rec)
        at += size
    return header, records, at


def decode_ping(buf):
    if len(buf) == 8:
        return {"type": "ping_request", "t0": struct.unpack("<q", buf)[0]}
    if len(buf) == 24:
        t0, t1, t2 = struct.unpack("<qqq", buf)
        return {"type": "ping_reply", "t0": t0, "t1": t1, "t2": t2}
    raise WireError(f"ping message of {len(buf)} bytes (expected 8 or 24)")


def main(argv):
    args = argv[1:]
    ping = "--ping" in args
    args = [a for a in args if a != "--ping"]
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print(__doc__, file=sys.stderr)
        return 2
    if args and args[0] != "-":
        with open(args[0], "rb") as f:
            buf = f.read()
    else:
        buf = sys.stdin.buffer.read()
    try:
        if ping:
            print(json.dumps(decode_ping(buf)))
            return 0
        at = 0
        while True:
            header, records, at = decode_batch(buf, at)
            print(json.dumps(header))
            for rec in records:
                print(json.dumps(rec))
            if at == len(buf):
                return 0
    except WireError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
