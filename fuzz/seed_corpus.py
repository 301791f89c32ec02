#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target>/ from the decoder fixtures and from `arb gen` captures.

Decoder seeds are one frame prefixed by the kind byte the targets read (even = text, odd =
binary): every line of feeds/tests/data/<venue>/*.jsonl and every non-comment line of
control_frames.txt as text; MEXC `wire_b64` protobuf frames and BingX frames
gzip-compressed as binary (their wire forms); and the first text and binary frames of
each venue in the captures given on the command line.

Capture seeds (fuzz/corpus/capture/) are each given capture's header plus as many whole
records as fit in about 3 KiB, a header-only capture, and truncated and corrupted copies
with the CRCs fixed up where needed so that every reader branch is reached.

Seeds are named by their SHA-1, as libFuzzer names corpus files, so reruns add nothing new.

Usage (from the repository root):
    ./target/release/arb gen --out /tmp/seed.arbcap --symbols 3 --rate 200 --duration 1
    python3 fuzz/seed_corpus.py [/tmp/seed.arbcap ...]
"""
import base64
import gzip
import hashlib
import json
import pathlib
import struct
import sys
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "feeds" / "tests" / "data"
CORPUS = ROOT / "fuzz" / "corpus"
VENUES = ["binance", "bybit", "mexc", "gateio", "kucoin", "okx", "bitget", "bingx"]
TEXT, BINARY = b"\x00", b"\x01"


def write(venue: str, seed: bytes) -> None:
    d = CORPUS / venue
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(seed).hexdigest()).write_bytes(seed)


def main() -> None:
    for venue in VENUES:
        for path in sorted((DATA / venue).glob("*.jsonl")):
            for line in path.read_bytes().splitlines():
                if not line.strip():
                    continue
                write(venue, TEXT + line)
                if venue == "bingx":
                    write(venue, BINARY + gzip.compress(line, mtime=0))
                if venue == "mexc":
                    try:
                        wire = json.loads(line).get("wire_b64")
                    except (ValueError, AttributeError):
                        wire = None
                    if wire:
                        write(venue, BINARY + base64.b64decode(wire))
        frames = DATA / venue / "control_frames.txt"
        if frames.exists():
            for line in frames.read_bytes().splitlines():
                if line.strip() and not line.startswith(b"#"):
                    write(venue, TEXT + line)
                    if venue == "bingx":
                        write(venue, BINARY + gzip.compress(line, mtime=0))


FIXED_HEADER, RECORD_HEAD = 32, 24
CAPTURE_SEED_BYTES = 3072
FRAMES_PER_VENUE_KIND = 12


def padded(n: int) -> int:
    return (n + 7) & ~7


def records(cap: bytes):
    """Yields (offset, total length, exchange, kind, payload) of each well-formed record."""
    header_len = struct.unpack_from("<I", cap, 12)[0]
    off = header_len
    while off + RECORD_HEAD <= len(cap):
        n, _crc, _ts, ex, kind, _conn, _res = struct.unpack_from("<IIqBBHI", cap, off)
        total = RECORD_HEAD + padded(n)
        if off + total > len(cap):
            return
        yield off, total, ex, kind, cap[off + RECORD_HEAD : off + RECORD_HEAD + n]
        off += total


def reseal(rec: bytearray) -> bytearray:
    """Recomputes the CRC of one record (head bytes 8..24, then the payload)."""
    n = struct.unpack_from("<I", rec, 0)[0]
    crc = zlib.crc32(bytes(rec[8:RECORD_HEAD]) + bytes(rec[RECORD_HEAD : RECORD_HEAD + n]))
    struct.pack_into("<I", rec, 4, crc)
    return rec


def header_with_meta(header: bytes, meta: bytes) -> bytes:
    """A header carrying `meta` with a valid length, CRC and padding."""
    header_len = padded(FIXED_HEADER + len(meta))
    out = (
        header[:12]
        + struct.pack("<I", header_len)
        + header[16:24]
        + struct.pack("<II", len(meta), zlib.crc32(meta))
        + meta
    )
    return out + bytes(header_len - len(out))


def seed_from_capture(path: str) -> None:
    cap = pathlib.Path(path).read_bytes()
    header_len = struct.unpack_from("<I", cap, 12)[0]
    header = cap[:header_len]
    # Decoder seeds: the first frames of every venue and kind.
    taken = {}
    for _off, _total, ex, kind, payload in records(cap):
        if kind not in (0, 1) or ex >= len(VENUES) or len(payload) > 4000:
            continue
        key = (ex, kind)
        if taken.get(key, 0) < FRAMES_PER_VENUE_KIND:
            taken[key] = taken.get(key, 0) + 1
            write(VENUES[ex], (TEXT if kind == 0 else BINARY) + payload)
    # Capture seeds: a small clean capture with records of several venues and kinds.
    recs = []
    size = header_len
    seen = set()
    for off, total, ex, kind, _payload in records(cap):
        if (ex, kind) in seen and len(seen) < 16:
            continue
        if size + total > CAPTURE_SEED_BYTES:
            break
        seen.add((ex, kind))
        recs.append(cap[off : off + total])
        size += total
    clean = header + b"".join(recs)
    write("capture", clean)
    write("capture", header)
    # Truncated: inside the fixed header, inside the metadata, inside a record head and
    # inside a payload.
    for cut in (8, FIXED_HEADER - 1, header_len - 1, header_len + 10):
        write("capture", clean[:cut])
    if recs:
        write("capture", clean[: header_len + len(recs[0]) - 1])
        first = bytearray(recs[0])
        rest = b"".join(recs[1:])
        bad = []
        flipped = bytearray(first)
        flipped[RECORD_HEAD] ^= 1
        bad.append(flipped)  # payload byte flipped: CRC mismatch
        for at, value in ((16, 200), (17, 9), (20, 1)):  # exchange, kind, reserved
            b = bytearray(first)
            b[at] = value
            bad.append(reseal(b))
        b = bytearray(first)
        struct.pack_into("<I", b, 0, 0x7FFF_FFFF)
        bad.append(b)  # length over the limit
        for b in bad:
            write("capture", header + bytes(b) + rest)
    # Header variants: metadata that does not parse (but whose CRC matches), wrong CRC,
    # version, flags and header length.
    for meta in (b"", b"okx\tBTC-USDT\tBTC\tUSDT\n# c\n", b"nope\tX\tY\tZ\n", b"okx\tonly\n", b"\xff\n"):
        write("capture", header_with_meta(header, meta))
    for at, value in ((8, 2), (10, 1), (12, 33), (28, 0)):
        h = bytearray(header)
        h[at] ^= value
        write("capture", bytes(h))


if __name__ == "__main__":
    main()
    for arg in sys.argv[1:]:
        seed_from_capture(arg)
