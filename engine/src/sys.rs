//! Operating-system calls of the engine, confined here: memory advice for the large
//! preallocated tables.
#![allow(
    unsafe_code,
    reason = "FFI to madvise(2); the call does not change memory contents"
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
