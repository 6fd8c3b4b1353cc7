import CGlibcMalloc

/// How the daemon asks glibc's allocator to use memory.
///
/// glibc gives each thread that allocates its own arena (up to 8 per core),
/// and every arena keeps its own high-water mark of freed memory. The
/// gateway's threads (buses, store writer, uplink, the Swift pool) allocate
/// little and seldom at the same moment, so one arena costs no measurable
/// contention and saves about 4 MB on a box whose budget is 16 MB
/// (docs/performance.md). The limit is set by a constructor in
/// `CGlibcMalloc` before `main`, because threads choose their arena at their
/// first allocation; an operator's `MALLOC_ARENA_MAX` still wins.
enum MallocArenas {
    /// Gives the pages freed after start or reload (the parsed configuration,
    /// first-poll buffers) back to the system instead of keeping them as the heap's high-water mark.
    static func releaseFreedPages() {
        _ = glibc_malloc_release_free_pages()
    }
}
