//! Operating-system calls of the engine, confined here: memory advice for the large
//! preallocated tables, and the clock reads behind `engine::clock`.
#![allow(
    unsafe_code,
    reason = "FFI to madvise(2) and clock_gettime(2); neither touches memory we do not pass"
)]

/// Asks the kernel to back `[ptr, ptr + bytes)` with transparent huge pages.
///
/// The history arrays are hundreds of MiB touched at random offsets: with 4 KiB pages every
/// pair update misses the TLB. Must be called before the memory is first touched (pages
/// already faulted in stay small until khugepaged collapses them). Best effort: errors
/// (no THP support, `never` policy) are ignored.
pub(crate) fn advise_huge_pages<T>(start: *const T, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let begin = (start as usize).next_multiple_of(HUGE);
        let end = (start as usize + bytes) & !(HUGE - 1);
        if end > begin {
            // SAFETY: MADV_HUGEPAGE only changes how the kernel backs this range of our own
            // allocation (aligned inside it above); it never unmaps or alters contents.
            unsafe {
                libc::madvise(begin as *mut libc::c_void, end - begin, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, bytes);
}

/// Allocates `n` values made by `make`, advising huge pages before the first touch.
pub(crate) fn huge_vec<T>(n: usize, make: impl FnMut() -> T) -> Box<[T]> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    advise_huge_pages(v.as_ptr(), n * size_of::<T>());
    v.resize_with(n, make);
    v.into_boxed_slice()
}

/// Reads `clock` (`CLOCK_MONOTONIC`, `CLOCK_REALTIME`) as nanoseconds; 0 if it fails.
///
/// NB: `Instant::now().duration_since(anchor)` cost ~90 instructions a read (Timespec
/// normalisation and `Duration` arithmetic); this is the vDSO call and one multiply-add
/// (benches/instructions.sh, engine commit "engine: cheaper clock reads and pair lookups").
#[cfg(unix)]
#[inline]
pub(crate) fn clock_ns(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec on our stack; clock_gettime writes only it.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    // `time_t` and `c_long` are i64 on the 64-bit Unix targets arb runs on.
    #[expect(clippy::useless_conversion, reason = "i64 already on 64-bit targets")]
    let (sec, nsec) = (i64::from(ts.tv_sec), i64::from(ts.tv_nsec));
    sec.saturating_mul(1_000_000_000).saturating_add(nsec)
}
