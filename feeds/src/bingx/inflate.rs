//! A whole-buffer DEFLATE decoder (RFC 1951) built for BingX's frames: one small
//! dynamic-Huffman block of a few hundred bytes each.
//!
//! For such a block the work is in setting the block up, not in decoding it, so this
//! decoder keeps the set-up small:
//! - the code lengths are decoded straight into per-length counts and a list of the used
//!   symbols, so building the tables never walks the 288 + 32 lengths, only the used ones;
//! - each block's main tables are only as wide as its longest codeword, up to 9 (litlen)
//!   and 7 (distance, precode) index bits, with subtables for longer codes (libdeflate's
//!   litlen table always has 9 to 11); when no subtable is needed (BingX's frames: litlen
//!   codewords of up to 7 bits) the table is filled straight from the used symbols in
//!   symbol order ([`build_direct`]: no sort), else the symbols are sorted and the main
//!   part is filled one entry per codeword and doubled by copying, as libdeflate does;
//! - the fixed-Huffman tables are kept until a dynamic block replaces them.
//!
//! Decoding reads a 64-bit bit buffer refilled 8 bytes at a time, two symbols per refill
//! check; entries carry the codeword length, the extra-bit count and the base value
//! (libdeflate's entry format), so a literal costs one lookup and one store.
//!
//! Semantics follow libdeflate's `libdeflate_deflate_decompress`, which BingX frames went
//! through before (the tests compare the two): the same incomplete codes are accepted (no
//! codeword, or a single one of length 1, which then also decodes the unused codeword), 288
//! litlen and 32 distance lengths may be sent (symbols 286/287 mean length 258; distance
//! symbols 30/31 decode like 29), and input bits may be looked ahead but never consumed
//! past the end. Unlike libdeflate's gzip wrapper, nothing may follow the last block but
//! the trailer (the caller's check).
//!
//! Only safe code. The table sizes are upper bounds proved in [`enough`]; hot indexes are
//! masked to power-of-two array lengths instead of bounds-checked, other indexes are
//! checked, and no valid or malformed input reaches a panic (the tests feed corrupted
//! frames).

/// Why a stream did not inflate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InflateError {
    /// Corrupt or truncated data, or data past the end of the stream.
    Data,
    /// The output does not fit in the buffer given.
    Space,
}

/// Most index bits of the literal/length table's main part.
const LITLEN_BITS: u32 = 9;
/// Most index bits of the distance table's main part.
const DIST_BITS: u32 = 7;
/// Index bits of the precode table (its longest codeword; no subtables).
const PRECODE_BITS: u32 = 7;
const NUM_LITLEN: usize = 288;
const NUM_DIST: usize = 32;
const NUM_PRECODE: usize = 19;
const MAX_CODE_LEN: usize = 15;

/// An upper bound on the entries of a decode table, main part and subtables, for `n`
/// symbols and a main part of `root` bits (codewords up to 15 bits).
///
/// A subtable of `k` bits holds a complete code whose longest codeword is `k` bits long
/// (the subtable is sized to the longest codeword under its prefix), so it holds at least
/// `k + 1` symbols; `2^k / (k + 1)` grows with `k`, so the subtables hold the most entries
/// when each has the largest `k`, `15 - root`: at most `ceil(n / (16 - root))` of them.
const fn enough(n: usize, root: u32) -> usize {
    let k = 15 - root as usize;
    (1 << root) + n.div_ceil(k + 1) * (1 << k)
}

/// Table lengths: powers of two at least [`enough`], so that a masked index needs no bounds
/// check (the slots past `enough` are never written).
const LITLEN_TABLE: usize = enough(NUM_LITLEN, LITLEN_BITS).next_power_of_two();
const DIST_TABLE: usize = enough(NUM_DIST, DIST_BITS).next_power_of_two();

/// Entry flags (libdeflate's layout). Low byte: bits to consume (codeword length plus
/// extra bits; for a subtable pointer the main table bits). Bits 8–11: codeword length
/// (for a subtable pointer the subtable bits). Bits 16 and up: literal, base value or
/// subtable start.
const LITERAL: u32 = 0x8000_0000;
const EXCEPTIONAL: u32 = 0x8000;
const SUBTABLE: u32 = 0x4000;
const END_OF_BLOCK: u32 = 0x2000;

const fn litlen_results() -> [u32; NUM_LITLEN] {
    const BASE: [u32; 31] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258, 258, 258,
    ];
    const EXTRA: [u32; 31] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0, 0, 0,
    ];
    let mut r = [0; NUM_LITLEN];
    let mut i = 0;
    while i < 256 {
        r[i] = LITERAL | (i as u32) << 16;
        i += 1;
    }
    r[256] = EXCEPTIONAL | END_OF_BLOCK;
    let mut j = 0;
    while j < 31 {
        r[257 + j] = BASE[j] << 16 | EXTRA[j];
        j += 1;
    }
    r
}

const fn dist_results() -> [u32; NUM_DIST] {
    const BASE: [u32; 32] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577, 24577, 24577,
    ];
    const EXTRA: [u32; 32] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
        13, 13, 13, 13,
    ];
    let mut r = [0; NUM_DIST];
    let mut i = 0;
    while i < NUM_DIST {
        r[i] = BASE[i] << 16 | EXTRA[i];
        i += 1;
    }
    r
}

const fn precode_results() -> [u32; NUM_PRECODE] {
    let mut r = [0; NUM_PRECODE];
    let mut i = 0;
    while i < NUM_PRECODE {
        r[i] = (i as u32) << 16;
        i += 1;
    }
    r
}

/// Static parts of the entries, padded to 512 so that a masked symbol needs no bounds check.
static LITLEN_RESULTS: [u32; 512] = pad(&litlen_results());
static DIST_RESULTS: [u32; 512] = pad(&dist_results());
static PRECODE_RESULTS: [u32; 512] = pad(&precode_results());

const fn pad<const N: usize>(r: &[u32; N]) -> [u32; 512] {
    let mut p = [0; 512];
    let mut i = 0;
    while i < N {
        p[i] = r[i];
        i += 1;
    }
    p
}

/// The order in which the precode lengths are sent.
const PRECODE_ORDER: [u8; NUM_PRECODE] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Codeword counts per length (index 0 unused).
type Counts = [u16; MAX_CODE_LEN + 1];

/// Decode tables and scratch, reused from block to block (about 18 KiB, allocated once).
pub(super) struct Inflate {
    litlen: [u32; LITLEN_TABLE],
    dist: [u32; DIST_TABLE],
    precode: [u32; 1 << PRECODE_BITS],
    /// The used symbols of the litlen + distance length sequence, in order, as `index
    /// << 4 | length` (512 slots, indexed modulo, for at most 320 symbols).
    used: [u16; 512],
    /// Used symbols sorted by (length, symbol): canonical codeword order (512 slots,
    /// indexed modulo, for at most 288 symbols).
    sorted: [u16; 512],
    /// Index masks of the litlen and distance tables' main parts (their index bits vary
    /// per block: see [`build_table`]).
    litlen_mask: usize,
    dist_mask: usize,
    /// The tables hold the fixed codes.
    fixed_loaded: bool,
}

impl std::fmt::Debug for Inflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflate")
            .field("fixed_loaded", &self.fixed_loaded)
            .finish_non_exhaustive()
    }
}

/// LSB-first bit reader over `input`, which may hold bytes after the stream's end (they
/// are looked ahead, never consumed: see [`Bits::end_pos`]). Past the end of `input` it
/// reads zeros, at most 8 bytes of them (`pos` then counts them too).
///
/// NB: `Copy`, and each function works on a local copy, so that the state stays in
/// registers (a `&mut Bits` kept across the loops cost about a third more instructions).
#[derive(Clone, Copy)]
struct Bits<'a> {
    input: &'a [u8],
    /// Next byte to load (past `input.len()` once zeros are read).
    pos: usize,
    buf: u64,
    /// Low byte: bits of `buf` that may be consumed; higher bits are garbage (entries are
    /// subtracted whole).
    left: u32,
}

impl Bits<'_> {
    /// Loads bytes until at least 56 bits may be consumed.
    #[inline(always)]
    fn refill(&mut self) -> Result<(), InflateError> {
        if let Some(word) = self.input.get(self.pos..self.pos + 8) {
            let word = u64::from_le_bytes([
                word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
            ]);
            self.buf |= word.wrapping_shl(self.left);
            self.pos += 7 - ((self.left >> 3) & 7) as usize;
            self.left |= 56;
            Ok(())
        } else {
            *self = self.refill_slow()?;
            Ok(())
        }
    }

    #[inline(never)]
    fn refill_slow(mut self) -> Result<Self, InflateError> {
        let mut left = self.left & 0xff;
        while left < 56 {
            if let Some(&b) = self.input.get(self.pos) {
                self.buf |= u64::from(b) << left;
            } else if self.pos >= self.input.len() + 8 {
                // More than 8 zero bytes means some were consumed: past any stream end.
                return Err(InflateError::Data);
            }
            self.pos += 1;
            left += 8;
        }
        self.left = left;
        Ok(self)
    }

    #[inline(always)]
    fn avail(&self) -> u32 {
        self.left & 0xff
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf >>= n;
        self.left = self.left.wrapping_sub(n);
    }

    /// The position just past the last byte any bit was consumed from.
    #[inline(always)]
    fn end_pos(&self) -> usize {
        self.pos.saturating_sub((self.avail() >> 3) as usize)
    }
}

#[inline(always)]
fn low_bits(v: u64, n: u32) -> u64 {
    v & ((1u64 << n) - 1)
}

/// Refills a bit reader kept in locals (`input`, `pos`, `buf`, `left`: see [`Bits`], with
/// `left` a `u8`) until at least 56 bits may be consumed; `?` on a stream read past its end.
macro_rules! refill {
    ($input:ident, $pos:ident, $buf:ident, $left:ident) => {
        if let Some(w) = $input.get($pos..$pos + 8) {
            let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            $buf |= w.wrapping_shl(u32::from($left));
            $pos += usize::from(7 - (($left >> 3) & 7));
            $left |= 56;
        } else {
            let b = Bits {
                input: $input,
                pos: $pos,
                buf: $buf,
                left: u32::from($left),
            }
            .refill_slow()?;
            $pos = b.pos;
            $buf = b.buf;
            $left = b.left as u8;
        }
    };
}

/// Builds the decode table of a code: `counts` codewords per length, `sorted` the used
/// symbols in canonical order (as many as `counts` counts), `results` the static part of
/// each symbol's entry, `root` the most index bits of the main part (it gets no more than
/// the longest codeword's). Returns the main part's index mask, or `Err` for an
/// over-subscribed code or an incomplete one other than libdeflate accepts.
///
/// Indexes are masked to the arrays' power-of-two lengths, so no bounds check is left;
/// for a code that passes the checks the masks never change an index (see [`enough`]).
fn build_table<const N: usize>(
    table: &mut [u32; N],
    counts: &Counts,
    sorted: &[u16; 512],
    results: &[u32; 512],
    root: u32,
) -> Result<usize, InflateError> {
    const { assert!(N.is_power_of_two()) };
    let mut max_len = MAX_CODE_LEN;
    while max_len > 1 && counts[max_len] == 0 {
        max_len -= 1;
    }
    let root = root.min(max_len as u32);
    let mask = ((1usize << root) - 1) & (N - 1);
    let mut used: u32 = 0;
    for &c in &counts[1..=max_len] {
        used = (used << 1) + u32::from(c);
    }
    let full = 1u32 << max_len;
    if used > full {
        return Err(InflateError::Data);
    }
    if used < full {
        // Incomplete: only no codeword, or one of length 1 (which gets both codewords).
        let sym = if used == 0 {
            0
        } else if used == full >> 1 && counts[1] == 1 {
            usize::from(sorted[0]) & 511
        } else {
            return Err(InflateError::Data);
        };
        let entry = results[sym] + (1 << 8) + 1;
        table[..1 << root].fill(entry);
        return Ok(mask);
    }

    // Complete: codewords in canonical order, bit-reversed (the first bit is the lowest).
    // Codewords up to `root` bits get one entry each in a table of 2^len entries, which
    // is doubled by copying whenever `len` grows.
    let mut codeword: u32 = 0;
    let mut len: u32 = 1;
    let mut count: u32;
    loop {
        count = u32::from(counts[len as usize & 15]);
        if count != 0 {
            break;
        }
        len += 1;
    }
    let mut si = 0usize;
    let mut cur_end: u32 = 1 << len;
    while len <= root {
        let len_bits = (len << 8) + len;
        loop {
            let sym = usize::from(sorted[si & 511]) & 511;
            si += 1;
            table[codeword as usize & (N - 1)] = results[sym] + len_bits;
            if codeword == cur_end - 1 {
                // The last codeword (all ones): widen the table to `root` bits.
                while len < root {
                    let n = cur_end as usize;
                    table.copy_within(..n, n);
                    cur_end <<= 1;
                    len += 1;
                }
                return Ok(mask);
            }
            // Next codeword: set the highest zero bit of the reversed codeword and clear
            // the bits above it.
            let bit = 1u32 << (31 - (codeword ^ (cur_end - 1)).leading_zeros());
            codeword = (codeword & (bit - 1)) | bit;
            count -= 1;
            if count == 0 {
                break;
            }
        }
        loop {
            len += 1;
            if len <= root {
                let n = cur_end as usize;
                table.copy_within(..n, n);
                cur_end <<= 1;
            }
            count = u32::from(counts[len as usize & 15]);
            if count != 0 {
                break;
            }
        }
    }

    // Longer codewords: subtables after the main part, pointed to by its entries.
    let root_mask = (1u32 << root) - 1;
    cur_end = 1 << root;
    let mut prefix = u32::MAX;
    let mut sub_start: u32 = 0;
    loop {
        if codeword & root_mask != prefix {
            prefix = codeword & root_mask;
            sub_start = cur_end;
            // As many bits as the codewords under this prefix need: grow until the
            // remaining codewords fill the subtable.
            let mut sub_bits = len - root;
            let mut space = count;
            while space < 1 << sub_bits {
                sub_bits += 1;
                space = (space << 1) + u32::from(counts[(root + sub_bits) as usize & 15]);
            }
            cur_end = sub_start + (1 << sub_bits);
            table[prefix as usize & (N - 1)] =
                sub_start << 16 | EXCEPTIONAL | SUBTABLE | sub_bits << 8 | root;
        }
        let sym = usize::from(sorted[si & 511]) & 511;
        si += 1;
        let entry = results[sym] + ((len - root) << 8) + (len - root);
        let stride = 1usize << (len - root);
        let mut i = (sub_start + (codeword >> root)) as usize;
        let end = (cur_end as usize).min(N);
        while i < end {
            table[i] = entry;
            i += stride;
        }
        if codeword == (1 << len) - 1 {
            return Ok(mask);
        }
        let bit = 1u32 << (31 - (codeword ^ ((1 << len) - 1)).leading_zeros());
        codeword = (codeword & (bit - 1)) | bit;
        count -= 1;
        while count == 0 {
            len += 1;
            if len as usize > MAX_CODE_LEN {
                return Err(InflateError::Data);
            }
            count = u32::from(counts[len as usize]);
        }
    }
}

/// 9-bit bit reversal: a codeword left-aligned in 9 bits maps to its table index.
static REV9: [u16; 512] = {
    let mut r = [0; 512];
    let mut i = 0;
    while i < 512 {
        r[i] = ((i as u32).reverse_bits() >> 23) as u16;
        i += 1;
    }
    r
};

/// Builds the decode table of a code whose codewords all fit in `root_max` bits (at most
/// 9), straight from `used` (`index << 4 | length`, minus `base` from the index, in symbol
/// order): each symbol's codeword is the next one of its length, its entry is stored at
/// the codeword's bit reversal and every `2^len` after it. The main part gets the longest
/// codeword's bits. Returns the index mask, or `None` (nothing written) when a codeword
/// is longer than `root_max`; `Err` as [`build_table`].
///
/// NB: no sort, no canonical-order walk and no doubling copies: instructions per
/// book-ticker frame 10 255 → 9 824 against sorting the symbols and [`build_table`]
/// (`benches/decode_instructions.sh bingx`; ~47 litlen symbols of up to 7 bits).
#[inline(always)]
fn build_direct<const N: usize>(
    table: &mut [u32; N],
    counts: &Counts,
    used: &[u16],
    base: u16,
    results: &[u32; 512],
    root_max: u32,
) -> Result<Option<usize>, InflateError> {
    let mut max_len = MAX_CODE_LEN;
    while max_len > 1 && counts[max_len] == 0 {
        max_len -= 1;
    }
    if max_len as u32 > root_max.min(9) || 1 << max_len > N {
        return Ok(None);
    }
    let root = max_len;
    // The first codeword of each length, left-aligned in 9 bits; past the last one, the
    // code's space used (512 when complete).
    let mut next = [0u32; MAX_CODE_LEN + 1];
    let mut code: u32 = 0;
    for len in 1..=max_len {
        next[len] = code;
        code += u32::from(counts[len]) << (9 - len);
    }
    let t = &mut table[..1 << root];
    if code != 512 {
        if code > 512 {
            return Err(InflateError::Data);
        }
        // Incomplete: only no codeword, or one of length 1 (which gets both codewords).
        let sym = if code == 0 {
            0
        } else if code == 256 && counts[1] == 1 {
            usize::from(used.first().map_or(0, |&v| v >> 4).wrapping_sub(base)) & 511
        } else {
            return Err(InflateError::Data);
        };
        t.fill(results[sym] + (1 << 8) + 1);
        return Ok(Some(1));
    }
    // Per length: the codeword increment (left-aligned in 9 bits) and the entry stride.
    const STEP: [(u32, usize); 16] = {
        let mut s = [(0, 0); 16];
        let mut len = 0;
        while len < 16 {
            s[len] = ((512 >> len) as u32, 1 << len);
            len += 1;
        }
        s
    };
    // NB: codewords of the longest length get one store, the others two per step, one
    // in each half (~150 instructions fewer than one store per step for a book-ticker
    // frame, `benches/decode_instructions.sh bingx`).
    let half = t.len() / 2;
    let (lo, hi) = t.split_at_mut(half);
    let hi = &mut hi[..half];
    for &v in used {
        let len = usize::from(v & 15);
        let (inc, stride) = STEP[len];
        let c = next[len];
        next[len] = c + inc;
        let entry = results[usize::from((v >> 4).wrapping_sub(base)) & 511] + len as u32 * 0x101;
        let mut i = usize::from(REV9[c as usize & 511]);
        if len == root {
            let slot = match i.checked_sub(half) {
                None => lo.get_mut(i),
                Some(j) => hi.get_mut(j),
            };
            if let Some(slot) = slot {
                *slot = entry;
            }
            continue;
        }
        // Two stores per step, one in each half of the table.
        while i < half {
            lo[i] = entry;
            hi[i] = entry;
            i += stride;
        }
    }
    Ok(Some((1 << root) - 1))
}

/// Fills `sorted` with the symbols of `used` (`index << 4 | length`, minus `base` from
/// the index) in canonical order, given their counts per length; returns how many.
#[inline(always)]
fn sort_symbols(sorted: &mut [u16; 512], counts: &Counts, used: &[u16], base: u16) -> usize {
    let mut offsets = [0u16; MAX_CODE_LEN + 1];
    let mut sum = 0;
    for (o, &c) in offsets.iter_mut().zip(counts).skip(1) {
        *o = sum;
        sum += c;
    }
    for &v in used {
        let o = &mut offsets[usize::from(v & 15)];
        sorted[usize::from(*o) & 511] = (v >> 4).wrapping_sub(base);
        *o = o.wrapping_add(1);
    }
    usize::from(sum).min(NUM_LITLEN)
}

impl Inflate {
    /// Empty tables, boxed (they are about 18 KiB).
    pub(super) fn new() -> Box<Self> {
        Box::new(Inflate {
            litlen: [0; LITLEN_TABLE],
            dist: [0; DIST_TABLE],
            precode: [0; 1 << PRECODE_BITS],
            used: [0; 512],
            sorted: [0; 512],
            litlen_mask: 0,
            dist_mask: 0,
            fixed_loaded: false,
        })
    }

    /// Inflates the DEFLATE stream that starts at `input[start]` and must end (at a byte
    /// boundary) exactly at `input[end]`, into `out`; returns the content's length. Bytes
    /// of `input` from `end` on are only looked ahead.
    ///
    /// # Errors
    /// [`InflateError::Space`] if the content does not fit in `out`, checked before any
    /// later error (as libdeflate does); [`InflateError::Data`] for anything malformed,
    /// including a stream that ends before `end`.
    pub(super) fn inflate(
        &mut self,
        input: &[u8],
        start: usize,
        end: usize,
        out: &mut [u8],
    ) -> Result<usize, InflateError> {
        if start > end || end > input.len() {
            return Err(InflateError::Data);
        }
        let mut bits = Bits {
            input,
            pos: start,
            buf: 0,
            left: 0,
        };
        let mut op = 0;
        loop {
            bits.refill()?;
            let header = bits.buf as u32;
            let last = header & 1 != 0;
            match (header >> 1) & 3 {
                2 => {
                    bits.consume(3);
                    self.read_dynamic_tables(&mut bits)?;
                }
                1 => {
                    bits.consume(3);
                    if !self.fixed_loaded {
                        self.load_fixed_tables()?;
                    }
                }
                0 => {
                    bits.consume(3);
                    op = stored_block(&mut bits, end, out, op)?;
                    if last {
                        break;
                    }
                    continue;
                }
                _ => return Err(InflateError::Data),
            }
            op = self.decode_block(&mut bits, out, op)?;
            if last {
                break;
            }
        }
        // Every consumed bit lies before `end`, and the stream ends there.
        if bits.end_pos() != end {
            return Err(InflateError::Data);
        }
        Ok(op)
    }

    /// Reads a dynamic block's code lengths (the block header bits consumed) and builds
    /// its tables.
    #[inline(never)]
    fn read_dynamic_tables(&mut self, bits: &mut Bits<'_>) -> Result<(), InflateError> {
        let mut b = *bits;
        self.fixed_loaded = false;
        // 14 bits of counts, then up to 19 × 3 bits of precode lengths: 71 bits, so the
        // first precode length is read with the counts.
        let v = b.buf;
        let nlit = 257 + (v & 31) as usize;
        let ndist = 1 + ((v >> 5) & 31) as usize;
        let nprecode = 4 + ((v >> 10) & 15) as usize;
        let mut plens = [0u8; NUM_PRECODE];
        let mut counts: Counts = [0; MAX_CODE_LEN + 1];
        let first = ((v >> 14) & 7) as usize;
        plens[usize::from(PRECODE_ORDER[0])] = first as u8;
        counts[first] += 1;
        b.consume(17);
        b.refill()?;
        let mut v = b.buf;
        for &sym in &PRECODE_ORDER[1..nprecode] {
            let l = (v & 7) as usize;
            plens[usize::from(sym)] = l as u8;
            counts[l] += 1;
            v >>= 3;
        }
        b.consume(3 * (nprecode as u32 - 1));
        let mut pused = [0u16; 32];
        let mut np = 0;
        for (sym, &l) in plens.iter().enumerate() {
            pused[np & 31] = (sym as u16) << 4 | u16::from(l);
            np += usize::from(l != 0);
        }
        counts[0] = 0;
        // Precode lengths have 3 bits: the table never needs subtables.
        let precode_mask = build_direct(
            &mut self.precode,
            &counts,
            &pused[..np.min(NUM_PRECODE)],
            0,
            &PRECODE_RESULTS,
            PRECODE_BITS,
        )?
        .ok_or(InflateError::Data)?
            & ((1 << PRECODE_BITS) - 1);

        // The litlen and distance lengths, one sequence. Each explicit length is listed
        // as `index << 4 | length` (the slot is reused when the length is 0) and counted
        // per length; the distance symbols' counts are moved out afterwards.
        let total = nlit + ndist;
        let mut counts: Counts = [0; MAX_CODE_LEN + 1];
        let used = &mut self.used;
        let precode = &self.precode;
        let mut n_used = 0;
        let mut prev = 0usize;
        let mut i = 0;
        // NB: the reader's state in locals, as in `decode_block` (with `Bits` the loop
        // kept part of it on the stack): ~30 → ~26 instructions per code length, 9 544 →
        // 9 363 per book-ticker frame (`benches/decode_instructions.sh bingx`).
        let input = b.input;
        let mut pos = b.pos;
        let mut buf = b.buf;
        let mut left = b.left as u8;
        while i < total {
            if left < 14 {
                refill!(input, pos, buf, left);
            }
            let entry = precode[buf as usize & precode_mask];
            buf = buf.wrapping_shr(entry);
            left = left.wrapping_sub(entry as u8);
            let presym = (entry >> 16) as usize & 31;
            if presym < 16 {
                used[n_used & 511] = (i << 4 | presym) as u16;
                n_used += usize::from(presym != 0);
                counts[presym] += 1;
                prev = presym;
                i += 1;
                continue;
            }
            let (rep, extra) = match presym {
                16 => {
                    if i == 0 {
                        return Err(InflateError::Data);
                    }
                    let rep = 3 + (buf & 3) as usize;
                    if i + rep > total {
                        return Err(InflateError::Data);
                    }
                    if prev != 0 {
                        for j in i..i + rep {
                            used[n_used & 511] = (j << 4 | prev) as u16;
                            n_used += 1;
                        }
                        counts[prev] += rep as u16;
                    }
                    (rep, 2)
                }
                17 => {
                    prev = 0;
                    (3 + (buf & 7) as usize, 3)
                }
                _ => {
                    prev = 0;
                    (11 + (buf & 127) as usize, 7)
                }
            };
            buf >>= extra;
            left = left.wrapping_sub(extra);
            i += rep;
        }
        if i != total {
            return Err(InflateError::Data);
        }
        b.pos = pos;
        b.buf = buf;
        b.left = u32::from(left);
        *bits = b;

        // The used list ends with the distance symbols.
        let mut dist_counts: Counts = [0; MAX_CODE_LEN + 1];
        let mut n_lit_used = n_used;
        while n_lit_used > 0 {
            let v = used[(n_lit_used - 1) & 511];
            if usize::from(v >> 4) < nlit {
                break;
            }
            n_lit_used -= 1;
            let l = usize::from(v & 15);
            dist_counts[l] += 1;
            counts[l] -= 1;
        }
        counts[0] = 0;
        let n_used = n_used.min(512);
        let n_lit_used = n_lit_used.min(n_used);
        let dist_used = &self.used[n_lit_used..n_used];
        self.dist_mask = match build_direct(
            &mut self.dist,
            &dist_counts,
            dist_used,
            nlit as u16,
            &DIST_RESULTS,
            DIST_BITS,
        )? {
            Some(mask) => mask,
            None => {
                sort_symbols(&mut self.sorted, &dist_counts, dist_used, nlit as u16);
                build_table(
                    &mut self.dist,
                    &dist_counts,
                    &self.sorted,
                    &DIST_RESULTS,
                    DIST_BITS,
                )?
            }
        };
        let lit_used = &self.used[..n_lit_used];
        self.litlen_mask = match build_direct(
            &mut self.litlen,
            &counts,
            lit_used,
            0,
            &LITLEN_RESULTS,
            LITLEN_BITS,
        )? {
            Some(mask) => mask,
            None => {
                sort_symbols(&mut self.sorted, &counts, lit_used, 0);
                build_table(
                    &mut self.litlen,
                    &counts,
                    &self.sorted,
                    &LITLEN_RESULTS,
                    LITLEN_BITS,
                )?
            }
        };
        Ok(())
    }

    /// Builds the fixed codes' tables (RFC 1951 §3.2.6).
    #[cold]
    fn load_fixed_tables(&mut self) -> Result<(), InflateError> {
        let mut counts: Counts = [0; MAX_CODE_LEN + 1];
        counts[7] = 24;
        counts[8] = 144 + 8;
        counts[9] = 112;
        for (slot, sym) in self
            .sorted
            .iter_mut()
            .zip((256..280).chain(0..144).chain(280..288).chain(144..256))
        {
            *slot = sym;
        }
        self.litlen_mask = build_table(
            &mut self.litlen,
            &counts,
            &self.sorted,
            &LITLEN_RESULTS,
            LITLEN_BITS,
        )?;
        let mut counts: Counts = [0; MAX_CODE_LEN + 1];
        counts[5] = NUM_DIST as u16;
        for (i, s) in self.sorted[..NUM_DIST].iter_mut().enumerate() {
            *s = i as u16;
        }
        self.dist_mask = build_table(
            &mut self.dist,
            &counts,
            &self.sorted,
            &DIST_RESULTS,
            DIST_BITS,
        )?;
        self.fixed_loaded = true;
        Ok(())
    }

    /// Decodes one Huffman block's symbols into `out` from `op`; returns the new `op`.
    ///
    /// NB: the bit reader's state lives in locals here (input, position, buffer, and
    /// the count of available bits as a `u8`, so that consuming an entry is one 8-bit
    /// subtraction and the refill check one compare); with the `Bits` struct LLVM split
    /// the input slice across registers and stack slots and a refill cost ~24
    /// instructions instead of ~21 (`benches/decode_instructions.sh bingx`: per
    /// book-ticker frame 9 824 → 9 544, decode_block ~3 330 → ~3 050).
    #[inline(never)]
    fn decode_block(
        &self,
        bits: &mut Bits<'_>,
        out: &mut [u8],
        mut op: usize,
    ) -> Result<usize, InflateError> {
        let litlen = &self.litlen;
        let dist_table = &self.dist;
        let litlen_mask = self.litlen_mask & (LITLEN_TABLE - 1);
        let dist_mask = self.dist_mask & (DIST_TABLE - 1);
        let input = bits.input;
        let mut pos = bits.pos;
        let mut buf = bits.buf;
        // Bits of `buf` that may be consumed (at most 63).
        let mut left = bits.left as u8;

        macro_rules! consume {
            ($entry:expr) => {
                buf = buf.wrapping_shr($entry);
                left = left.wrapping_sub($entry as u8);
            };
        }
        macro_rules! literal {
            ($entry:expr) => {
                let Some(byte) = out.get_mut(op) else {
                    return Err(InflateError::Space);
                };
                *byte = ($entry >> 16) as u8;
                op += 1;
            };
        }

        loop {
            // Two symbols: a literal from the main table (up to 9 bits), then up to 15
            // codeword bits and 5 extra bits.
            if left < 30 {
                refill!(input, pos, buf, left);
            }
            let mut entry = litlen[buf as usize & litlen_mask];
            if entry & LITERAL != 0 {
                consume!(entry);
                literal!(entry);
                entry = litlen[buf as usize & litlen_mask];
                if entry & LITERAL != 0 {
                    consume!(entry);
                    literal!(entry);
                    continue;
                }
            }
            let mut saved = buf;
            consume!(entry);
            if entry & EXCEPTIONAL != 0 {
                if entry & SUBTABLE == 0 {
                    break;
                }
                // The main table's bits are consumed; index the subtable with the rest.
                let sub = low_bits(buf, (entry >> 8) & 0x3f) as usize;
                entry = litlen[((entry >> 16) as usize + sub) & (LITLEN_TABLE - 1)];
                saved = buf;
                consume!(entry);
                if entry & LITERAL != 0 {
                    literal!(entry);
                    continue;
                }
                if entry & END_OF_BLOCK != 0 {
                    break;
                }
            }
            let length = (entry >> 16) as usize
                + (low_bits(saved, entry & 0xff) >> ((entry >> 8) & 0xf)) as usize;
            if length > out.len() - op {
                return Err(InflateError::Space);
            }

            // Up to 15 codeword bits and 13 extra bits.
            if left < 28 {
                refill!(input, pos, buf, left);
            }
            let mut entry = dist_table[buf as usize & dist_mask];
            if entry & EXCEPTIONAL != 0 {
                consume!(entry);
                let sub = low_bits(buf, (entry >> 8) & 0x3f) as usize;
                entry = dist_table[((entry >> 16) as usize + sub) & (DIST_TABLE - 1)];
            }
            let saved = buf;
            consume!(entry);
            let dist = (entry >> 16) as usize
                + (low_bits(saved, entry & 0xff) >> ((entry >> 8) & 0xf)) as usize;
            if dist > op {
                return Err(InflateError::Data);
            }
            copy_match(out, op, dist, length);
            op += length;
        }
        bits.pos = pos;
        bits.buf = buf;
        bits.left = u32::from(left);
        Ok(op)
    }
}

/// Copies `length` bytes from `dist` back to `op` (`dist <= op`, `op + length <=
/// out.len()`), overlapping as LZ77 means.
#[inline(always)]
fn copy_match(out: &mut [u8], op: usize, dist: usize, length: usize) {
    let end = op + length;
    let mut src = op - dist;
    let mut dst = op;
    if dist >= 8 && end + 8 <= out.len() {
        // Whole words, possibly past `end` (there is room; the bytes past it are
        // rewritten later or lie past the content). Each word is read before it is
        // overwritten, as `dist >= 8`.
        loop {
            let w: [u8; 8] = out[src..src + 8].try_into().unwrap_or([0; 8]);
            out[dst..dst + 8].copy_from_slice(&w);
            dst += 8;
            if dst >= end {
                return;
            }
            src += 8;
        }
    }
    while dst < end {
        out[dst] = out[src];
        src += 1;
        dst += 1;
    }
}

/// Copies a stored block (the block header bits consumed); returns the new `op`.
fn stored_block(
    bits: &mut Bits<'_>,
    end: usize,
    out: &mut [u8],
    op: usize,
) -> Result<usize, InflateError> {
    let pos = bits.end_pos();
    if pos > end {
        return Err(InflateError::Data);
    }
    bits.pos = pos;
    bits.buf = 0;
    bits.left = 0;
    let header = bits.input.get(pos..pos + 4).ok_or(InflateError::Data)?;
    if pos + 4 > end {
        return Err(InflateError::Data);
    }
    let len = usize::from(u16::from_le_bytes([header[0], header[1]]));
    let nlen = u16::from_le_bytes([header[2], header[3]]);
    if len != usize::from(!nlen) {
        return Err(InflateError::Data);
    }
    if len > out.len() - op {
        return Err(InflateError::Space);
    }
    let from = pos + 4;
    if len > end - from {
        return Err(InflateError::Data);
    }
    out[op..op + len].copy_from_slice(&bits.input[from..from + len]);
    bits.pos = from + len;
    Ok(op + len)
}

#[cfg(test)]
mod tests {
    //! Proof of equality: flate2's gzip output at every level (with block boundaries from
    //! sync flushes), the generator's fixed-Huffman frames and stored blocks inflate to
    //! their input; corrupted frames get the same outcome as the libdeflate path this
    //! inflater replaced ([`reference`]).

    use std::io::Write as _;

    use proptest::prelude::*;

    use super::super::gzip::{Inflater, header_len};
    use crate::error::ParseError;

    /// Bound of the inflaters under test (small, so the reference's buffer is cheap).
    const MAX_OUT: usize = 1 << 16;

    /// The replaced path: arb's header parse, `libdeflater`'s `gzip_decompress` into a
    /// buffer grown up to the bound, then the trailer checked against the frame's end.
    fn reference(frame: &[u8], max_out: usize) -> Result<Vec<u8>, ParseError> {
        use libdeflater::{DecompressionError, Decompressor};
        if frame.len() > max_out {
            return Err(ParseError::Oversize);
        }
        header_len(frame)?;
        let at = frame.len().checked_sub(8).ok_or(ParseError::Gzip)?;
        let t = &frame[at..];
        let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let size = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        let mut out = vec![0; max_out];
        let n = match Decompressor::new().gzip_decompress(frame, &mut out) {
            Ok(n) => n,
            Err(DecompressionError::BadData) => return Err(ParseError::Gzip),
            Err(DecompressionError::InsufficientSpace) => return Err(ParseError::Oversize),
        };
        out.truncate(n);
        if size != n as u32 || crc != crc32fast::hash(&out) {
            return Err(ParseError::Gzip);
        }
        Ok(out)
    }

    /// `data` gzipped by flate2 at `level`, with a sync flush (ending the block with an
    /// empty stored one) after `split` bytes.
    fn gz(data: &[u8], level: u32, split: Option<usize>) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        let at = split.map_or(data.len(), |s| s.min(data.len()));
        enc.write_all(&data[..at]).unwrap();
        if split.is_some() {
            enc.flush().unwrap();
        }
        enc.write_all(&data[at..]).unwrap();
        enc.finish().unwrap()
    }

    fn ours(inf: &mut Inflater, frame: &[u8]) -> Result<Vec<u8>, ParseError> {
        inf.inflate(frame).map(<[u8]>::to_vec)
    }

    /// JSON-like text: BingX-shaped pushes with random keys, numbers and symbols.
    fn json_text() -> impl Strategy<Value = Vec<u8>> {
        let field = (
            prop::sample::select(vec!["A", "B", "a", "b", "E", "T", "p", "q", "s", "e", "m"]),
            prop::num::u64::ANY,
            0u32..8,
            prop::sample::select(vec!["BTC-USDT", "ETH-USDT", "bookTicker", "trade", "true"]),
        );
        (prop::collection::vec(field, 0..24), 0u8..3).prop_map(|(fields, shape)| {
            let mut s = String::from("{\"code\":0,\"data\":{");
            for (i, (k, n, scale, word)) in fields.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                match (n % 3, shape) {
                    (0, _) => s.push_str(&format!("\"{k}\":\"{word}\"")),
                    (1, 0) => s.push_str(&format!("\"{k}\":{}", n % 10_000_000_000_000)),
                    _ => {
                        let div = 10u64.pow(*scale);
                        s.push_str(&format!(
                            "\"{k}\":\"{}.{}\"",
                            (n % 1_000_000) / div,
                            n % div
                        ));
                    }
                }
            }
            s.push_str("},\"dataType\":\"BTC-USDT@bookTicker\",\"success\":true}");
            s.into_bytes()
        })
    }

    /// Random bytes, JSON-like text, or runs over a small alphabet (long matches).
    fn content() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..1200),
            json_text(),
            prop::collection::vec(prop::sample::select(b"ab{}\":,0".to_vec()), 0..3000),
        ]
    }

    #[derive(Debug, Clone)]
    enum Corruption {
        /// Flips bit `bit` of the byte at `at` (a fraction of the frame's length).
        Flip { at: f64, bit: u8 },
        /// Sets the byte at `at` to `value`.
        Set { at: f64, value: u8 },
        /// Cuts the frame to a fraction of its length.
        Truncate { keep: f64 },
        /// Appends bytes.
        Append(Vec<u8>),
    }

    fn corruption() -> impl Strategy<Value = Corruption> {
        prop_oneof![
            4 => (0.0..1.0f64, 0u8..8).prop_map(|(at, bit)| Corruption::Flip { at, bit }),
            2 => (0.0..1.0f64, any::<u8>()).prop_map(|(at, value)| Corruption::Set { at, value }),
            1 => (0.0..1.0f64).prop_map(|keep| Corruption::Truncate { keep }),
            1 => prop::collection::vec(any::<u8>(), 1..16).prop_map(Corruption::Append),
        ]
    }

    fn corrupt(frame: &mut Vec<u8>, c: &Corruption) {
        if frame.is_empty() {
            return;
        }
        let index = |f: f64, len: usize| ((f * len as f64) as usize).min(len.saturating_sub(1));
        match c {
            Corruption::Flip { at, bit } => {
                let i = index(*at, frame.len());
                frame[i] ^= 1 << bit;
            }
            Corruption::Set { at, value } => {
                let i = index(*at, frame.len());
                frame[i] = *value;
            }
            Corruption::Truncate { keep } => frame.truncate(index(*keep, frame.len())),
            Corruption::Append(extra) => frame.extend_from_slice(extra),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 3000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Every flate2 level, with and without a block boundary, inflates to the input.
        #[test]
        fn flate2_frames_round_trip(
            data in content(),
            level in 0u32..=9,
            split in prop::option::of(0usize..3000),
        ) {
            let frame = gz(&data, level, split);
            let mut inf = Inflater::new(MAX_OUT);
            prop_assert_eq!(inf.inflate(&frame), Ok(&data[..]));
            // Reused: the same again, after another frame.
            prop_assert_eq!(inf.inflate(&gz(b"{\"ping\":\"1\"}", 6, None)), Ok(&b"{\"ping\":\"1\"}"[..]));
            prop_assert_eq!(inf.inflate(&frame), Ok(&data[..]));
        }

        /// Corrupted frames: the same outcome as libdeflate's path, the same content when
        /// both succeed. Up to three corruptions at once.
        #[test]
        fn corrupted_frames_match_libdeflate(
            data in content(),
            level in 0u32..=9,
            split in prop::option::of(0usize..3000),
            corruptions in prop::collection::vec(corruption(), 1..4),
        ) {
            let mut frame = gz(&data, level, split);
            for c in &corruptions {
                corrupt(&mut frame, c);
            }
            let mut inf = Inflater::new(MAX_OUT);
            prop_assert_eq!(ours(&mut inf, &frame), reference(&frame, MAX_OUT));
        }

        /// Damaged deflate bodies with a trailer recomputed from whatever libdeflate
        /// inflates, so that corruptions that still inflate are compared too.
        #[test]
        fn corrupted_bodies_with_valid_trailers_match_libdeflate(
            data in content(),
            level in 0u32..=9,
            at in 0.0..1.0f64,
            bit in 0u8..8,
        ) {
            let frame = gz(&data, level, None);
            let body_len = frame.len() - 18;
            let mut body = frame[10..frame.len() - 8].to_vec();
            let i = ((at * body_len as f64) as usize).min(body_len.saturating_sub(1));
            if let Some(b) = body.get_mut(i) {
                *b ^= 1 << bit;
            }
            let mut out = vec![0; MAX_OUT];
            // libdeflate's raw inflate ignores what follows the stream; if it stopped
            // early, the junk before the trailer makes both paths refuse the frame.
            let inflated = libdeflater::Decompressor::new()
                .deflate_decompress(&body, &mut out)
                .ok();
            let mut fixed = frame[..10].to_vec();
            fixed.extend_from_slice(&body);
            let (crc, len) = match inflated {
                Some(n) => (crc32fast::hash(&out[..n]), n as u32),
                None => (0, 0),
            };
            fixed.extend_from_slice(&crc.to_le_bytes());
            fixed.extend_from_slice(&len.to_le_bytes());
            let mut inf = Inflater::new(MAX_OUT);
            prop_assert_eq!(ours(&mut inf, &fixed), reference(&fixed, MAX_OUT));
        }
    }

    /// The generator's own gzip (greedy LZ77, fixed Huffman codes) inflates as flate2 does.
    #[test]
    fn generated_bingx_frames_inflate() {
        use crate::capture::RecordKind;
        use crate::r#gen::{GenConfig, Generator};
        let cfg = GenConfig {
            symbols: 20,
            venues: vec![arb_engine::Exchange::Bingx],
            rate_per_s: 2_000,
            duration_s: 1.0,
            ..GenConfig::default()
        };
        let mut g = Generator::new(&cfg).unwrap();
        let mut inf = Inflater::new(MAX_OUT);
        let mut n = 0;
        while let Some(f) = g.next_frame() {
            if f.record.kind != RecordKind::Binary {
                continue;
            }
            let mut want = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(f.record.payload),
                &mut want,
            )
            .unwrap();
            assert_eq!(inf.inflate(f.record.payload), Ok(&want[..]));
            n += 1;
        }
        assert!(n > 1000, "{n} frames");
    }

    /// Large inputs: several stored blocks (level 0) and several dynamic blocks.
    #[test]
    fn multi_block_streams_inflate() {
        let mut x = 1u64;
        let data: Vec<u8> = (0..300_000)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if i % 3000 < 1500 {
                    b"{\"a\":1,}"[(x % 8) as usize]
                } else {
                    x as u8
                }
            })
            .collect();
        let mut inf = Inflater::new(1 << 20);
        for level in [0, 1, 6, 9] {
            let frame = gz(&data, level, Some(100_000));
            assert_eq!(inf.inflate(&frame), Ok(&data[..]), "level {level}");
            assert_eq!(reference(&frame, 1 << 20).as_deref(), Ok(&data[..]));
        }
    }

    /// Junk between the stream's end and the trailer: libdeflate's path took it when the
    /// junk started with a second copy of the trailer; this inflater refuses it.
    #[test]
    fn nothing_but_the_trailer_follows_the_stream() {
        let good = gz(b"{\"a\":1}", 6, None);
        let trailer = &good[good.len() - 8..];
        let mut padded = good.clone();
        padded.extend_from_slice(trailer);
        assert!(reference(&padded, MAX_OUT).is_ok());
        assert_eq!(
            Inflater::new(MAX_OUT).inflate(&padded),
            Err(ParseError::Gzip)
        );
    }
}
